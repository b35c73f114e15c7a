/**
 * The operator watches the HTTPRoutes and GRPCRoutes its releases drive, on the real apiserver with
 * the Gateway API CRDs: a release that owns its HTTPRoute (a template) gets it created, and a
 * foreign edit of the driven rule's weights, or the route's deletion, is acted on at once (the
 * release's next check is an hour away, so only the watch can bring the reconcile that undoes it),
 * under `driftPolicy: Reapply` as for a VirtualService.
 */
import * as k8s from '@kubernetes/client-node';
import {
  CANARY_RELEASES,
  HTTP_ROUTES,
  KubeClient,
  type CanaryReleaseObject,
} from '../../operator/adapters/kubernetes.js';
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { createLogger, type LogEntry } from '../../operator/runtime/log.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { canaryRelease, must, waitFor } from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;
let client: KubeClient;
let operator: OperatorHandle | undefined;
const logs: LogEntry[] = [];

const template = {
  metadata: { labels: { app: 'reviews' } },
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

/** The driven rule's weights as `<service>=<weight>`. */
async function weights(): Promise<string[] | undefined> {
  const res = await client.get(HTTP_ROUTES, { namespace: ns.name, name: 'reviews' });
  if (!res.ok) return undefined;
  const rules = (
    res.value.spec as { rules: { name: string; backendRefs: { name: string; weight?: number }[] }[] }
  ).rules;
  return rules.find((r) => r.name === 'primary')!.backendRefs.map((b) => `${b.name}=${b.weight ?? 1}`);
}

const status = async () =>
  must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name: 'reviews-v2' }))
    .status as CanaryReleaseStatus | undefined;

beforeAll(async () => {
  kc = cluster.kubeConfig();
  client = new KubeClient(kc);
  ns = await testNamespace('op-gwwatch');
  operator = await startOperator({
    kubeConfig: kc,
    prometheusUrl: cluster.prometheusUrl,
    prometheusTimeoutMs: 3000,
    namespace: ns.name,
    identity: 'gw-watch',
    leaderElection: {
      namespace: ns.name,
      name: 'canary-operator',
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 250,
    },
    listen: '127.0.0.1:0',
    logger: createLogger({ level: 'debug', sink: (e) => logs.push(e) }),
  });
});

afterAll(async () => {
  await operator?.stop();
  await ns?.dispose();
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

test('a foreign edit of the driven rule, and the deletion of the owned route, are undone at once, not at the next check', async () => {
  must(
    await client.create(
      CANARY_RELEASES,
      ns.name,
      canaryRelease(ns.name, 'reviews-v2', {
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
  // created from the template, then the first step's weights
  await waitFor(
    'the operator to create the HTTPRoute and set step 1',
    async () => ((await weights())?.join(' ') === 'reviews-v1=70 reviews-v2=30' ? true : undefined),
    60_000,
    200,
  );
  await waitFor('the status to say step 0', async () =>
    (await status())?.currentStep === 0 && (await status())?.phase === 'Progressing' ? true : undefined,
  );

  // 1. someone else changes the weights
  const route = must(await client.get(HTTP_ROUTES, { namespace: ns.name, name: 'reviews' }));
  must(
    await client.jsonPatch(HTTP_ROUTES, { namespace: ns.name, name: 'reviews' }, [
      { op: 'test', path: '/metadata/resourceVersion', value: route.metadata.resourceVersion },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 50 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 50 },
    ]),
  );
  const edited = Date.now();
  await waitFor(
    'the operator to write its weights back',
    async () => ((await weights())?.join(' ') === 'reviews-v1=70 reviews-v2=30' ? true : undefined),
    30_000,
    200,
  );
  const seenAfterMs = Date.now() - edited;
  // the status that counts it is the write after the route's
  const counted = await waitFor(
    'the status to count the write-back',
    async () => (await status())?.weightsWrittenBack,
    30_000,
    200,
  );
  expect(counted).toBe(1);

  // 2. the owned route is deleted (a sync that prunes it): created again from the template, at once
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await custom.deleteNamespacedCustomObject({
    group: HTTP_ROUTES.group,
    version: HTTP_ROUTES.version,
    plural: HTTP_ROUTES.plural,
    namespace: ns.name,
    name: 'reviews',
  });
  await waitFor(
    'the operator to create the HTTPRoute again with its weights',
    async () => ((await weights())?.join(' ') === 'reviews-v1=70 reviews-v2=30' ? true : undefined),
    30_000,
    200,
  );
  expect((await status())?.currentStep).toBe(0);
  console.log(`foreign edit undone after ${seenAfterMs} ms (the next check was 1 h away)`);
});
