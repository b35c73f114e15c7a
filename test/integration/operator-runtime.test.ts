/**
 * The operator runtime end to end on the real parts: kube-apiserver (with kwok running the
 * Deployments), the real Prometheus, and the traffic simulator (a test stand-in for Envoy) that
 * routes by the live VirtualService and reports Istio's standard metrics.
 *
 * - smoke: a healthy canary goes through a short plan to Succeeded, driven by the operator alone,
 *   notifying a webhook receiver on loopback (retried after a 503; given up on a port that refuses);
 * - bad input: a spec zod refuses (the CRD cannot) gets Valid=False and an Event, and its
 *   VirtualService is not touched;
 * - restart: an operator stopped at a manual gate is replaced by a new one, which continues on the
 *   same step (no restart of the release, weights unchanged) and finishes after `resume`;
 * - a release deleted mid-rollout is let go, the VirtualService left as it was;
 * - a fault test without a header route faults the whole route, with a FaultOnWholeRoute Warning.
 */
import * as k8s from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CanaryReleaseStatus, Step } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  DESTINATION_RULES,
  KubeClient,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
} from '../../operator/adapters/kubernetes.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { createLogger, type LogEntry } from '../../operator/runtime/log.js';
import { addScrapeTarget, cluster, testNamespace } from '../harness/cluster.js';
import { TrafficSimulator, type LoadHandle } from '../harness/traffic/index.js';
import {
  canaryRelease,
  deployment,
  eventsRegarding,
  must,
  SOLE_LEASE,
  sleep,
  subsetRule,
  transitions,
  userVirtualService,
  waitFor,
} from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;
let client: KubeClient;
let sim: TrafficSimulator;
let removeTarget: () => void = () => undefined;
const loads: LoadHandle[] = [];
/** Loopback servers a test started, closed after it whatever its outcome. */
const servers: Server[] = [];
const running: OperatorHandle[] = [];
const logs: LogEntry[] = [];

function start(identity: string): Promise<OperatorHandle> {
  return startOperator({
    kubeConfig: kc,
    prometheusUrl: cluster.prometheusUrl,
    prometheusTimeoutMs: 3000,
    namespace: ns.name,
    identity,
    leaderElection: {
      namespace: ns.name,
      name: 'canary-operator',
      ...SOLE_LEASE,
    },
    listen: '127.0.0.1:0',
    webhookBackoffMs: 100,
    logger: createLogger({ level: 'debug', sink: (e) => logs.push(e) }),
  }).then((h) => {
    running.push(h);
    return h;
  });
}

/** A webhook receiver on loopback: records every POST; `/flaky` answers 503 (Retry-After: 1) to its first one. */
async function webhookReceiver(): Promise<{
  url: string;
  received: { path: string; status: number; at: number; body: Record<string, unknown> }[];
}> {
  const received: { path: string; status: number; at: number; body: Record<string, unknown> }[] = [];
  let flakyCalls = 0;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const status = req.url === '/flaky' && flakyCalls++ === 0 ? 503 : 200;
      received.push({
        path: req.url ?? '',
        status,
        at: Date.now(),
        body: JSON.parse(text) as Record<string, unknown>,
      });
      res.writeHead(status, status === 503 ? { 'retry-after': '1' } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received };
}

/**
 * A loopback port that refuses every request: it drops each connection as it comes. It stays bound
 * until the test ends, so a server another test file starts meanwhile cannot take the port over
 * and answer (a port bound, then released, could be handed out again).
 */
async function refusingPort(): Promise<number> {
  const s = createServer();
  s.on('connection', (socket) => socket.destroy());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  return (s.address() as AddressInfo).port;
}

/**
 * A new service with subsets v1/v2 and a VirtualService (route `primary` to v1), an operator, and
 * a release `<host>-v2` of it with `steps` (no metrics: its checks hold on missing data).
 */
