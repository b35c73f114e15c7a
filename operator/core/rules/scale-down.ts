/**
 * Rule 10: the version that lost. Once a finished release's final routes have been read back, the
 * Deployment of the losing version (the old stable after a promotion, the canary after a
 * rollback) is scaled to 0 after `scaleDown.delay`, and never while a route of the VirtualService
 * still sends or mirrors it traffic. The replicas it had go into `status.scaledDown`, and a later
 * release that needs that version again (as its stable or its canary) gives them back before it
 * starts (`restoreNeeded`).
 *
 * A HorizontalPodAutoscaler that targets the Deployment is not fought: Kubernetes stops
 * autoscaling a target whose replicas are 0 (condition ScalingActive=False, ScalingDisabled), so
 * it stays at 0, and the autoscaler resumes once the replicas are restored. Scale-down happens once
 * per release: whoever scales the Deployment up again afterwards (a person, a GitOps sync) wins.
 */
import { durationMs } from '../../../api/duration.js';
import {
  SCALED_DOWN_LIMIT,
  type ScaleDownStatus,
  type ScaledDownDeployment,
} from '../../../api/v1alpha1/canary-release.js';
import { drivenRoute } from '../../../api/v1alpha1/canary-release.js';
import { Reason } from '../../../api/v1alpha1/constants.js';
import { event, type Pass } from '../pass.js';
import type { Readiness } from '../types.js';

/** How soon a pass looks again at a scale write it made (to confirm it, or give replicas back). */
export const SCALE_CONFIRM_MS = 1000;

/** The routes that still send `subset` traffic, in words; empty when none does. */
function trafficTo(p: Pass, subset: string, isCanary: boolean): string[] {
  const { route, spec } = p;
  if (!route.found) return [];
  const out: string[] = [];
  const weight = isCanary ? route.canaryWeight : route.stableWeight;
  const driven = drivenRoute(spec).route;
  if (weight > 0) out.push(`route ${driven} (weight ${weight})`);
  if (isCanary && route.mirrorPercentage > 0) out.push(`route ${driven} (mirror ${route.mirrorPercentage}%)`);
  if (isCanary && route.headerRoutes.length > 0)
    out.push(`its header routes ${route.headerRoutes.join(', ')} (rollback.keepHeaderRoutes)`);
  for (const name of route.otherRoutes?.[subset] ?? []) out.push(`route ${name}`);
  return out;
}

function setScaleDown(p: Pass, next: ScaleDownStatus, eventType?: 'Normal' | 'Warning', reason?: string) {
  const was = p.s.scaleDown;
  p.s.scaleDown = next;
  if (reason && eventType && (was?.state !== next.state || was.deployment !== next.deployment)) {
    event(p, eventType, reason, next.message);
  }
}

