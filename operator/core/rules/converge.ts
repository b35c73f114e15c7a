/**
 * Rule 9: route actions converge the VirtualService to the wanted state of the current point, so
 * repeating a decision, or a crash at any point, only ever repeats idempotent writes.
 */
import type { DesiredRoutes } from '../plan.js';
import type { Action, RouteObservation } from '../types.js';

/** Route actions that take the route as read to `want`; none when it is there already. */
export function converge(want: DesiredRoutes, route: RouteObservation & { found: true }): Action[] {
  const out: Action[] = [];
  if (route.canaryWeight !== want.canaryWeight || route.stableWeight !== 100 - want.canaryWeight) {
    out.push({ type: 'SetRoutes', stableWeight: 100 - want.canaryWeight, canaryWeight: want.canaryWeight });
  }
  const wanted = new Set(want.headerRoutes.map((h) => h.name));
  for (const name of route.headerRoutes) {
    if (!wanted.has(name)) out.push({ type: 'RemoveHeaderRoute', name });
  }
  for (const h of want.headerRoutes) {
    if (!route.headerRoutes.includes(h.name))
      out.push({ type: 'AddHeaderRoute', name: h.name, headers: h.headers });
  }
  if (route.mirrorPercentage !== want.mirrorPercentage) {
    out.push({ type: 'SetMirror', percentage: want.mirrorPercentage });
  }
  if (want.fault && !route.fault) out.push({ type: 'SetFault', fault: want.fault });
  if (!want.fault && route.fault) out.push({ type: 'RemoveFault' });
  return out;
}
