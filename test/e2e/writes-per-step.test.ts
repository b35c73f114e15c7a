/**
 * End to end: what the operator writes for each step of a healthy release, counted where it
 * lands (the apiserver's audit log for the VirtualService and the CanaryRelease's status, a watch
 * for what each status write changed, the Events in the namespace). Three setWeight steps, then
 * the promotion: each route change is one VirtualService patch, then one status patch that
 * records the new step (the promotion's also records its routes as settled). A step that runs by
 * itself is those 2 writes; Events are kept for what a user acts on, here the start and the
 * promotion. The only other status writes are check results that changed something.
 */
import * as k8s from '@kubernetes/client-node';
import type { CanaryReleaseStatus } from '../../api/v1alpha1/canary-release.js';
import { CANARY_RELEASES, EVENTS, type KubeObject } from '../../operator/adapters/kubernetes.js';
import { collectionPath } from '../../operator/runtime/informers.js';
import { auditEntries, auditMark } from '../harness/audit.js';
import { E2eEnv, must, sleep, testFailed, transitions } from './env.js';

const INTERVAL_S = 3;
let env: E2eEnv;

beforeAll(async () => {
  env = await E2eEnv.start({
    prefix: 'e2e-writes',
    services: [
      {
        name: 'ratings',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v2', latencyMs: 3 },
        ],
      },
    ],
  });
  await env.startOperator();
  env.load({ host: 'ratings', rps: 40, durationMs: 90_000 });
});

afterAll(async () => {
  await env?.dispose();
});

afterEach(() => {
  if (testFailed()) console.log(env.tail());
});

test('each step of a healthy release is 2 writes, a route patch and a status patch; Events only at its start and promotion', async () => {
  // Every status the apiserver stores, in order, as a watch sees it.
  const statuses: (CanaryReleaseStatus | undefined)[] = [];
  const watch = await new k8s.Watch(env.kc).watch(
    collectionPath(CANARY_RELEASES, env.ns),
    {},
    (phase, o: { status?: CanaryReleaseStatus }) => {
      if (phase === 'ADDED' || phase === 'MODIFIED') statuses.push(o.status);
    },
    () => undefined,
  );
  const mark = auditMark();
  try {
    await env.createRelease('ratings-v2', {
      service: 'ratings',
      stable: { subset: 'v1', deployment: 'ratings-v1' },
      canary: { subset: 'v2', deployment: 'ratings-v2' },
      virtualService: { name: 'ratings', route: 'primary' },
      steps: [{ setWeight: 20 }, { setWeight: 40 }, { setWeight: 60 }],
      analysis: {
        interval: `${INTERVAL_S}s`,
        threshold: 1,
        successRate: { min: 95 },
        missingData: { policy: 'Hold' },
      },
      // the scale-down (a status write, a scale and an Event of its own) stays out of the window
      scaleDown: { delay: '10m' },
    });
    const { final } = await env.traceUntilFinished('ratings-v2', 'ratings', 90_000);
    expect(final.phase).toBe('Succeeded');
    expect(transitions(final.history).map((h) => [h.reason, h.step, h.canaryWeight])).toStrictEqual([
      ['Started', 0, 20],
      ['StepAdvanced', 1, 40],
      ['StepAdvanced', 2, 60],
      ['Promoted', 3, 100],
    ]);
    // Two more intervals: a pass that would settle the routes or record anything else writes here.
    await sleep(2 * INTERVAL_S * 1000);
  } finally {
    watch.abort();
  }

  const writes = auditEntries(mark, { namespace: env.ns }).filter(
    (e) => ['create', 'update', 'patch', 'delete'].includes(e.verb) && e.resource !== 'events',
  );
  const routePatches = writes.filter((e) => e.verb === 'patch' && e.resource === 'virtualservices');
  const statusPatches = writes.filter(
    (e) => e.verb === 'patch' && e.resource === 'canaryreleases' && e.subresource === 'status',
  );
  // Only these three kinds of write: the release's create (the test's), route and status patches.
  expect(writes.length).toBe(1 + routePatches.length + statusPatches.length);
  expect(routePatches).toHaveLength(4); // 20, 40, 60, then 100 to the canary
  // What each stored status changed: a step or phase (a route change), or a check's result.
  const changes = statuses.slice(1).map((s, i) => {
    const was = statuses[i];
    if (s?.phase !== was?.phase || s?.currentStep !== was?.currentStep) return 'step';
    return s?.lastCheckAt !== was?.lastCheckAt ? 'check' : `other: ${JSON.stringify(s)}`;
  });
  expect(changes.length).toBe(statusPatches.length);
  expect(changes.filter((c) => c !== 'step' && c !== 'check')).toStrictEqual([]);
  expect(changes.filter((c) => c === 'step')).toHaveLength(4);
  // The promotion's one status patch records its routes as settled (no second patch for that).
  expect(statuses.at(-1)?.phase).toBe('Succeeded');
  expect(statuses.at(-1)?.routesSettled).toBe(true);
  expect(changes.at(-1)).toBe('step');
  // Each route patch lands before the status patch of its step (a restart in between converges).
  const stepWrites = statusPatches.filter((_, i) => changes[i] === 'step');
  for (const [i, r] of routePatches.entries()) expect(r.at!).toBeLessThanOrEqual(stepWrites[i]!.at!);

  const events = must(
    await env.client.list<
      KubeObject & { reason?: string; eventTime?: string; regarding?: { kind?: string; name?: string } }
    >(EVENTS, env.ns),
  ).items.filter((e) => e.regarding?.kind === 'CanaryRelease' && e.regarding.name === 'ratings-v2');
  expect(events.map((e) => e.reason).sort()).toStrictEqual(['Promoted', 'Started']);
  // The writes of each step, from its route patch to the next route patch: the route patch, the
  // status patches and the Events in between. Steps 1 and 2 (StepAdvanced) must be 2 each.
  // (The first step's window opens at the start, so a status written before its route counts there.)
  const perStep = routePatches.map((_, i) => {
    const start = i === 0 ? -Infinity : routePatches[i]!.at!;
    const end = routePatches[i + 1]?.at ?? Infinity;
    const within = (at: number) => at >= start && at < end;
    return (
      1 +
      statusPatches.filter((w) => within(w.at!)).length +
      events.filter((e) => within(Date.parse(e.eventTime ?? ''))).length
    );
  });
  console.log(
    `writes of one promoted release: ${routePatches.length} route, ${statusPatches.length} status (${changes.join(', ')}), ${events.length} Events; per step ${perStep.join(', ')}`,
  );
  expect(perStep.slice(1, 3)).toStrictEqual([2, 2]);
  expect(perStep.reduce((a, b) => a + b, 0)).toBe(routePatches.length + statusPatches.length + events.length);
});
