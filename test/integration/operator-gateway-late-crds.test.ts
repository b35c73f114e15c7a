/**
 * The Gateway API CRDs installed after the operator started. This file starts its own etcd and
 * kube-apiserver (the shared control plane has the CRDs from the start, and other files use it),
 * with the CanaryRelease and Istio CRDs only. The operator starts, logs that it does not watch
 * HTTPRoutes yet, and asks discovery again (every 300 ms here, every minute by default). Once the
 * CRDs are installed it must watch HTTPRoutes without a restart: a release that owns its HTTPRoute
 * gets it created with its first step's weights, and a foreign edit of the driven rule is written
 * back at once. The release's next check is an hour away and the resync is too, so only the new
 * watch can bring that reconcile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../../api/v1alpha1/index.js';
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  HTTP_ROUTES,
  KubeClient,
  type CanaryReleaseObject,
} from '../../operator/adapters/kubernetes.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { createLogger, type LogEntry } from '../../operator/runtime/log.js';
import { cluster } from '../harness/cluster.js';
import { installCrds, startApiCore, type ApiCore } from '../harness/control-plane.js';
import { canaryRelease, must, waitFor } from './operator-fixtures.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const NS = 'late-crds';

let workDir: string;
let core: ApiCore;
let client: KubeClient;
let operator: OperatorHandle | undefined;
const logs: LogEntry[] = [];

const template = {
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
    rules: [
      {
        name: 'primary',
        backendRefs: [
          { name: 'reviews-v1', port: 9080, weight: 100 },
          { name: 'reviews-v2', port: 9080, weight: 0 },
        ],
      },
    ],
  },
};

/** The driven rule's weights as `<service>=<weight>`, or undefined while there is no route. */
async function weights(): Promise<string | undefined> {
  const res = await client.get(HTTP_ROUTES, { namespace: NS, name: 'reviews' });
  if (!res.ok) return undefined;
  const rules = (
    res.value.spec as { rules: { name: string; backendRefs: { name: string; weight?: number }[] }[] }
  ).rules;
  return rules
    .find((r) => r.name === 'primary')!
    .backendRefs.map((b) => `${b.name}=${b.weight ?? 1}`)
    .join(' ');
}

const logged = (text: string) => logs.some((e) => e.msg.includes(text));

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'it-late-crds-'));
  core = await startApiCore({ bin: cluster.bin, workDir });
  const wanted = new Set([
    'virtualservices.networking.istio.io',
    'destinationrules.networking.istio.io',
    `${PLURAL}.${GROUP}`,
  ]);
  await installCrds(
    core.api,
    [join(cluster.bin, 'istio-crds.yaml'), join(repo, 'api/v1alpha1/crd.yaml')],
    (name) => wanted.has(name),
  );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(core.kubeconfig);
  client = new KubeClient(kc);
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  operator = await startOperator({
    kubeConfig: kc,
    prometheusUrl: cluster.prometheusUrl,
    prometheusTimeoutMs: 3000,
    namespace: NS,
    identity: 'late-crds',
    leaderElection: false,
    discoveryIntervalMs: 300,
    resyncMs: 3_600_000,
    logger: createLogger({ level: 'debug', sink: (e) => logs.push(e) }),
  });
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await core?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

afterEach(() => {
  const state = expect.getState();
  if (state.assertionCalls !== state.numPassingAsserts)
    console.log(
      logs
        .slice(-40)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
});

test('HTTPRoutes are watched once their CRDs are installed, without a restart', async () => {
  expect(logged('not watching httproutes yet: the apiserver does not serve them')).toBe(true);
  expect(logged('not watching grpcroutes yet: the apiserver does not serve them')).toBe(true);
  // Still not served: asked again, not watched.
  await new Promise((r) => setTimeout(r, 1000));
  expect(logged('watching httproutes: the apiserver serves them now')).toBe(false);

  await installCrds(core.api, [join(cluster.bin, 'gateway-api-crds.yaml')]);
  await waitFor(
    'the operator to watch HTTPRoutes and GRPCRoutes',
    () =>
      logged('watching httproutes: the apiserver serves them now') &&
      logged('watching grpcroutes: the apiserver serves them now')
        ? true
        : undefined,
    30_000,
    100,
  );
  expect(operator!.isReady()).toBe(true);

  must(
    await client.create(
      CANARY_RELEASES,
      NS,
      canaryRelease(NS, 'reviews-v2', {
        service: 'reviews',
        stable: { subset: 'v1' },
        canary: { subset: 'v2' },
        httpRoute: { name: 'reviews', rule: 'primary', template },
        steps: [{ setWeight: 30 }, { pause: {} }],
        // the next check is an hour away: only a watch event brings a reconcile before it
        analysis: { interval: '1h', missingData: { policy: 'Hold' } },
        driftPolicy: 'Reapply',
      }),
    ),
  );
  await waitFor(
    'the operator to create the HTTPRoute and set step 1',
    async () => ((await weights()) === 'reviews-v1=70 reviews-v2=30' ? true : undefined),
    60_000,
    200,
  );
  await waitFor('the status to say step 0', async () => {
    const st = must(
      await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: NS, name: 'reviews-v2' }),
    ).status as CanaryReleaseStatus | undefined;
    return st?.currentStep === 0 && st.phase === 'Progressing' ? true : undefined;
  });

  const route = must(await client.get(HTTP_ROUTES, { namespace: NS, name: 'reviews' }));
  must(
    await client.jsonPatch(HTTP_ROUTES, { namespace: NS, name: 'reviews' }, [
      { op: 'test', path: '/metadata/resourceVersion', value: route.metadata.resourceVersion },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 50 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 50 },
    ]),
  );
  const edited = Date.now();
  await waitFor(
    'the operator to write its weights back',
    async () => ((await weights()) === 'reviews-v1=70 reviews-v2=30' ? true : undefined),
    30_000,
    200,
  );
  console.log(`foreign edit undone after ${Date.now() - edited} ms (the next check and the resync 1 h away)`);
}, 120_000);
