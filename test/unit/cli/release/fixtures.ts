/** CanaryRelease objects as the apiserver returns them, for the release view, format and gate tests. */
import type { CanaryReleaseStatus } from '../../../../api/v1alpha1/canary-release.js';
import type { CanaryReleaseObject } from '../../../../operator/adapters/kubernetes.js';

export const NOW = new Date('2026-09-01T12:10:00Z');
export const T = (s: string) => `2026-09-01T12:${s}Z`;

export const spec = {
  service: 'reviews',
  stable: { subset: 'v1', deployment: 'reviews-v1' },
  canary: { subset: 'v3', deployment: 'reviews-v3', revision: '1.20.3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { setWeight: 25 }, { pause: {} }, { setWeight: 50 }],
  promotion: { manualApproval: true },
  analysis: { interval: '5s', threshold: 2, successRate: { min: 99 }, latencyP99: { max: '500ms' } },
};

export function release(
  status: Partial<CanaryReleaseStatus> | undefined,
  opts: { generation?: number; annotations?: Record<string, string>; spec?: unknown } = {},
): CanaryReleaseObject {
  const st: CanaryReleaseStatus | undefined = status && {
    observedGeneration: 1,
    release: 'reviews/v1/v3/1.20.3',
    phase: 'Progressing',
    currentStep: 1,
    totalSteps: 4,
    canaryWeight: 25,
    stepStartedAt: T('09:00'),
    consecutiveFailures: 0,
    ...status,
  };
  return {
    apiVersion: 'delivery.cdk8s-mesh.io/v1alpha1',
    kind: 'CanaryRelease',
    metadata: {
      name: 'reviews',
      namespace: 'shop',
      generation: opts.generation ?? 1,
      creationTimestamp: T('00:00'),
      resourceVersion: '42',
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: opts.spec ?? spec,
    ...(st ? { status: st } : {}),
  };
}

export const measured: Partial<CanaryReleaseStatus> = {
  successRate: 99.7123,
  lastCheckAt: T('09:50'),
  lastCheckPassed: true,
  lastMeasurements: [
    { name: 'request-success-rate', result: 'Pass', value: 99.7123 },
    { name: 'request-duration-p99', result: 'Pass', value: 12.44 },
  ],
  message: 'step 1/4 (setWeight 25): waiting for the first check of this step',
  conditions: [
    {
      type: 'Valid',
      status: 'True',
      observedGeneration: 1,
      lastTransitionTime: T('00:01'),
      reason: 'SpecValid',
      message: 'the spec is valid and its route exists',
    },
  ],
  history: [
    {
      time: T('00:01'),
      phase: 'Progressing',
      step: 0,
      canaryWeight: 10,
      reason: 'Started',
      message: 'the release starts',
    },
    {
      time: T('09:00'),
      phase: 'Progressing',
      step: 1,
      canaryWeight: 25,
      reason: 'StepAdvanced',
      message: 'step 1/4: setWeight 25',
    },
  ],
};
