/** The pure decision core of the CanaryRelease operator. */
export { analysisDue, decide, releaseKey } from './decide.js';
export { runCheck, type CheckOutcome, type CheckResult } from './analysis.js';
export { planSteps, weightAt, desiredRoutes, describeStep, type DesiredRoutes, type Point } from './plan.js';
export * from './types.js';
