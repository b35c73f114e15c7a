/**
 * Shared setup of the operator's integration tests: small builders for the objects a release
 * needs, and a bounded wait. The CanaryRelease CRD is installed by the test control plane.
 */
import {
  API_VERSION,
  KIND,
  type CanaryReleaseSpecInput,
  type CanaryReleaseStatus,
} from '../../api/v1alpha1/canary-release.js';
import { EVENTS, type KubeClient, type KubeObject } from '../../operator/adapters/kubernetes.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Lease timings for an in-process operator that is alone on its Lease. It renews as often as a
 * quick test needs (and a stopped one releases the Lease, so the next one takes it within a retry
 * period), but keeps leading through a renewal that a loaded machine delays by seconds: with a 2 s
 * renew deadline, such a stall stopped the operator mid-release.
 */
export const SOLE_LEASE = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 250 } as const;

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

/** An Event as the tests read it. */
export type EventView = KubeObject & {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { name?: string };
};

/**
 * Events regarding one object of `namespace`, oldest first. The operator records an Event after
 * the status it tells of, so a test that has just seen the status names the reasons it expects:
 * the list is read again until each is there as many times as it is named (for at most
 * `timeoutMs`), then returned whole for exact assertions, which report whatever is still missing.
 */
export async function eventsRegarding(
  client: KubeClient,
  namespace: string,
  name: string,
  expected: readonly string[] = [],
  timeoutMs = 5_000,
): Promise<EventView[]> {
  const read = async () =>
    must(await client.list<EventView>(EVENTS, namespace)).items.filter((e) => e.regarding?.name === name);
  const count = (r: string, list: readonly (string | undefined)[]) => list.filter((x) => x === r).length;
  const complete = (items: readonly EventView[]) => {
    const reasons = items.map((e) => e.reason);
    return expected.every((r) => count(r, reasons) >= count(r, expected));
  };
  try {
    return await waitFor(
      `Events ${expected.join(', ')} of ${name}`,
      async () => {
        const items = await read();
        return complete(items) ? items : undefined;
      },
      timeoutMs,
      50,
    );
  } catch {
    return read();
  }
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

/**
 * A release's history without its Initializing entry. Whether the canary Deployment is already
 * available at the first reconcile depends on kwok's timing; when it is not, the history starts
 * with Initializing before Started. The tests assert the transitions after that.
 */
export function transitions(
  history: CanaryReleaseStatus['history'],
): NonNullable<CanaryReleaseStatus['history']> {
  return (history ?? []).filter((h) => h.reason !== 'Initializing');
}

/** A DestinationRule for `host` with one subset per version (`version` label). */
export function subsetRule(namespace: string, host: string, versions: readonly string[]) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: host, namespace },
    spec: { host, subsets: versions.map((v) => ({ name: v, labels: { version: v } })) },
  };
}

/** A user's VirtualService for `host`: a `health` route and the `primary` route a release drives, both to `stable`. */
export function userVirtualService(namespace: string, host: string, stable: string) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: host, namespace },
    spec: {
      hosts: [host],
      http: [
        {
          name: 'health',
          match: [{ uri: { exact: '/health' } }],
          route: [{ destination: { host, subset: stable } }],
        },
        { name: 'primary', retries: { attempts: 0 }, route: [{ destination: { host, subset: stable } }] },
      ],
    },
  };
}