/** Scales the losing version of a finished release to 0 when its time has come (rule 10). */
export function scaleDownLoser(p: Pass): void {
  const { s, spec } = p;
  if (!s.routesSettled) return;
  const promoted = s.phase === 'Succeeded';
  const loser = promoted ? spec.stable : spec.canary;
  const observed: Readiness | undefined = promoted ? p.observations.stable : p.observations.canary;
  if (!loser.deployment || !observed) return;
  const base = { deployment: loser.deployment, subset: loser.subset };
  const prev = s.scaleDown?.deployment === loser.deployment ? s.scaleDown : undefined;
  if (prev?.state === 'ScaledDown') return;
  if (!spec.scaleDown.enabled) {
    setScaleDown(p, {
      ...base,
      state: 'LeftAlone',
      message: `scaleDown.enabled is false: Deployment ${loser.deployment} (${loser.subset}) keeps its replicas`,
    });
    return;
  }
  const replicas = observed.replicas;
  if (replicas === undefined) {
    setScaleDown(p, {
      ...base,
      state: 'LeftAlone',
      message: `Deployment ${loser.deployment} (${loser.subset}) does not exist: nothing to scale down`,
    });
    return;
  }
  if (prev?.state === 'ScalingDown') {
    if (replicas === 0) {
      setScaleDown(p, {
        ...base,
        state: 'ScaledDown',
        message: `Deployment ${loser.deployment} (${loser.subset}) has 0 replicas; a release that needs ${loser.subset} again gives them back`,
      });
    } else {
      p.actions.push({ type: 'ScaleDeployment', deployment: loser.deployment, replicas: 0 });
      p.requeue = SCALE_CONFIRM_MS;
    }
    return;
  }
  if (replicas === 0) {
    setScaleDown(p, {
      ...base,
      state: 'LeftAlone',
      message: `Deployment ${loser.deployment} (${loser.subset}) already has 0 replicas`,
    });
    return;
  }
  const dueAt = Date.parse(s.stepStartedAt) + (durationMs(spec.scaleDown.delay) ?? 30_000);
  if (p.t < dueAt) {
    setScaleDown(p, {
      ...base,
      state: 'Waiting',
      dueAt: new Date(dueAt).toISOString(),
      message: `Deployment ${loser.deployment} (${loser.subset}) scales to 0 at ${new Date(dueAt).toISOString()} (scaleDown.delay ${spec.scaleDown.delay})`,
    });
    p.requeue = dueAt - p.t;
    return;
  }
  const senders = trafficTo(p, loser.subset, !promoted);
  if (senders.length > 0) {
    setScaleDown(
      p,
      {
        ...base,
        state: 'Held',
        message: `Deployment ${loser.deployment} stays up: ${senders.join('; ')} of ${drivenRoute(spec).kind} ${drivenRoute(spec).name} still send ${loser.subset} traffic; it scales to 0 once none does`,
      },
      'Normal',
      Reason.ScaleDownHeld,
    );
    p.requeue = p.interval;
    return;
  }
  const record: ScaledDownDeployment = { ...base, replicas };
  s.scaledDown = [...(s.scaledDown ?? []).filter((d) => d.deployment !== loser.deployment), record].slice(
    -SCALED_DOWN_LIMIT,
  );
  p.actions.push({ type: 'ScaleDeployment', deployment: loser.deployment, replicas: 0 });
  setScaleDown(
    p,
    {
      ...base,
      state: 'ScalingDown',
      message: `Deployment ${loser.deployment} (${loser.subset}) scaled from ${replicas} to 0 replicas ${spec.scaleDown.delay} after the release ${promoted ? 'was promoted' : 'was rolled back'}; a release that needs ${loser.subset} again gives them back`,
    },
    'Normal',
    Reason.ScaledDown,
  );
  p.requeue = SCALE_CONFIRM_MS;
}

/**
 * Gives back the replicas of the Deployments in `status.scaledDown` that this release runs (its
 * stable or its canary); a record is dropped once its Deployment has replicas again. Returns the
 * Deployments still waiting for theirs, so the release does not start on a version without pods.
 */
export function restoreNeeded(p: Pass): string[] {
  const { s, spec } = p;
  const records = s.scaledDown ?? [];
  if (records.length === 0) return [];
  const restoring: string[] = [];
  const kept: ScaledDownDeployment[] = [];
  for (const r of records) {
    const role =
      r.deployment === spec.canary.deployment
        ? p.observations.canary
        : r.deployment === spec.stable.deployment
          ? p.observations.stable
          : undefined;
    if (!role || role.replicas === undefined) {
      kept.push(r);
      continue;
    }
    if (role.replicas > 0) continue; // it has replicas again: the record is done
    kept.push(r);
    restoring.push(r.deployment);
    p.actions.push({ type: 'ScaleDeployment', deployment: r.deployment, replicas: r.replicas });
    event(
      p,
      'Normal',
      Reason.ScaledUp,
      `Deployment ${r.deployment} (${r.subset}) scaled from 0 back to ${r.replicas} replicas: this release needs ${r.subset}`,
    );
  }
  if (kept.length > 0) s.scaledDown = kept;
  else delete s.scaledDown;
  if (restoring.length > 0) p.requeue = SCALE_CONFIRM_MS;
  return restoring;
}
