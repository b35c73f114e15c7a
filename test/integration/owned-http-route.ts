/**
 * The release the Gateway API watch tests drive: `reviews-v2` owns its HTTPRoute `reviews` (from a
 * template), holds at 30 % with its next check an hour away and `driftPolicy: Reapply`, so only a
 * watch event can bring the reconcile that undoes a foreign edit of the driven rule.
 */
import { CANARY_RELEASES, HTTP_ROUTES, type KubeClient } from '../../operator/adapters/kubernetes.js';
import { canaryRelease, must, waitFor } from './operator-fixtures.js';

/** The driven rule's weights once the release is at its first step. */
export const STEP_ONE_WEIGHTS = 'reviews-v1=70 reviews-v2=30';

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

/** Creates the release in `namespace` and waits until its route has the first step's weights. */
export async function createOwnedRouteRelease(client: KubeClient, namespace: string): Promise<void> {
  must(
    await client.create(
      CANARY_RELEASES,
      namespace,
      canaryRelease(namespace, 'reviews-v2', {
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
  await untilStepOneWeights(client, namespace, 'the operator to create the HTTPRoute and set step 1', 60_000);
}

/** The driven rule's weights as `<service>=<weight> …`, or undefined while there is no route. */
export async function drivenWeights(client: KubeClient, namespace: string): Promise<string | undefined> {
  const res = await client.get(HTTP_ROUTES, { namespace, name: 'reviews' });
  if (!res.ok) return undefined;
  const rules = (
    res.value.spec as { rules: { name: string; backendRefs: { name: string; weight?: number }[] }[] }
  ).rules;
  return rules
    .find((r) => r.name === 'primary')!
    .backendRefs.map((b) => `${b.name}=${b.weight ?? 1}`)
    .join(' ');
}

/** Waits (bounded) until the driven rule has the first step's weights again. */
export const untilStepOneWeights = (
  client: KubeClient,
  namespace: string,
  what: string,
  timeoutMs = 30_000,
) =>
  waitFor(
    what,
    async () => ((await drivenWeights(client, namespace)) === STEP_ONE_WEIGHTS ? true : undefined),
    timeoutMs,
    200,
  );

/** Someone else sets the driven rule to 50/50 (conditional on the version read); returns when. */
export async function editDrivenWeights(client: KubeClient, namespace: string): Promise<number> {
  const route = must(await client.get(HTTP_ROUTES, { namespace, name: 'reviews' }));
  must(
    await client.jsonPatch(HTTP_ROUTES, { namespace, name: 'reviews' }, [
      { op: 'test', path: '/metadata/resourceVersion', value: route.metadata.resourceVersion },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 50 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 50 },
    ]),
  );
  return Date.now();
}
