/** Lists the objects the mesh model reads from a live cluster (`lint --kubeconfig`). */
import * as k8s from '@kubernetes/client-node';
import type { KubeObject, SourcedObject } from '../mesh/model/types.js';

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

export interface ClusterObjects {
  readonly objects: SourcedObject[];
  /** Kinds that could not be listed (e.g. the Istio CRDs are not installed), with why. */
  readonly notes: string[];
}

/**
 * Lists every kind the model reads, in all namespaces or in `namespaces` (plus Namespaces
 * themselves). A kind the server does not know is a note; any other failure throws.
 */
export async function loadFromCluster(
  kubeconfigPath: string,
  namespaces?: readonly string[],
): Promise<ClusterObjects> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
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
        const code = (e as { code?: number }).code;
        if (
          code === 404 ||
          /not found|no resource|Unrecognized resource/i.test(String((e as Error).message))
        ) {
          notes.push(`${kind} (${apiVersion}) is not served by the cluster: skipped`);
          break;
        }
        throw e;
      }
    }
  }
  return { objects, notes };
}
