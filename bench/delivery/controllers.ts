/**
 * The two progressive-delivery controllers of `npm run bench -- delivery`, on one control plane:
 * our operator as it ships (the compiled `operator/main.js` run as a process by the Node binary
 * the image ships, i.e. the image's contents run as a process) and Flagger (built from the Go
 * module proxy by `test/harness/provision.sh flagger`, a benchmark-only harness part).
 *
 * Each runs under a ServiceAccount of its own (bound to cluster-admin, so RBAC is not what is
 * compared), with a kubeconfig holding a token from the apiserver's TokenRequest API: the audit
 * log tells their writes apart by user. Both watch every namespace, without leader election
 * (Flagger's default; ours is given `--no-leader-election` so that neither renews a Lease).
 */
import * as k8s from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ControlPlane } from '../../test/harness/control-plane.js';
import { freePort, startProcess, stopAll, waitReady, type Managed } from '../../test/harness/processes.js';
import { listenAddress, scrapeMetrics } from '../operator-metrics.js';
import { spawnOperator, waitLeading, type OperatorProcess } from '../../test/harness/operator-process.js';

export const SYSTEM_NAMESPACE = 'delivery-bench-system';

export interface Identity {
  /** The audit log's `user.username`. */
  readonly user: string;
  readonly kubeconfig: string;
}

/** The audit log's user of a ServiceAccount of `SYSTEM_NAMESPACE`. */
export const accountUser = (name: string) => `system:serviceaccount:${SYSTEM_NAMESPACE}:${name}`;

/** A ServiceAccount bound to cluster-admin and a kubeconfig with its token (2 h). */
export async function serviceAccountIdentity(cp: ControlPlane, name: string): Promise<Identity> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core
    .createNamespace({ body: { metadata: { name: SYSTEM_NAMESPACE } } })
    .catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  await core.createNamespacedServiceAccount({ namespace: SYSTEM_NAMESPACE, body: { metadata: { name } } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `delivery-bench-${name}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name, namespace: SYSTEM_NAMESPACE }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name,
    namespace: SYSTEM_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 7200 } },
  });
  const cluster = kc.getCurrentCluster()!;
  const file = join(cp.workDir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: { server: '${cluster.server}', certificate-authority: '${cluster.caFile}' }
users:
- name: ${name}
  user: { token: '${token.status!.token}' }
contexts:
- name: bench
  context: { cluster: bench, user: ${name} }
current-context: bench
`,
    { mode: 0o600 },
  );
  return { user: accountUser(name), kubeconfig: file };
}

/** A controller process, for its RSS and CPU time. */
export interface ControllerProcess {
  readonly name: string;
  readonly pid: number;
  /** Its own metrics (ours: `/metrics`, for the reconcile latency); Flagger exposes none comparable. */
  readonly metrics?: () => Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** Flagger, on every namespace or only on `namespace`. */
export async function startFlagger(
  cp: ControlPlane,
  bin: string,
  id: Identity,
  namespace?: string,
): Promise<ControllerProcess & { readonly managed: Managed }> {
  const port = await freePort();
  const managed = startProcess(
    namespace ? `flagger-${namespace}` : 'flagger',
    join(bin, 'flagger'),
    [
      `-kubeconfig=${id.kubeconfig}`,
      '-mesh-provider=istio',
      `-metrics-server=${cp.prometheusUrl}`,
      // Flagger binds every interface on this port (no flag narrows it); the bench runs on a
      // machine that is reached only on loopback.
      `-port=${port}`,
      '-log-level=info',
      '-enable-leader-election=false',
      '-enable-config-tracking=false',
      ...(namespace ? [`-namespace=${namespace}`] : []),
    ],
    join(cp.workDir, 'logs'),
  );
  await waitReady(
    managed,
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok,
    { timeoutMs: 60_000, port },
  );
  return { name: 'Flagger', pid: managed.child.pid!, managed, stop: () => stopAll([managed]) };
}

/** Our operator, on every namespace or only on `namespace`. */
export async function startOurs(
  cp: ControlPlane,
  id: Identity,
  namespace?: string,
): Promise<ControllerProcess & { readonly proc: OperatorProcess }> {
  const proc = spawnOperator({
    kubeconfig: id.kubeconfig,
    prometheusUrl: cp.prometheusUrl,
    identity: 'delivery-bench',
    ...(namespace ? { namespace } : {}),
  });
  await waitLeading(proc, 'the operator', 120_000);
  return {
    name: 'cdk8s-mesh',
    pid: proc.child.pid!,
    proc,
    metrics: async () => scrapeMetrics(await listenAddress(proc.lines)),
    stop: async () => {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
      await proc.exited;
    },
  };
}