async function releaseOnNewService(host: string, operator: string, steps: Step[]): Promise<void> {
  must(await client.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, host, ['v1', 'v2'])));
  must(await client.create(VIRTUAL_SERVICES, ns.name, userVirtualService(ns.name, host, 'v1')));
  await start(operator);
  must(
    await client.create(
      CANARY_RELEASES,
      ns.name,
      canaryRelease(ns.name, `${host}-v2`, {
        service: host,
        stable: { subset: 'v1' },
        canary: { subset: 'v2' },
        virtualService: { name: host, route: 'primary' },
        steps,
        analysis: { interval: '1m', missingData: { policy: 'Hold' } },
      }),
    ),
  );
}

const status = async (name: string) =>
  must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name })).status as
    CanaryReleaseStatus | undefined;
const managedRoute = async (vs: string) =>
  (
    must(await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: vs })).spec as {
      http: { name: string; route: { destination: { subset: string }; weight?: number }[] }[];
    }
  ).http
    .find((r) => r.name === 'primary')!
    .route.map((d) => `${d.destination.subset}=${d.weight ?? 100}`);
const eventsOf = (name: string, expected: readonly string[] = []) =>
  eventsRegarding(client, ns.name, name, expected);

beforeAll(async () => {
  kc = cluster.kubeConfig();
  client = new KubeClient(kc);
  ns = await testNamespace('op-runtime');
  for (const [host, versions] of [
    ['reviews', ['v1', 'v3']],
    ['ratings', ['v1', 'v2']],
    ['details', ['v1', 'v2']],
  ] as const) {
    must(await client.create(DESTINATION_RULES, ns.name, subsetRule(ns.name, host, versions)));
    must(await client.create(VIRTUAL_SERVICES, ns.name, userVirtualService(ns.name, host, 'v1')));
    for (const v of versions)
      must(
        await client.create(
          DEPLOYMENTS,
          ns.name,
          deployment(ns.name, `${host}-${v}`, { app: host, version: v }),
        ),
      );
  }
  sim = await TrafficSimulator.start({
    kubeConfig: kc,
    namespace: ns.name,
    seed: 8,
    refreshMs: 200,
    services: [
      {
        name: 'reviews',
        versions: [
          { version: 'v1', latencyMs: 5 },
          { version: 'v3', latencyMs: 8 },
        ],
      },
      { name: 'ratings', versions: [{ version: 'v1' }, { version: 'v2' }] },
    ],
  });
  removeTarget = addScrapeTarget(`op-runtime-${ns.name}`, sim.metricsAddress, { sim: ns.name });
  loads.push(sim.startLoad({ host: 'reviews', rps: 60, durationMs: 100_000, concurrency: 32 }));
});

afterAll(async () => {
  await Promise.all(running.map((h) => h.stop()));
  await Promise.all(loads.map((l) => l.stop()));
  removeTarget();
  await sim?.stop();
  await ns?.dispose();
});

