/**
 * End to end: another client keeps writing what the operator writes, in a bounded loop, while
 * three releases run side by side (one operator):
 * - reviews (driftPolicy Hold): the other client rewrites the managed route's weights 20 times,
 *   300 ms apart. The operator holds with WeightsDrifted and writes the VirtualService not once.
 * - ratings (driftPolicy Reapply): the other client heals the route (every 100 ms, 40 times, it
 *   writes its weights whenever they are not its own), as a GitOps self-heal does. The operator
 *   writes its weights back DRIFT_WRITE_BACK_LIMIT times in the release, then holds: no tug of war.
 * - details: the other client rewrites the CanaryRelease's status (its message) 100 times, 50 ms
 *   apart. The operator's status writes carry the resourceVersion they were decided on (a refused
 *   one is read and decided again) and stay at its own pace, not one per foreign write.
 * Every write is counted where it lands: a watch on the apiserver, each change attributed by its
 * content (the other client's weights and message are its own). Afterwards the weights are
 * restored (the route) or the step resumed, and every release is promoted with no step lost; the
 * VirtualServices' other routes are untouched.
 */
import * as k8s from '@kubernetes/client-node';
import {
  DRIFT_WRITE_BACK_LIMIT,
  RESUME_ANNOTATION,
  resumeValue,
  type CanaryReleaseSpecInput,
  type DriftPolicy,
} from '../../api/v1alpha1/canary-release.js';
import {
  CANARY_RELEASES,
  VIRTUAL_SERVICES,
  type CanaryReleaseObject,
} from '../../operator/adapters/kubernetes.js';
import { reportFigures } from '../harness/figures.js';
import { E2eEnv, must, sleep, testFailed, transitions, type HttpRouteView } from './env.js';

