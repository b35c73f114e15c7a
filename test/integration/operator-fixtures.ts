/**
 * Shared setup of the operator's integration tests: the CanaryRelease CRD installed on the real
 * apiserver, and small builders for the objects a release needs. Every wait is bounded.
 */
import * as k8s from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  type CanaryReleaseSpecInput,
} from '../../api/v1alpha1/canary-release.js';
import { canaryReleaseCrdYaml } from '../../api/v1alpha1/crd.js';
import { KubeClient, CANARY_RELEASES, type KubeObject } from '../../operator/adapters/kubernetes.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value other than undefined; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / everyMs) + 1; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) break;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * Installs (or updates) the CanaryRelease CRD and waits until it is Established and served.
 * client-node's serializer maps model property names (`xKubernetesValidations`, `_default`): the
 * YAML is turned into the model with `loadYaml` first, or those keys below `properties` are lost.
 */
export async function installCanaryCrd(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const name = `${PLURAL}.${GROUP}`;
  for (let attempt = 0; attempt < 10; attempt++) {
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(canaryReleaseCrdYaml());
    const done = await ext.createCustomResourceDefinition({ body: crd }).then(
      () => true,
      async (e: unknown) => {
        if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
        const current = await ext.readCustomResourceDefinition({ name });
        crd.metadata!.resourceVersion = current.metadata!.resourceVersion;
        return ext.replaceCustomResourceDefinition({ name, body: crd }).then(
          () => true,
          (e2: unknown) => {
            if (e2 instanceof k8s.ApiException && e2.code === 409) return false; // raced another file: again
            throw e2;
          },
        );
      },
    );
    if (done) break;
  }
  await waitFor(`CRD ${name} to be Established`, async () => {
    const got = await ext.readCustomResourceDefinition({ name });
    return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') || undefined;
  });
  const client = new KubeClient(kc);
  await waitFor(`${KIND} to be served`, async () =>
    (await client.list(CANARY_RELEASES, 'default')).ok ? true : undefined,
  );
}

/** A CanaryRelease object. */
export function canaryRelease(
  namespace: string,
  name: string,
  spec: CanaryReleaseSpecInput | Record<string, unknown>,
) {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
}

/** A Deployment of one version (kwok runs its pods). */
export function deployment(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  replicas = 1,
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: `example/${name}:1` }] },
      },
    },
  };
}

/** Unwraps a result value, failing the test with its error. */
export function must<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
