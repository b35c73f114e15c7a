/**
 * A hung apiserver: one that accepts connections and never answers. The operator reaches the
 * shared control plane's real kube-apiserver through a loopback TCP proxy (`HangingTcpProxy`,
 * TLS passed through untouched) that can hold every byte, or make the open connections go dead
 * without a word.
 *
 * - a request into the hang fails at the request timeout, as Unavailable, saying so;
 * - an informer whose watch connection goes silently dead opens it again after its idle bound and
 *   sees what changed meanwhile;
 * - a release running through a hang holds on its step (weights valid, nothing written), and
 *   after the hang goes on to the end without skipping or repeating a step, long before the
 *   5 minutes a request without a timeout would hang (undici's own header timeout).
 */
import * as k8s from '@kubernetes/client-node';
import { destinationWeights } from '../../api/route-weights.js';
import type { CanaryReleaseSpecInput, CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DESTINATION_RULES,
  KubeClient,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import { Informer } from '../../operator/runtime/informers.js';
import { createLogger, type LogEntry } from '../../operator/runtime/log.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { reportFigures } from '../harness/figures.js';
import { HangingTcpProxy } from '../harness/slow-proxy.js';
import {
  canaryRelease,
  must,
  sleep,
  subsetRule,
  transitions,
  userVirtualService,
  waitFor,
} from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let admin: KubeClient;
let proxy: HangingTcpProxy;
/** The admin kubeconfig, its server URL pointed at the proxy. */
let viaProxy: k8s.KubeConfig;
const running: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  const kc = cluster.kubeConfig();
  admin = new KubeClient(kc);
  ns = await testNamespace('req-timeout');
  proxy = await HangingTcpProxy.start(kc.getCurrentCluster()!.server);
  viaProxy = cluster.kubeConfig();
  const c = viaProxy.getCurrentCluster()!;
  viaProxy.clusters = viaProxy.clusters.map((x) =>
    x.name === c.name ? { ...x, server: `https://${proxy.address}` } : x,
  );
});

afterEach(async () => {
  proxy.resume();
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await proxy?.stop();
  await ns?.dispose();
});

