/**
 * `decide(spec, status, observations, now)`: the whole behaviour of a release as a pure
 * function. No I/O, no clock, no randomness: time comes in as `now`, and everything that must
 * survive a restart is in the returned status, so feeding back any persisted status gives the
 * same next decision.
 *
 * The rules, in the order they are applied (one file each in `rules/`):
 * 1. An invalid spec is never acted on: phase Invalid, condition `Valid=False` naming the field
 *    and the fix, one Warning event per generation, no route action (`invalid-spec.ts`).
 * 2. A new generation restarts a running release from the start (all traffic to stable, then
 *    step 0); on a finished release it starts a new release only when the release identity
 *    (service, subsets, canary revision, route) changed (`generation.ts`). A finished release
 *    only settles its final routes (`finished.ts`).
 * 3. Abort (annotation) rolls back at once (`abort.ts`).
 * 4. A missing route holds everything (`Valid=False`, RouteNotFound) without touching anything
 *    (`route-missing.ts`).
 * 5. A canary Deployment not ready for longer than `progressDeadline` rolls back
 *    (`progress-deadline.ts`); before step 0 the release waits for it (`start.ts`).
 * 6. An analysis check runs once per interval; `threshold` failed checks in a row roll back at
 *    once, in any step including manual gates. Missing data follows `analysis.missingData`
 *    (`analysis.ts`).
 * 7. Weights that differ from what the operator set (and from the step before or after, which a
 *    crash between the route write and the status write leaves) are drift: `driftPolicy`
 *    (`drift.ts`).
 * 8. A step advances (one at a time, never skipping) when its own condition holds and the last
 *    check in the step passed; after the last step the canary is promoted (after approval when
 *    `promotion.manualApproval`). Nothing is promoted or advanced on missing data (`advance.ts`).
 * 9. Route actions converge the VirtualService to the wanted state of the current point, so
 *    repeating a decision, or a crash at any point, only ever repeats idempotent writes
 *    (`converge.ts`).
 * 10. Once a finished release's routes are settled, the losing version's Deployment is scaled to
 *    0 after `scaleDown.delay`, never while a route still sends it traffic; a release that needs
 *    a version scaled down earlier gives it its replicas back before it starts (`scale-down.ts`).
 * Conditions, message and history are written last (`status.ts`); requeue times come from
 * `schedule.ts`.
 */
import { parseSpec } from '../../api/v1alpha1/canary-release.js';
import { isFinishedPhase, isRunningPhase } from '../../api/v1alpha1/constants.js';
import type { Pass } from './pass.js';
import { desiredRoutes } from './plan.js';
import { abort, abortRequested } from './rules/abort.js';
import { advance } from './rules/advance.js';
import { analyse } from './rules/analysis.js';
import { converge } from './rules/converge.js';
import { judgeDrift } from './rules/drift.js';
import { settleFinished } from './rules/finished.js';
import { beginPass } from './rules/generation.js';
import { invalidSpec } from './rules/invalid-spec.js';
import { deadlineExceeded, rollBackAtDeadline, trackReadiness } from './rules/progress-deadline.js';
import { holdForRoute } from './rules/route-missing.js';
import { restoreNeeded, scaleDownLoser } from './rules/scale-down.js';
import { start } from './rules/start.js';
import { checkDueAt, nextDue } from './schedule.js';
import { conclude, readStatus } from './status.js';
import type { Action, Decision, Observations } from './types.js';

export { releaseKey } from './rules/generation.js';
export { analysisDue } from './schedule.js';

/**
 * Decides what a release does next. `spec` and `status` are taken as read from the cluster
 * (validated here; an invalid spec is never acted on, a status that does not parse is reset);
 * `now` is the only clock.
 */
export function decide(spec: unknown, status: unknown, observations: Observations, now: Date): Decision {
  const events: Action[] = [];
  const prev = readStatus(status, { events });
  const parsed = parseSpec(spec);
  if (!parsed.ok) {
    // 1. Invalid spec.
    const d = invalidSpec(prev, parsed.problems, observations.generation, now.toISOString());
    return { ...d, actions: [...d.actions, ...events] };
  }
  // 2. Generations.
  const p = beginPass(parsed.spec, prev, observations, now, events);
  applyRules(p);
  if (p.requeue === null && isRunningPhase(p.s.phase)) p.requeue = nextDue(p.s, p.spec, p.t, p.interval);
  // 9. Converge the routes.
  if (p.point && p.route.found) p.actions.unshift(...converge(desiredRoutes(p.steps, p.point), p.route));
  return conclude(p);
}

/** Rules 2–8 on a valid spec; the first that settles the pass ends it. */
function applyRules(p: Pass): void {
  if (isFinishedPhase(p.s.phase)) {
    settleFinished(p);
    return scaleDownLoser(p); // 10
  }
  if (abortRequested(p)) return abort(p); // 3
  if (!p.route.found) return holdForRoute(p, p.route); // 4
  const route = p.route;
  const restoring = restoreNeeded(p); // 10
  const canary = trackReadiness(p);
  if (deadlineExceeded(canary)) return rollBackAtDeadline(p); // 5
  if (p.s.phase === 'Initializing') return start(p, canary, restoring);
  const step = p.steps[p.s.currentStep];
  const checkDue = checkDueAt(p.s, p.interval);
  if (canary.ready && p.t >= checkDue && analyse(p, step) === 'RolledBack') return; // 6
  const drift = judgeDrift(p, route); // 7
  if (drift === 'RolledBack') return;
  if (drift === 'Held') {
    p.requeue = p.interval;
    return;
  }
  advance(p, step, canary.ready, checkDue); // 8
}
