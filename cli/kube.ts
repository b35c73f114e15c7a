/**
 * The CLI's side of a cluster: the kubeconfig (the operator's loader, its failures as the CLI's
 * errors), the namespace, Kubernetes failures as messages, and the objects the mesh model reads
 * from a live cluster (`lint --kubeconfig`). Imported only by commands that talk to a cluster:
 * it loads client-node.
 */
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../api/v1alpha1/canary-release.js';
import { loadKubeConfig } from '../operator/adapters/kubeconfig.js';
import { kubeError, type KubeError } from '../operator/adapters/kubernetes.js';
import type { KubeObject, SourcedObject } from '../mesh/model/types.js';
import { CommandError, UsageError } from './errors.js';
import { EXIT } from './exit.js';
import { userDir, type Io } from './io.js';
import { redactText, redactUrl } from '../api/redact.js';

/** `--kubeconfig` (else KUBECONFIG, ~/.kube/config, in-cluster) with `--context`; a CommandError (exit 1) when it cannot. */
export function kubeConfigFor(
  io: Io,
  o: { readonly kubeconfig?: string; readonly context?: string },
): k8s.KubeConfig {
  const res = loadKubeConfig({
    ...(o.kubeconfig !== undefined ? { path: o.kubeconfig } : {}),
    ...(o.context !== undefined ? { context: o.context } : {}),
    cwd: userDir(io),
    env: io.env ?? process.env,
  });
  if (!res.ok) throw new CommandError(res.error, EXIT.toolFailure);
  return res.value.kubeConfig;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The namespace to use: `-n`, else the context's, else `default`. */
export function namespaceOf(kc: k8s.KubeConfig, flag: string | undefined): string {
  const ns = flag ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  if (!DNS_LABEL.test(ns) || ns.length > 63)
    throw new UsageError(
      `--namespace must be one namespace name (lowercase letters, digits, '-'), got "${ns}"`,
    );
  return ns;
}

/**
 * A Kubernetes failure as a message that says what, where and what to do, with its exit code.
 * `rbac` names the permission to ask for when the user lacks it.
 */
export function kubeFailure(
  e: KubeError,
  kc: k8s.KubeConfig,
  what: string,
  rbac = `${PLURAL}.${GROUP} (get, list, patch)`,
): CommandError {
  const cluster = kc.getCurrentCluster()?.server;
  const server = cluster ? redactUrl(cluster) : 'the cluster';
  e = { ...e, message: redactText(e.message) };
  switch (e.kind) {
    case 'NotFound':
      return new CommandError(`${what}: not found on ${server} (${e.message})`, EXIT.notFound);
    case 'Forbidden':
      return new CommandError(
        `${what}: the kubeconfig's user may not do this on ${server} (${e.message}); ask for RBAC on ${rbac} or use another --context`,
        EXIT.toolFailure,
      );
    case 'Unavailable':
      return new CommandError(
        `${what}: cannot reach the apiserver at ${server} (${e.message}); check that the cluster is up and that --kubeconfig/--context point at it`,
        EXIT.toolFailure,
      );
    default:
      return new CommandError(
        `${what}: the apiserver at ${server} refused it (${e.message})`,
        EXIT.toolFailure,
      );
  }
}

/** The kinds listed, with the API version asked for. */
export const CLUSTER_KINDS: readonly (readonly [apiVersion: string, kind: string])[] = [
  ['v1', 'Namespace'],
  ['v1', 'Service'],
  ['v1', 'ServiceAccount'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'StatefulSet'],
  ['apps/v1', 'DaemonSet'],
  ['networking.istio.io/v1', 'Gateway'],
  ['networking.istio.io/v1', 'VirtualService'],
  ['networking.istio.io/v1', 'DestinationRule'],
  ['networking.istio.io/v1', 'ServiceEntry'],
  ['networking.istio.io/v1alpha3', 'EnvoyFilter'],
  ['networking.istio.io/v1', 'Sidecar'],
  ['networking.istio.io/v1', 'WorkloadEntry'],
  ['telemetry.istio.io/v1', 'Telemetry'],
  ['security.istio.io/v1', 'PeerAuthentication'],
  ['security.istio.io/v1', 'AuthorizationPolicy'],
];

/** Retries a request the apiserver throttled (HTTP 429), waiting a little longer each time. */
async function withRetry<T>(call: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (e) {
      if ((e as { code?: number }).code !== 429 || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 250 * i));
    }
  }
}

/**
 * Lists every kind the model reads, in all namespaces or in `namespace` (comma-separated; plus
 * Namespaces themselves). A kind the server does not serve is a note; any other failure a
 * CommandError that says what to check.
 */
export async function loadFromCluster(
  io: Io,
  o: { readonly kubeconfig?: string; readonly context?: string; readonly namespace?: string },
): Promise<{ objects: SourcedObject[]; notes: string[] }> {
  const kc = kubeConfigFor(io, o);
  const namespaces = o.namespace?.split(',').filter(Boolean);
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const cluster = kc.getCurrentContext() || kc.getCurrentCluster()?.name || 'cluster';
  const objects: SourcedObject[] = [];
  const notes: string[] = [];
  for (const [apiVersion, kind] of CLUSTER_KINDS) {
    const scopes = kind === 'Namespace' || !namespaces?.length ? [undefined] : namespaces;
    for (const ns of scopes) {
      try {
        const list = await withRetry(() => client.list(apiVersion, kind, ns));
        for (const item of list.items) {
          const object = { ...(item as object), apiVersion, kind } as KubeObject;
          objects.push({ object, origin: { cluster } });
        }
      } catch (e) {
        if (
          (e as { code?: number }).code === 404 ||
          /not found|no resource|Unrecognized resource/i.test(String((e as Error).message))
        ) {
          notes.push(`${kind} (${apiVersion}) is not served by the cluster: skipped`);
          break;
        }
        throw kubeFailure(
          kubeError(e, `list ${kind}`),
          kc,
          `reading ${kind}s${ns ? ` in ${ns}` : ''}`,
          `${kind}s (${apiVersion}: list)`,
        );
      }
    }
  }
  return { objects, notes };
}
