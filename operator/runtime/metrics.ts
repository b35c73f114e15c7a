/**
 * The operator's own metrics, on its `/metrics` page (prom-client). One registry per operator
 * instance, so that several can run in one process (tests of leader election do).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileSeconds: Histogram<'result'>;
  readonly conflicts: Counter<'object'>;
  readonly routeWrites: Counter<'result'>;
  readonly statusWrites: Counter<'result'>;
  readonly events: Counter<'type' | 'reason'>;
  readonly webhooks: Counter<'result'>;
  readonly analyses: Counter;
  readonly decisions: Counter<'outcome'>;
  readonly leader: Gauge;
  readonly queueDepth: Gauge;
  readonly watchRestarts: Counter<'resource'>;
  readonly cacheReads: Counter<'resource' | 'result'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: 'canary_operator_reconcile_total',
      help: 'Reconciles of CanaryReleases by result (ok, error, conflict-exhausted).',
      labelNames: ['result'],
      registers,
    });
    this.reconcileSeconds = new Histogram({
      name: 'canary_operator_reconcile_duration_seconds',
      help: 'Time of one reconcile: read, observe (route, readiness, Prometheus), decide, write.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.conflicts = new Counter({
      name: 'canary_operator_conflicts_total',
      help: 'Writes refused because the object changed since it was read (re-observed and decided again).',
      labelNames: ['object'],
      registers,
    });
    this.routeWrites = new Counter({
      name: 'canary_operator_route_writes_total',
      help: 'VirtualService patches by result.',
      labelNames: ['result'],
      registers,
    });
    this.statusWrites = new Counter({
      name: 'canary_operator_status_writes_total',
      help: 'Status patches by result (written, unchanged: skipped, gone: the release was deleted since it was read, error).',
      labelNames: ['result'],
      registers,
    });
    this.events = new Counter({
      name: 'canary_operator_events_total',
      help: 'Kubernetes Events recorded, by type and reason.',
      labelNames: ['type', 'reason'],
      registers,
    });
    this.webhooks = new Counter({
      name: 'canary_operator_webhook_notifications_total',
      help: 'Webhook notifications by result (ok, error, timeout).',
      labelNames: ['result'],
      registers,
    });
    this.analyses = new Counter({
      name: 'canary_operator_analysis_queries_total',
      help: 'Reconciles that queried Prometheus because an analysis check was due.',
      registers,
    });
    this.decisions = new Counter({
      name: 'canary_operator_releases_finished_total',
      help: 'Releases that finished, by outcome (Promoted, RolledBack).',
      labelNames: ['outcome'],
      registers,
    });
    this.leader = new Gauge({
      name: 'canary_operator_leader',
      help: '1 while this replica holds the Lease and acts.',
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'canary_operator_workqueue_depth',
      help: 'Releases waiting to be reconciled.',
      registers,
    });
    this.watchRestarts = new Counter({
      name: 'canary_operator_watch_restarts_total',
      help: 'Watches restarted after a failure, by resource.',
      labelNames: ['resource'],
      registers,
    });
    this.cacheReads = new Counter({
      name: 'canary_operator_cache_reads_total',
      help: 'Reads of one object by resource and result: hit (from the informer cache) or miss (a GET, because the cache had not caught up with a version this process wrote or read, or the read had to be fresh).',
      labelNames: ['resource', 'result'],
      registers,
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