afterEach(async () => {
  // an operator left running by a failed test would hold the Lease and act in the next one
  await Promise.all(running.splice(0).map((h) => h.stop()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  const state = expect.getState();
  if (state.assertionCalls !== state.numPassingAsserts) {
    console.log(
      logs
        .slice(-40)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
  }
});

describe('the operator runtime on the real parts', () => {
  test('smoke: a healthy canary goes through setWeight 20, setWeight 50 to Succeeded, with Events, webhooks and its own metrics', async () => {
    const hooks = await webhookReceiver();
    const closedPort = await refusingPort();
    const op = await start('smoke-operator');
    await waitFor('the operator to lead', () => (op.isLeader() ? true : undefined), 10_000, 50);
    // ready once every informer has listed (a CRD that has just been installed may answer 429 first)
    await waitFor('the operator to be ready', () => (op.isReady() ? true : undefined), 10_000, 50);
    for (const path of ['/healthz', '/readyz']) {
      expect((await fetch(`http://${op.address}${path}`)).status).toBe(200);
    }

    const t0 = Date.now();
    must(
      await client.create(
        CANARY_RELEASES,
        ns.name,
        canaryRelease(ns.name, 'reviews-v3', {
          service: 'reviews',
          stable: { subset: 'v1', deployment: 'reviews-v1' },
          canary: { subset: 'v3', deployment: 'reviews-v3', revision: '1.17.0' },
          virtualService: { name: 'reviews', route: 'primary' },
          steps: [{ setWeight: 20 }, { setWeight: 50 }],
          webhooks: [
            { name: 'chat', url: `${hooks.url}/chat` },
            { name: 'flaky', url: `${hooks.url}/flaky`, events: ['Started'] },
            { name: 'down', url: `http://127.0.0.1:${closedPort}/hook`, events: ['Promoted'] },
          ],
          analysis: {
            interval: '4s',
            threshold: 2,
            successRate: { min: 95 },
            latencyP99: { max: '500ms' },
            missingData: { policy: 'Hold' },
          },
        }),
      ),
    );
    const seen: string[] = [];
    const final = await waitFor(
      'the release to succeed',
      async () => {
        const s = await status('reviews-v3');
        const w = (await managedRoute('reviews')).join(',');
        const line = `${s?.phase}/${s?.currentStep} ${w}`;
        if (seen[seen.length - 1] !== line) seen.push(line);
        return s?.phase === 'Succeeded' || s?.phase === 'RolledBack' ? s : undefined;
      },
      90_000,
      100,
    );
    const elapsed = Date.now() - t0;
    console.log(`smoke release: ${seen.join(' → ')} in ${elapsed} ms`);
    expect(final.phase).toBe('Succeeded');
    expect(await managedRoute('reviews')).toStrictEqual(['v1=0', 'v3=100']);
    expect(seen).toContain('Progressing/0 v1=80,v3=20');
    expect(seen).toContain('Progressing/1 v1=50,v3=50');
    expect(transitions(final.history).map((h) => [h.reason, h.step, h.canaryWeight])).toStrictEqual([
      ['Started', 0, 20],
      ['StepAdvanced', 1, 50],
      ['Promoted', 2, 100],
    ]);
    expect(final.lastMeasurements?.map((m) => [m.name, m.result])).toStrictEqual([
      ['request-success-rate', 'Pass'],
      ['request-duration-p99', 'Pass'],
    ]);
    const reasons = (await eventsOf('reviews-v3', ['Started', 'Promoted'])).map((e) => e.reason);
    // its steps run by themselves: each is in the status history, not an Event
    expect(reasons).toEqual(expect.arrayContaining(['Started', 'Promoted']));
    expect(reasons).not.toContain('StepAdvanced');
    // the canary really got the traffic: the simulator's v3 backend answered
    expect(sim.backend('reviews', 'v3').received).toBeGreaterThan(100);

    // webhooks: every event to chat, in order, with the release's fields; flaky's first POST got a
    // 503 and was retried; the refusing port was tried 3 times, then given up, and said so
    await waitFor('the webhook notifications', () =>
      hooks.received.filter((r) => r.path === '/chat').length >= 3 &&
      logs.some((e) => e.msg === 'webhook could not be reached; giving up')
        ? true
        : undefined,
    );
    expect(
      hooks.received.filter((r) => r.path === '/chat').map((r) => [r.body.event, r.body.step]),
    ).toStrictEqual([
      ['Started', 0],
      ['StepAdvanced', 1],
      ['Promoted', 2],
    ]);
    expect(hooks.received.find((r) => r.path === '/chat')?.body).toMatchObject({
      release: 'reviews-v3',
      namespace: ns.name,
      webhook: 'chat',
      canaryWeight: 20,
      message: expect.stringContaining('setWeight 20'),
    });
    expect(
      hooks.received.filter((r) => r.path === '/flaky').map((r) => [r.status, r.body.event]),
    ).toStrictEqual([
      [503, 'Started'],
      [200, 'Started'],
    ]);
    // the 503 asked to retry after 1 s, longer than the backoff (100 ms here): the retry waited
    const [first, second] = hooks.received.filter((r) => r.path === '/flaky');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    expect(logs.find((e) => e.msg === 'webhook delivered after a retry')).toMatchObject({
      webhook: 'flaky',
      attempts: 2,
    });
    expect(logs.find((e) => e.msg === 'webhook could not be reached; giving up')).toMatchObject({
      webhook: 'down',
      event: 'Promoted',
      attempts: 3,
    });

    const text = await (await fetch(`http://${op.address}/metrics`)).text();
    expect(text).toMatch(/canary_operator_webhook_notifications_total\{result="ok"\} 4/);
    expect(text).toMatch(/canary_operator_webhook_notifications_total\{result="error"\} 1/);
    expect(text).toMatch(/canary_operator_releases_finished_total\{outcome="Promoted"\} 1/);
    expect(text).toMatch(/canary_operator_leader 1/);
    const count = Number(
      /canary_operator_reconcile_duration_seconds_count\{result="ok"\} (\d+)/.exec(text)?.[1],
    );
    const sum = Number(
      /canary_operator_reconcile_duration_seconds_sum\{result="ok"\} ([\d.e-]+)/.exec(text)?.[1],
    );
    const queried = Number(/canary_operator_analysis_queries_total (\d+)/.exec(text)?.[1]);
    console.log(
      `reconciles: ${count}, mean ${((sum / count) * 1000).toFixed(1)} ms; ${queried} of them queried Prometheus`,
    );
    expect(count).toBeGreaterThan(3);
    // Prometheus is queried only when a check is due: at least the two checks that advanced the
    // release, and not on the reconciles its own writes woke between checks
    expect(queried).toBeGreaterThanOrEqual(2);
    expect(queried).toBeLessThan(count);
    expect(sum).toBeGreaterThan(0);
    // two checks of 4 s each, plus scrape delays: well under a minute
    expect(elapsed).toBeLessThan(60_000);
    await op.stop();
  });

  test('bad input: a spec zod refuses gets Valid=False and an InvalidSpec Event; the VirtualService is untouched', async () => {
    const op = await start('invalid-operator');
    const vsBefore = must(await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: 'details' }));
    must(
      await client.create(
        CANARY_RELEASES,
        ns.name,
        canaryRelease(ns.name, 'details-broken', {
          service: 'details',
          stable: { subset: 'v1' },
          canary: { subset: 'v2' },
          virtualService: { name: 'details', route: 'primary' },
          // the CRD cannot check map keys; zod refuses an empty header name
          steps: [{ headerRoute: { name: 'ab', headers: { '': { exact: 'x' } } } }, { setWeight: 50 }],
        }),
      ),
    );
    const s = await waitFor('the Invalid phase', async () => {
      const st = await status('details-broken');
      return st?.phase === 'Invalid' ? st : undefined;
    });
    const valid = s.conditions?.find((c) => c.type === 'Valid');
    expect(valid).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(valid?.message).toContain('.spec.steps[0].headerRoute.headers');
    await waitFor('the InvalidSpec Event', async () =>
      (await eventsOf('details-broken')).some((e) => e.reason === 'InvalidSpec') ? true : undefined,
    );
    await sleep(1000); // time for any (wrong) write to land
    const vsAfter = must(await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: 'details' }));
    expect(vsAfter.metadata.resourceVersion).toBe(vsBefore.metadata.resourceVersion);
    expect((await eventsOf('details-broken')).filter((e) => e.reason === 'InvalidSpec')).toHaveLength(1);
    await op.stop();
  });

  test('restart: a new operator continues a release on the same step, and finishes it after resume', async () => {
    const a = await start('operator-a');
    loads.push(sim.startLoad({ host: 'ratings', rps: 20, durationMs: 60_000, concurrency: 8 }));
    must(
      await client.create(
        CANARY_RELEASES,
        ns.name,
        canaryRelease(ns.name, 'ratings-v2', {
          service: 'ratings',
          stable: { subset: 'v1' },
          canary: { subset: 'v2', deployment: 'ratings-v2' },
          virtualService: { name: 'ratings', route: 'primary' },
          steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 60 }],
          analysis: { interval: '1s', threshold: 3, missingData: { policy: 'Hold' } },
        }),
      ),
    );
    const gate = await waitFor('the manual gate at step 1', async () => {
      const st = await status('ratings-v2');
      return st?.phase === 'Paused' && st.currentStep === 1 ? st : undefined;
    });
    expect(await managedRoute('ratings')).toStrictEqual(['v1=90', 'v2=10']);
    await a.stop();
    expect(a.isLeader()).toBe(false);

    const b = await start('operator-b');
    await waitFor('operator-b to lead', () => (b.isLeader() ? true : undefined), 10_000, 50);
    await waitFor('operator-b to have reconciled ratings-v2', () =>
      b.reports.has(`${ns.name}/ratings-v2`) ? true : undefined,
    );
    await sleep(2500); // a few more checks' worth of time at the gate
    const after = await status('ratings-v2');
    expect(after?.phase).toBe('Paused');
    expect(after?.currentStep).toBe(1);
    expect(after?.history).toStrictEqual(gate.history); // the release did not start over
    expect(await managedRoute('ratings')).toStrictEqual(['v1=90', 'v2=10']);

    const cr = must(
      await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: 'ratings-v2' }),
    );
    must(
      await client.mergePatch(
        CANARY_RELEASES,
        { namespace: ns.name, name: 'ratings-v2' },
        {
          metadata: { annotations: { 'delivery.cdk8s-mesh.io/resume': `${cr.metadata.generation}/1` } },
        },
      ),
    );
    const done = await waitFor(
      'the release to succeed after resume',
      async () => {
        const st = await status('ratings-v2');
        return st?.phase === 'Succeeded' ? st : undefined;
      },
      30_000,
    );
    expect(transitions(done.history).map((h) => [h.reason, h.step])).toStrictEqual([
      ['Started', 0],
      ['StepAdvanced', 1],
      ['StepAdvanced', 2],
      ['Promoted', 3],
    ]);
    expect(await managedRoute('ratings')).toStrictEqual(['v1=0', 'v2=100']);
    await b.stop();
  });

  test('a release deleted mid-rollout is let go: the VirtualService stays as it was, nothing fails', async () => {
    await releaseOnNewService('reviews2', 'delete-operator', [{ setWeight: 30 }, { pause: {} }]);
    await waitFor('step 0 at 30 %', async () =>
      (await status('reviews2-v2'))?.phase === 'Progressing' ? true : undefined,
    );
    expect(await managedRoute('reviews2')).toStrictEqual(['v1=70', 'v2=30']);
    const before = must(await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: 'reviews2' }));
    const since = logs.length;
    await kc.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({
      ...CANARY_RELEASES,
      namespace: ns.name,
      name: 'reviews2-v2',
    });
    await waitFor('the release to be gone', async () =>
      (await client.get(CANARY_RELEASES, { namespace: ns.name, name: 'reviews2-v2' })).ok ? undefined : true,
    );
    await sleep(1500); // time for any (wrong) write or retry to happen
    const after = must(await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: 'reviews2' }));
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(logs.slice(since).filter((e) => e.level === 'warn' || e.level === 'error')).toStrictEqual([]);
  });

  test('a fault test without a header route faults the whole route and says so in a Warning Event', async () => {
    await releaseOnNewService('productpage', 'fault-operator', [
      { faultTest: { abort: { httpStatus: 503, percentage: 10 }, duration: '5m', successRate: { min: 80 } } },
      { setWeight: 50 },
    ]);
    const event = await waitFor('the FaultOnWholeRoute Event', async () =>
      (await eventsOf('productpage-v2')).find((e) => e.reason === 'FaultOnWholeRoute'),
    );
    expect(event).toMatchObject({ type: 'Warning' });
    expect((event as { note?: string }).note).toContain(
      "the fault of this step is on route primary as a whole, stable's share included",
    );
    const primary = (
      must(await client.get(VIRTUAL_SERVICES, { namespace: ns.name, name: 'productpage' })).spec as {
        http: { name: string; fault?: unknown }[];
      }
    ).http.find((r) => r.name === 'primary');
    expect(primary?.fault).toStrictEqual({ abort: { httpStatus: 503, percentage: { value: 10 } } });
    // the weights already send everything to stable (one destination): left as the user wrote them
    expect(await managedRoute('productpage')).toStrictEqual(['v1=100']);
  });
});
