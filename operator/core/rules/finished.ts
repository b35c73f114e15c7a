/**
 * A finished release (Succeeded or RolledBack) converges its final routes until they are read
 * back, then lets go of the VirtualService. Its Progressing condition stays as the end left it.
 */
import { ConditionType } from '../../../api/v1alpha1/constants.js';
import { desiredRoutes, type Point } from '../plan.js';
import type { Pass } from '../pass.js';
import { conditionOf } from '../status.js';
import { converge } from './converge.js';

/** Settles the routes of a finished release. */
export function settleFinished(p: Pass): void {
  const { s, spec: sp, route } = p;
  const settledAt: Point =
    s.phase === 'Succeeded'
      ? { at: 'promoted' }
      : {
          at: 'rolledBack',
          index: Math.min(s.currentStep, p.last - 1),
          keepHeaderRoutes: sp.rollback.keepHeaderRoutes,
        };
  const was = conditionOf(p.prev, ConditionType.Progressing);
  p.progress = was
    ? { status: was.status, reason: was.reason, message: was.message }
    : {
        status: 'False',
        reason: s.phase,
        message: `the release ${s.phase === 'Succeeded' ? 'succeeded' : 'was rolled back'}`,
      };
  if (!s.routesSettled) {
    if (!route.found || converge(desiredRoutes(p.steps, settledAt), route).length === 0) {
      s.routesSettled = true;
    } else {
      p.point = settledAt;
      p.requeue = p.interval;
    }
  }
}
