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
import { must, SOLE_LEASE, waitFor } from './operator-fixtures.js';
import { createOwnedRouteRelease, editDrivenWeights, untilStepOneWeights } from './owned-http-route.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;
let client: KubeClient;
let operator: OperatorHandle | undefined;
const logs: LogEntry[] = [];

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
      ...SOLE_LEASE,
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
  // created from the template, then the first step's weights
  await createOwnedRouteRelease(client, ns.name);
  await waitFor('the status to say step 0', async () =>
    (await status())?.currentStep === 0 && (await status())?.phase === 'Progressing' ? true : undefined,
  );

  // 1. someone else changes the weights
  const edited = await editDrivenWeights(client, ns.name);
  await untilStepOneWeights(client, ns.name, 'the operator to write its weights back');
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
  await untilStepOneWeights(client, ns.name, 'the operator to create the HTTPRoute again with its weights');
  expect((await status())?.currentStep).toBe(0);
  console.log(`foreign edit undone after ${seenAfterMs} ms (the next check was 1 h away)`);
});
