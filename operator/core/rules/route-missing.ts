/**
 * Rule 4: a missing VirtualService or route holds everything (`Valid=False`, with the fix)
 * without touching anything; a Warning Event when the reason is new.
 */
import { ConditionType, Reason } from '../../../api/v1alpha1/constants.js';
import { event, type Pass } from '../pass.js';
import { conditionOf } from '../status.js';
import type { RouteObservation } from '../types.js';

/** Holds the release until its route exists. */
export function holdForRoute(p: Pass, route: RouteObservation & { found: false }): void {
  const sp = p.spec;
  const vs = `VirtualService ${sp.virtualService.name}`;
  const msg =
    route.reason === Reason.VirtualServiceNotFound
      ? `.spec.virtualService.name: ${vs} does not exist in this namespace: create it, or name an existing one`
      : `.spec.virtualService.route: ${vs} has no HTTP route named "${sp.virtualService.route}"${route.available?.length ? ` (it has: ${route.available.join(', ')})` : ''}: name one of its routes, or add \`name: ${sp.virtualService.route}\` to the route to drive`;
  p.valid = { type: ConditionType.Valid, status: 'False', reason: route.reason, message: msg };
  p.progress = { status: 'False', reason: route.reason, message: `holding: ${msg}` };
  if (conditionOf(p.prev, ConditionType.Valid)?.reason !== route.reason)
    event(p, 'Warning', route.reason, msg);
  p.requeue = p.interval;
}
