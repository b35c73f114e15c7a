/**
 * One Prometheus query per group of releases that share a query: built-in metric requests that
 * arrive within `windowMs` of each other and share the metric, the `rate()` window and the
 * reporter are sent as one grouped query (`PrometheusProvider.builtinMany`, one series per
 * workload), at most `maxGroup` workloads each. A lone request is sent as the one-workload query.
 * Custom queries are the user's PromQL and go out as they are.
 */
import type { BuiltinMetric, MetricResult, QueryVars } from '../adapters/prometheus.js';
import { systemClock, type Clock } from './clock.js';
import type { AnalysisMetrics } from './ports.js';

/** The provider the batcher sends through. */
export interface GroupingMetrics extends AnalysisMetrics {
  builtinMany(metric: BuiltinMetric, many: readonly QueryVars[]): Promise<MetricResult[]>;
}

export interface QueryBatcherOptions {
  /** How long the first request of a group waits for others. @default 100 */
  readonly windowMs?: number;
  /** Workloads per grouped query at most. @default 100 */
  readonly maxGroup?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

interface Pending {
  readonly vars: QueryVars;
  readonly resolve: (r: MetricResult) => void;
}

export class QueryBatcher implements AnalysisMetrics {
  private readonly groups = new Map<string, { metric: BuiltinMetric; pending: Pending[] }>();
  private readonly windowMs: number;
  private readonly maxGroup: number;
  private readonly clock: Clock;
  /** Queries sent for built-in metrics, and the requests they answered (for metrics and tests). */
  readonly sent = { queries: 0, requests: 0 };

  constructor(
    private readonly provider: GroupingMetrics,
    opts: QueryBatcherOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 100;
    this.maxGroup = Math.max(1, opts.maxGroup ?? 100);
    this.clock = opts.clock ?? systemClock;
  }

  query(promql: string): Promise<MetricResult> {
    return this.provider.query(promql);
  }

  builtin(metric: BuiltinMetric, vars: QueryVars): Promise<MetricResult> {
    const key = `${metric}|${vars.interval}|${vars.reporter ?? 'destination'}`;
    return new Promise((resolve) => {
      const group = this.groups.get(key);
      if (group) {
        group.pending.push({ vars, resolve });
        return;
      }
      this.groups.set(key, { metric, pending: [{ vars, resolve }] });
      this.clock.setTimer(() => void this.flush(key), this.windowMs);
    });
  }

  private async flush(key: string): Promise<void> {
    const group = this.groups.get(key);
    this.groups.delete(key);
    if (!group) return;
    const chunks: Pending[][] = [];
    for (let i = 0; i < group.pending.length; i += this.maxGroup)
      chunks.push(group.pending.slice(i, i + this.maxGroup));
    await Promise.all(
      chunks.map(async (chunk) => {
        this.sent.queries++;
        this.sent.requests += chunk.length;
        if (chunk.length === 1) {
          chunk[0]!.resolve(await this.provider.builtin(group.metric, chunk[0]!.vars));
          return;
        }
        const answers = await this.provider.builtinMany(
          group.metric,
          chunk.map((p) => p.vars),
        );
        chunk.forEach((p, i) => p.resolve(answers[i]!));
      }),
    );
  }
}
