/** The operator runtime: start it in-process with `startOperator`. */
export {
  startOperator,
  type OperatorHandle,
  type OperatorOptions,
  type LeaderElectionOptions,
} from './operator.js';
export { WorkQueue, type Handler, type HandlerResult, type WorkQueueOptions } from './workqueue.js';
export {
  LeaderElector,
  leaseStep,
  releasedRecord,
  type LeaseRecord,
  type LeaseStep,
  type Observed,
} from './leader-election.js';
export { Informer, collectionPath } from './informers.js';
export { Reconciler, ReconcileError, routeTarget, type ReconcileReport } from './reconciler.js';
export { createLogger, silentLogger, type Logger, type LogEntry, type Level } from './log.js';
export { OperatorMetrics } from './metrics.js';
export { systemClock, type Clock } from './clock.js';