describe('a hung apiserver', () => {
  test('a request into the hang is abandoned at the request timeout and reported as Unavailable', async () => {
    const client = new KubeClient(viaProxy, { requestTimeoutMs: 1500 });
    // answered through the proxy while it forwards
    must(await client.list(DESTINATION_RULES, ns.name));
    proxy.hang();
    const t0 = Date.now();
    const got = await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: 'nothing' });
    const elapsed = Date.now() - t0;
    expect(got).toStrictEqual({
      ok: false,
      error: {
        kind: 'Unavailable',
        status: 0,
        message: `get virtualservices ${ns.name}/nothing: no answer from the apiserver within the request timeout (1500ms); the request was abandoned and will be retried`,
      },
    });
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(60_000);
    // it reached the hung apiserver (the proxy) and was held there
    expect(proxy.stats.heldBytes + proxy.stats.heldConnections).toBeGreaterThan(0);
    proxy.resume();
    // the same client works again once the apiserver answers
    const after = await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: 'nothing' });
    expect(after.ok ? 'found' : after.error.kind).toBe('NotFound');
  }, 90_000);

  test('a watch whose connection goes silently dead is opened again after its idle bound and catches up', async () => {
    const informer = new Informer({
      kubeConfig: viaProxy,
      type: DESTINATION_RULES,
      namespace: ns.name,
      requestTimeoutMs: 1500,
      watchIdleMs: 2000,
    });
    running.push(informer);
    await informer.start();
    expect(informer.synced).toBe(true);
    must(await admin.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, 'first', ['v1'])));
    await waitFor('the live watch to deliver "first"', () => informer.get(ns.name, 'first'), 20_000);
    const connectsBefore = informer.connects;

    proxy.silenceOpen(); // the watch's connection stays open and carries nothing more
    must(await admin.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, 'second', ['v1'])));
    const seen = await waitFor(
      'the informer to open its watch again and see "second"',
      () => informer.get(ns.name, 'second'),
      20_000,
    );
    expect(seen.metadata.name).toBe('second');
    expect(informer.idleTimeouts).toBeGreaterThanOrEqual(1);
    expect(informer.connects).toBeGreaterThan(connectsBefore);
    expect(proxy.stats.droppedBytes).toBeGreaterThan(0);
  }, 90_000);

  test('a release holds through a hang, then goes on to the end with every step once', async () => {
    const host = 'reviews';
    must(await admin.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, host, ['v1', 'v2'])));
    must(await admin.create(VIRTUAL_SERVICES, ns.name, userVirtualService(ns.name, host, 'v1')));
    const logs: LogEntry[] = [];
    const op: OperatorHandle = await startOperator({
      kubeConfig: viaProxy,
      requestTimeoutMs: 1500,
      watchIdleMs: 3000,
      prometheusUrl: cluster.prometheusUrl,
      prometheusTimeoutMs: 3000,
      namespace: ns.name,
      identity: 'request-timeout-operator',
      leaderElection: false,
      logger: createLogger({ level: 'debug', sink: (e) => logs.push(e) }),
    });
    running.push(op);
    const spec: CanaryReleaseSpecInput = {
      service: host,
      stable: { subset: 'v1' },
      canary: { subset: 'v2' },
      virtualService: { name: host, route: 'primary' },
      steps: [
        { setWeight: 10 },
        { pause: { duration: '2s' } },
        { setWeight: 30 },
        { pause: { duration: '2s' } },
        { setWeight: 60 },
        { pause: { duration: '2s' } },
      ],
      analysis: { interval: '1s', threshold: 2, metrics: [{ name: 'up', query: 'vector(1)', min: 0 }] },
    };
    must(await admin.create(CANARY_RELEASES, ns.name, canaryRelease(ns.name, 'reviews-v2', spec)));
    const status = async () =>
      must(await admin.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: 'reviews-v2' }))
        .status as CanaryReleaseStatus | undefined;
    const canaryWeight = async () => {
      const vs = must(await admin.get<KubeObject>(VIRTUAL_SERVICES, { namespace: ns.name, name: host }));
      const route = (
        vs.spec as { http: { name: string; route: { destination: { subset: string }; weight?: number }[] }[] }
      ).http.find((r) => r.name === 'primary')!;
      const w = destinationWeights(route.route);
      return {
        rv: vs.metadata.resourceVersion,
        weights: w,
        bySubset: Object.fromEntries(route.route.map((d, i) => [d.destination.subset, w[i]])),
      };
    };

    await waitFor(
      'the release to reach step 2',
      async () => ((await status())?.currentStep ?? 0) >= 2 || undefined,
      60_000,
    );
    proxy.hang();
    const held = await status();
    const heldVs = await canaryWeight();
    expect(heldVs.weights.reduce((a, b) => a + b, 0)).toBe(100);
    // the operator keeps trying through the hang: every request it makes is held, then abandoned
    const hangMs = 8000;
    for (let i = 0; i < hangMs / 500; i++) {
      await sleep(500);
      const vs = await canaryWeight();
      expect(vs.rv).toBe(heldVs.rv); // nothing is written while the apiserver does not answer
    }
    expect((await status())?.currentStep).toBe(held?.currentStep);
    const timedOut = () =>
      logs.filter((e) => JSON.stringify(e).includes('within the request timeout (1500ms)')).length;
    expect(timedOut()).toBeGreaterThan(0);

    // the apiserver answers again on new connections; the ones it held stay dead, as after a
    // network partition, so only a client that gave up on them can go on
    const resumedAt = Date.now();
    proxy.silenceOpen();
    proxy.resume();
    const end = await waitFor(
      'the release to be promoted after the hang',
      async () => {
        const s = await status();
        return s?.phase === 'Succeeded' ? s : undefined;
      },
      90_000,
      250,
    );
    // far inside the 300 s a request without a timeout would have hung
    const promotedAt = Date.now();
    expect(promotedAt - resumedAt).toBeLessThan(90_000);
    const last = await canaryWeight();
    expect(last.weights.reduce((a, b) => a + b, 0)).toBe(100);
    expect(last.bySubset.v2).toBe(100);
    // every step recorded once, in order
    expect(transitions(end.history).map((h) => [h.reason, h.step])).toStrictEqual([
      ['Started', 0],
      ...Array.from({ length: spec.steps!.length - 1 }, (_, i) => ['StepAdvanced', i + 1]),
      ['Promoted', spec.steps!.length],
    ]);
    expect(logs.filter((e) => e.level === 'error')).toStrictEqual([]);
    reportFigures({
      fault: 'kube-apiserver hung (TLS completes, no request answered)',
      count: `1 release held ${hangMs} ms at step ${held?.currentStep}, request timeout 1.5 s`,
      outcome: `${timedOut()} requests abandoned at the timeout, nothing written during the hang; ${end.phase} ${((promotedAt - resumedAt) / 1000).toFixed(1)} s after, each step once`,
    });
  }, 180_000);
});
