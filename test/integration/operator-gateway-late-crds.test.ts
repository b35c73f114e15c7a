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
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { CANARY_RELEASES, KubeClient, type CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { startOperator, type OperatorHandle } from '../../operator/runtime/operator.js';
import { createLogger, type LogEntry } from '../../operator/runtime/log.js';
import { cluster } from '../harness/cluster.js';
import { installCrds, startReleaseApiCore, type ApiCore } from '../harness/control-plane.js';
import { must, waitFor } from './operator-fixtures.js';
import { createOwnedRouteRelease, editDrivenWeights, untilStepOneWeights } from './owned-http-route.js';

const NS = 'late-crds';

let workDir: string;
let core: ApiCore;
let client: KubeClient;
let operator: OperatorHandle | undefined;
const logs: LogEntry[] = [];

const logged = (text: string) => logs.some((e) => e.msg.includes(text));

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'it-late-crds-'));
  core = await startReleaseApiCore({ bin: cluster.bin, workDir });
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
  // Ready once the new informers have listed. A watch opened the moment a CRD is established can
  // be refused (the apiserver answered 429 in one run) and is restarted after a back-off.
  await waitFor(
    'the operator to be ready with the new informers',
    () => operator!.isReady() || undefined,
    10_000,
    50,
  );

  await createOwnedRouteRelease(client, NS);
  await waitFor('the status to say step 0', async () => {
    const st = must(
      await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: NS, name: 'reviews-v2' }),
    ).status as CanaryReleaseStatus | undefined;
    return st?.currentStep === 0 && st.phase === 'Progressing' ? true : undefined;
  });

  const edited = await editDrivenWeights(client, NS);
  await untilStepOneWeights(client, NS, 'the operator to write its weights back');
  console.log(`foreign edit undone after ${Date.now() - edited} ms (the next check and the resync 1 h away)`);
}, 120_000);