const INTERVAL_S = 2;
const RIVAL = { weights: [33, 30], message: 'edited by another client' };
let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-rival',
    services: ['reviews', 'ratings', 'details'].map((name) => ({
      name,
      versions: [
        { version: 'v1', latencyMs: 3 },
        { version: 'v2', latencyMs: 3 },
      ],
    })),
  });
  await env.startOperator();
  for (const host of ['reviews', 'ratings', 'details']) env.load({ host, rps: 25, durationMs: 120_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

/** `gated`: step 1 is a manual gate at 20 %, so the release cannot move on during the rewrites. */
const spec = (service: string, driftPolicy: DriftPolicy, gated: boolean): CanaryReleaseSpecInput => ({
  service,
  stable: { subset: 'v1', deployment: `${service}-v1` },
  canary: { subset: 'v2', deployment: `${service}-v2` },
  virtualService: { name: service, route: 'primary' },
  steps: [{ setWeight: 20 }, gated ? { pause: {} } : { setWeight: 40 }, { setWeight: 60 }],
  driftPolicy,
  analysis: {
    interval: `${INTERVAL_S}s`,
    threshold: 2,
    successRate: { min: 95 },
    missingData: { policy: 'Hold' },
  },
});

/** Every change of the three VirtualServices and CanaryReleases, as the apiserver's watch sends them. */
interface Changes {
  readonly vs: { name: string; canary: number }[];
  readonly cr: { name: string; message?: string }[];
  stop(): void;
}

async function watchChanges(): Promise<Changes> {
  const changes: Changes = { vs: [], cr: [], stop: () => undefined };
  const w = new k8s.Watch(env.kc);
  const path = (t: typeof VIRTUAL_SERVICES) =>
    `/apis/${t.group}/${t.version}/namespaces/${env.ns}/${t.plural}`;
  const vsRv = must(await env.client.list(VIRTUAL_SERVICES, env.ns)).metadata?.resourceVersion;
  const crRv = must(await env.client.list(CANARY_RELEASES, env.ns)).metadata?.resourceVersion;
  const a = await w.watch(
    path(VIRTUAL_SERVICES),
    { resourceVersion: vsRv },
    (type: string, obj: { metadata: { name: string }; spec: { http: HttpRouteView[] } }) => {
      if (type !== 'MODIFIED') return;
      const r = obj.spec.http.find((x) => x.name === 'primary')?.route ?? [];
      changes.vs.push({
        name: obj.metadata.name,
        canary: r.find((d) => d.destination.subset === 'v2')?.weight ?? 0,
      });
    },
    () => undefined,
  );
  const b = await w.watch(
    path(CANARY_RELEASES),
    { resourceVersion: crRv },
    (type: string, obj: CanaryReleaseObject) => {
      if (type === 'MODIFIED')
        changes.cr.push({ name: obj.metadata.name, message: (obj.status as { message?: string })?.message });
    },
    () => undefined,
  );
  changes.stop = () => {
    a.abort();
    b.abort();
  };
  return changes;
}

/** The other client: rewrites the managed route's weights `n` times, `everyMs` apart. */
async function rewriteWeights(service: string, n: number, everyMs: number): Promise<number> {
  let written = 0;
  for (let i = 0; i < n; i++) {
    const canary = RIVAL.weights[i % 2]!;
    const res = await env.client.jsonPatch(VIRTUAL_SERVICES, { namespace: env.ns, name: service }, [
      { op: 'test', path: '/spec/http/1/name', value: 'primary' },
      {
        op: 'replace',
        path: '/spec/http/1/route',
        value: [
          { destination: { host: service, subset: 'v1' }, weight: 100 - canary },
          { destination: { host: service, subset: 'v2' }, weight: canary },
        ],
      },
    ]);
    if (res.ok) written++;
    await sleep(everyMs);
  }
  return written;
}

/**
 * The other client as a self-healing controller: every 100 ms (`n` times) it reads the route and,
 * when the weights are not its own, writes its own back: the partner a tug of war needs.
 */
async function healWeights(service: string, n: number): Promise<number> {
  let written = 0;
  for (let i = 0; i < n; i++) {
    const primary = (await env.virtualService(service)).spec.http.find((r) => r.name === 'primary');
    const canary = primary?.route?.find((d) => d.destination.subset === 'v2')?.weight ?? 0;
    if (!RIVAL.weights.includes(canary)) written += await rewriteWeights(service, 1, 0);
    await sleep(100);
  }
  return written;
}

/** The other client: rewrites the release's status message `n` times, `everyMs` apart. */
async function rewriteStatus(name: string, n: number, everyMs: number): Promise<number> {
  let written = 0;
  for (let i = 0; i < n; i++) {
    const res = await env.client.jsonPatch(
      CANARY_RELEASES,
      { namespace: env.ns, name },
      [{ op: 'replace', path: '/status/message', value: `${RIVAL.message} #${i}` }],
      { subresource: 'status', fieldManager: 'another-client' },
    );
    if (res.ok) written++;
    await sleep(everyMs);
  }
  return written;
}

test('weights and status rewritten again and again: the operator holds or writes back a bounded number of times, never a tug of war', async () => {
  const healthBefore = await Promise.all(
    ['reviews', 'ratings'].map(async (s) => JSON.stringify((await env.virtualService(s)).spec.http[0])),
  );
  await env.createRelease('reviews-v2', spec('reviews', 'Hold', true));
  await env.createRelease('ratings-v2', spec('ratings', 'Reapply', true));
  for (const name of ['reviews-v2', 'ratings-v2'])
    await env.waitStatus(name, 'the gate at step 1', (s) => s.phase === 'Paused' && s.currentStep === 1);
  await env.createRelease('details-v2', spec('details', 'Hold', false));
  await env.waitStatus('details-v2', 'step 0', (s) => s.phase === 'Progressing' && s.currentStep === 0);

  const changes = await watchChanges();
  const conflictsBefore = await conflicts();
  const t0 = Date.now();
  const [reviewsWrites, ratingsWrites, statusWrites] = await Promise.all([
    rewriteWeights('reviews', 20, 300),
    healWeights('ratings', 40),
    rewriteStatus('details-v2', 100, 50),
  ]);
  const stormMs = Date.now() - t0;
  await sleep(1000); // the operator's answers to the last writes
  changes.stop();
  const conflictsDuring = (await conflicts()) - conflictsBefore;

  // a write back is the operator's change right after one of the other client's (the operator
  // moves on to a next step only from its own weights, never from the other client's)
  const byRival = (c: { canary: number }) => RIVAL.weights.includes(c.canary);
  const operatorVsWrites = (name: string) =>
    changes.vs
      .filter((c) => c.name === name)
      .filter((c, i, xs) => !byRival(c) && i > 0 && byRival(xs[i - 1]!)).length;
  const statusByOperator = changes.cr.filter(
    (c) => c.name === 'details-v2' && !c.message?.startsWith(RIVAL.message),
  ).length;
  const [reviews, ratings] = [await env.status('reviews-v2'), await env.status('ratings-v2')];
  console.log(
    `${stormMs} ms of rewrites: reviews (Hold) ${reviewsWrites} by the other client, ${operatorVsWrites('reviews')} written back by the operator; ratings (Reapply) ${ratingsWrites} and ${operatorVsWrites('ratings')} (at step ${ratings?.currentStep}); details status ${statusWrites} by the other client, ${statusByOperator} by the operator (conflicts it read again after: ${conflictsDuring})`,
  );

  // all the other client's writes landed
  expect([reviewsWrites, statusWrites]).toStrictEqual([20, 100]);
  // Hold: not one write back, held with WeightsDrifted, one Event
  expect(operatorVsWrites('reviews')).toBe(0);
  expect(reviews?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('WeightsDrifted');
  expect(
    (await env.events('reviews-v2', ['WeightsDrifted'])).filter((e) => e.reason === 'WeightsDrifted'),
  ).toHaveLength(1);
  // Reapply against a writer that heals every write back: written back exactly the limit, then
  // held (the message says why), and the other writer had nothing left to heal
  expect(operatorVsWrites('ratings')).toBe(DRIFT_WRITE_BACK_LIMIT);
  expect(ratingsWrites).toBe(DRIFT_WRITE_BACK_LIMIT + 1);
  expect(ratings?.weightsWrittenBack).toBe(DRIFT_WRITE_BACK_LIMIT);
  expect(ratings?.message).toMatch(
    /someone else keeps changing the VirtualService \(written back 3 times in this release\)/,
  );
  // the status: the operator wrote at its own pace (about one check per interval), not per write
  expect(statusByOperator).toBeLessThanOrEqual(Math.ceil(stormMs / (INTERVAL_S * 1000)) + 3);
  // nothing moved on while held
  expect([reviews?.currentStep, ratings?.currentStep]).toStrictEqual([1, 1]);

  // the way out: restore the weights (Reapply), resume the gate; then all three finish
  must(
    await env.client.jsonPatch(VIRTUAL_SERVICES, { namespace: env.ns, name: 'ratings' }, [
      { op: 'test', path: '/spec/http/1/name', value: 'primary' },
      {
        op: 'replace',
        path: '/spec/http/1/route',
        value: [
          { destination: { host: 'ratings', subset: 'v1' }, weight: 100 - ratings!.canaryWeight },
          { destination: { host: 'ratings', subset: 'v2' }, weight: ratings!.canaryWeight },
        ],
      },
    ]),
  );
  for (const [name, st] of [
    ['reviews-v2', reviews],
    ['ratings-v2', ratings],
  ] as const)
    await env.annotate(name, { [RESUME_ANNOTATION]: resumeValue(st!.observedGeneration, 1) });
  const finals = await Promise.all(
    [
      ['reviews-v2', 'reviews'],
      ['ratings-v2', 'ratings'],
      ['details-v2', 'details'],
    ].map(([name, vs]) => env.traceUntilFinished(name!, vs!, 45_000)),
  );
  for (const { final } of finals) {
    expect(final.phase).toBe('Succeeded');
    expect(transitions(final.history).map((h) => [h.reason, h.step])).toStrictEqual([
      ['Started', 0],
      ['StepAdvanced', 1],
      ['StepAdvanced', 2],
      ['Promoted', 3],
    ]);
  }
  // the routes the operator does not own are byte for byte as they were
  const healthAfter = await Promise.all(
    ['reviews', 'ratings'].map(async (s) => JSON.stringify((await env.virtualService(s)).spec.http[0])),
  );
  expect(healthAfter).toStrictEqual(healthBefore);
  reportFigures({
    fault: 'conflicting writer (route weights and status rewritten)',
    count: `${reviewsWrites + ratingsWrites} foreign route writes, ${statusWrites} foreign status writes in ${stormMs} ms`,
    outcome: `Hold: ${operatorVsWrites('reviews')} written back; Reapply: ${operatorVsWrites('ratings')} written back, then held; status: ${statusByOperator} operator writes, ${conflictsDuring} refused and read again; all 3 Succeeded`,
  });
}, 150_000);

/** Writes the operator had refused because the object changed since it read it. */
async function conflicts(): Promise<number> {
  const m = await env.operator!.metrics.conflicts.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}
