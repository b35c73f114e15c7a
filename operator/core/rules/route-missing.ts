/**
 * Rule 4: a missing VirtualService / HTTPRoute / GRPCRoute, or route holds everything (`Valid=False`, with the fix)
 * without touching anything; a Warning Event when the reason is new.
 */
import { drivenRoute } from '../../../api/v1alpha1/canary-release.js';
import { ConditionType, Reason } from '../../../api/v1alpha1/constants.js';
import { event, type Pass } from '../pass.js';
import { conditionOf } from '../status.js';
import type { RouteObservation } from '../types.js';

/** Holds the release until its route exists. */
export function holdForRoute(p: Pass, route: RouteObservation & { found: false }): void {
  const r = drivenRoute(p.spec);
  const obj = `${r.kind} ${r.name}`;
  const what = r.kind === 'VirtualService' ? 'HTTP route' : 'rule';
  const noun = r.kind === 'VirtualService' ? 'route' : 'rule';
  const msg =
    route.reason === Reason.RouteNotFound
      ? `.spec.${r.field}.${r.routeField}: ${obj} has no ${what} named "${r.route}"${route.available?.length ? ` (it has: ${route.available.join(', ')})` : ''}: name one of its ${noun}s, or add \`name: ${r.route}\` to the ${noun} to drive`
      : `.spec.${r.field}.name: ${obj} does not exist in this namespace: create it, or name an existing one`;
  p.valid = { type: ConditionType.Valid, status: 'False', reason: route.reason, message: msg };
  p.progress = { status: 'False', reason: route.reason, message: `holding: ${msg}` };
  if (conditionOf(p.prev, ConditionType.Valid)?.reason !== route.reason)
    event(p, 'Warning', route.reason, msg);
  p.requeue = p.interval;
  // Nothing started yet: the history reads Initializing → Started once the route is there, as
  // for a canary not yet ready, never Started twice.
  if (p.restarted) p.historyReason = Reason.Initializing;
}
