/**
 * Metrics provider on the Prometheus HTTP API, shaped like Flagger's: `query` runs one instant
 * PromQL query that must yield one number, `isOnline` checks that Prometheus answers, and the
 * per-mesh query templates for the built-in metrics live in one table (`QUERY_TEMPLATES`).
 *
 * Every call returns a result value, never throws for an expected failure, and tells "no data"
 * (the query ran, but there is no series or the ratio is 0/0) apart from "query failed" (bad
 * query, Prometheus unreachable or too slow, an answer we cannot read).
 */
import { err, ok, type Result } from '../core/result.js';
import { redactText, redactUrl } from '../../api/redact.js';

/** Service meshes whose standard metrics have templates in `QUERY_TEMPLATES`. */
export type MeshProvider = 'istio';

/**
 * Built-in metrics, named as in Flagger:
 * - `request-success-rate`: percentage (0–100) of requests that did not answer 5xx;
 * - `grpc-request-success-rate`: percentage (0–100) of gRPC requests that answered neither 5xx
 *   nor a gRPC status other than OK (gRPC errors answer HTTP 200 with a `grpc-status`, which
 *   Istio reports as `grpc_response_status`; Kiali counts gRPC errors the same way);
 * - `request-duration`: 99th percentile of the request duration, in milliseconds.
 */
export type BuiltinMetric = 'request-success-rate' | 'grpc-request-success-rate' | 'request-duration';

/** Why a query gave no number. Everything but `no-data` means the query failed. */
export type MetricsErrorKind =
  /** The query ran but matched no series, or the value is NaN (0/0: no requests in the window). */
  | 'no-data'
  /** Prometheus refused the query (parse or execution error), or it returned several series. */
  | 'bad-query'
  /** Prometheus could not be reached or answered with a server error. */
  | 'unavailable'
  /** No complete answer within the timeout. */
  | 'timeout'
  /** Prometheus answered, but not with something this adapter can read. */
  | 'bad-response';

export interface MetricsError {
  readonly kind: MetricsErrorKind;
  /** What happened, for Events and logs; names the Prometheus URL or the query where it helps. */
  readonly message: string;
  /** The PromQL that was sent, when there was one. */
  readonly query?: string;
}

export type MetricResult = Result<number, MetricsError>;

/** Flagger's metrics provider interface, plus the built-in metrics from the mesh's query templates. */
export interface MetricsProvider {
  /** Runs an instant query that must return one number (one series, or a scalar). */
  query(promql: string): Promise<MetricResult>;
  /** Whether the provider answers a trivial query correctly. */
  isOnline(): Promise<Result<true, MetricsError>>;
  /** Renders the template of a built-in metric and runs it. */
  builtin(metric: BuiltinMetric, vars: QueryVars): Promise<MetricResult>;
}

/** Values substituted into a template. */
export interface QueryVars {
  /** Namespace of the workload (`destination_workload_namespace`). */
  readonly namespace: string;
  /** Workload name, usually the Deployment (`destination_workload`), e.g. `reviews-v3`. */
  readonly workload: string;
  /** Range of `rate()`, a Prometheus duration such as `1m` or `30s`. */
  readonly interval: string;
  /**
   * Which proxy's report to read: the server side (`destination`, what Flagger reads) or the
   * client side (`source`, which also sees faults injected at the caller and caller timeouts).
   * @default 'destination'
   */
  readonly reporter?: 'destination' | 'source';
}

/**
 * The query templates, one row per mesh. `{{ namespace }}`, `{{ workload }}`, `{{ interval }}`
 * and `{{ reporter }}` are replaced by `renderQuery` after validation.
 * The Istio rows are Flagger's Istio queries with an exact workload match in place of a regex.
 */
export const QUERY_TEMPLATES: { readonly [M in MeshProvider]: { readonly [K in BuiltinMetric]: string } } = {
  istio: {
    'request-success-rate':
      'sum(rate(istio_requests_total{reporter="{{ reporter }}",destination_workload_namespace="{{ namespace }}",' +
      'destination_workload="{{ workload }}",response_code!~"5.*"}[{{ interval }}])) / ' +
      'sum(rate(istio_requests_total{reporter="{{ reporter }}",destination_workload_namespace="{{ namespace }}",' +
      'destination_workload="{{ workload }}"}[{{ interval }}])) * 100',
    'grpc-request-success-rate':
      'sum(rate(istio_requests_total{reporter="{{ reporter }}",destination_workload_namespace="{{ namespace }}",' +
      'destination_workload="{{ workload }}",request_protocol="grpc",response_code!~"5.*",grpc_response_status="0"}[{{ interval }}])) / ' +
      'sum(rate(istio_requests_total{reporter="{{ reporter }}",destination_workload_namespace="{{ namespace }}",' +
      'destination_workload="{{ workload }}",request_protocol="grpc"}[{{ interval }}])) * 100',
    'request-duration':
      'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="{{ reporter }}",' +
      'destination_workload_namespace="{{ namespace }}",destination_workload="{{ workload }}"}[{{ interval }}])) by (le))',
  },
};

/**
 * The same queries for many workloads at once, one series per workload: the workload and its
 * namespace are matched by `=~` alternatives (`{{ namespaces }}`, `{{ workloads }}`) and the sums
 * are kept per workload (`by (destination_workload_namespace, destination_workload)`), so each
 * series' value is what the one-workload template gives for it. Flagger and Kiali shape their
 * Istio queries the same way.
 */
export const GROUPED_QUERY_TEMPLATES: {
  readonly [M in MeshProvider]: { readonly [K in BuiltinMetric]: string };
} = {
  istio: {
    'request-success-rate':
      'sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{reporter="{{ reporter }}",' +
      'destination_workload_namespace=~"{{ namespaces }}",destination_workload=~"{{ workloads }}",response_code!~"5.*"}[{{ interval }}])) / ' +
      'sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{reporter="{{ reporter }}",' +
      'destination_workload_namespace=~"{{ namespaces }}",destination_workload=~"{{ workloads }}"}[{{ interval }}])) * 100',
    'grpc-request-success-rate':
      'sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{reporter="{{ reporter }}",' +
      'destination_workload_namespace=~"{{ namespaces }}",destination_workload=~"{{ workloads }}",request_protocol="grpc",response_code!~"5.*",grpc_response_status="0"}[{{ interval }}])) / ' +
      'sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{reporter="{{ reporter }}",' +
      'destination_workload_namespace=~"{{ namespaces }}",destination_workload=~"{{ workloads }}",request_protocol="grpc"}[{{ interval }}])) * 100',
    'request-duration':
      'histogram_quantile(0.99, sum by (destination_workload_namespace, destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{reporter="{{ reporter }}",' +
      'destination_workload_namespace=~"{{ namespaces }}",destination_workload=~"{{ workloads }}"}[{{ interval }}])))',
  },
};

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const PROM_DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

/** Fills a template after checking each value, so that no value can change the query's shape. */
export function renderQuery(
  mesh: MeshProvider,
  metric: BuiltinMetric,
  vars: QueryVars,
): Result<string, MetricsError> {
  const template = QUERY_TEMPLATES[mesh]?.[metric];
  if (template === undefined) {
    return err({ kind: 'bad-query', message: `no query template for metric '${metric}' of mesh '${mesh}'` });
  }
  const reporter = vars.reporter ?? 'destination';
  const problems: string[] = [];
  if (!DNS_NAME.test(vars.namespace)) problems.push(`namespace '${vars.namespace}' is not a Kubernetes name`);
  if (!DNS_NAME.test(vars.workload)) problems.push(`workload '${vars.workload}' is not a Kubernetes name`);
  if (!PROM_DURATION.test(vars.interval) || /^0+[a-z]+$/.test(vars.interval)) {
    problems.push(`interval '${vars.interval}' is not a positive Prometheus duration such as '1m' or '30s'`);
  }
  if (reporter !== 'destination' && reporter !== 'source') {
    problems.push(`reporter '${String(reporter)}' must be 'destination' or 'source'`);
  }
  if (problems.length > 0) {
    return err({ kind: 'bad-query', message: `cannot build the ${metric} query: ${problems.join('; ')}` });
  }
  const values: Record<string, string> = {
    namespace: vars.namespace,
    workload: vars.workload,
    interval: vars.interval,
    reporter,
  };
  return ok(template.replace(/\{\{ (\w+) \}\}/g, (_m, key: string) => values[key] ?? ''));
}

/** A regex alternative of exact names (dots escaped) inside a PromQL string. */
const alternatives = (names: Iterable<string>) =>
  [...new Set(names)]
    .sort()
    .map((n) => n.replace(/\./g, '\\\\.'))
    .join('|');

/**
 * Fills a grouped template for `many` workloads that share `metric`, `interval` and `reporter`
 * (checked like {@link renderQuery}).
 */
export function renderGroupedQuery(
  mesh: MeshProvider,
  metric: BuiltinMetric,
  many: readonly QueryVars[],
): Result<string, MetricsError> {
  const template = GROUPED_QUERY_TEMPLATES[mesh]?.[metric];
  const first = many[0];
  if (template === undefined || first === undefined) {
    return err({ kind: 'bad-query', message: `no grouped query for metric '${metric}' of mesh '${mesh}'` });
  }
  for (const v of many) {
    const one = renderQuery(mesh, metric, v);
    if (!one.ok) return one;
    if (v.interval !== first.interval || (v.reporter ?? 'destination') !== (first.reporter ?? 'destination'))
      return err({ kind: 'bad-query', message: 'a grouped query needs one interval and one reporter' });
  }
  const values: Record<string, string> = {
    namespaces: alternatives(many.map((v) => v.namespace)),
    workloads: alternatives(many.map((v) => v.workload)),
    interval: first.interval,
    reporter: first.reporter ?? 'destination',
  };
  return ok(template.replace(/\{\{ (\w+) \}\}/g, (_m, key: string) => values[key] ?? ''));
}

export interface PrometheusProviderOptions {
  /** Base URL of Prometheus, e.g. `http://prometheus.istio-system:9090`. */
  readonly url: string;
  /**
   * Time allowed for one query, answer included; also sent to Prometheus as its query timeout.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /** Extra request headers, e.g. `Authorization`. @default - none */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whose standard metrics the built-in queries read. @default 'istio' */
  readonly mesh?: MeshProvider;
  /** Evaluate every query at this instant (to compare queries on the same data). @default - now */
  readonly at?: Date;
}

/** The built-in metrics of one workload. */
export interface WorkloadMetrics {
  /** Percentage of non-5xx responses, 0–100. */
  readonly successRate: MetricResult;
  /** 99th percentile request duration in milliseconds. */
  readonly latencyP99Ms: MetricResult;
}

/** What an analysis compares: the canary's and the stable version's workloads. */
export interface CanaryTarget {
  readonly namespace: string;
  readonly canary: string;
  readonly stable: string;
  readonly interval: string;
  /** @default 'destination' */
  readonly reporter?: 'destination' | 'source';
}

/** The window of a range query: from `start` to `end`, one point every `stepS` seconds. */
export interface RangeWindow {
  readonly start: Date;
  readonly end: Date;
  readonly stepS: number;
}

/** One sample of a range query: unix seconds and the value. */
export type RangeSample = readonly [number, number];

interface PromResponse {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

export class PrometheusProvider implements MetricsProvider {
  readonly url: string;
  readonly timeoutMs: number;
  readonly mesh: MeshProvider;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly at: Date | undefined;

  constructor(opts: PrometheusProviderOptions) {
    this.at = opts.at;
    this.url = opts.url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.mesh = opts.mesh ?? 'istio';
    this.headers = opts.headers ?? {};
  }

  async query(promql: string): Promise<MetricResult> {
    const answer = await this.instantQuery(promql);
    if (!answer.ok) return answer;
    return readSingleNumber(answer.value, promql);
  }

  async isOnline(): Promise<Result<true, MetricsError>> {
    const res = await this.query('vector(1)');
    if (!res.ok) return res;
    if (res.value !== 1) {
      return err({
        kind: 'bad-response',
        message: `Prometheus at ${redactUrl(this.url)} answered vector(1) with ${res.value}`,
        query: 'vector(1)',
      });
    }
    return ok(true);
  }

  /** Renders the template of a built-in metric and runs it. */
  async builtin(metric: BuiltinMetric, vars: QueryVars): Promise<MetricResult> {
    const promql = renderQuery(this.mesh, metric, vars);
    if (!promql.ok) return promql;
    return this.query(promql.value);
  }

  /**
   * A built-in metric of many workloads in one query ({@link GROUPED_QUERY_TEMPLATES}); the
   * answers in the order of `many`. They must share `interval` and `reporter`.
   */
  async builtinMany(metric: BuiltinMetric, many: readonly QueryVars[]): Promise<MetricResult[]> {
    const promql = renderGroupedQuery(this.mesh, metric, many);
    if (!promql.ok) return many.map(() => promql);
    const answer = await this.instantQuery(promql.value);
    if (!answer.ok) return many.map(() => answer);
    return readPerWorkload(answer.value, promql.value, many);
  }

  /** Success rate and p99 latency of one workload. */
  async measure(vars: QueryVars): Promise<WorkloadMetrics> {
    const [successRate, latencyP99Ms] = await Promise.all([
      this.builtin('request-success-rate', vars),
      this.builtin('request-duration', vars),
    ]);
    return { successRate, latencyP99Ms };
  }

  /** The built-in metrics of the canary and of the stable workload, measured side by side. */
  async compare(target: CanaryTarget): Promise<{ canary: WorkloadMetrics; stable: WorkloadMetrics }> {
    const base = { namespace: target.namespace, interval: target.interval, reporter: target.reporter };
    const [canary, stable] = await Promise.all([
      this.measure({ ...base, workload: target.canary }),
      this.measure({ ...base, workload: target.stable }),
    ]);
    return { canary, stable };
  }

  /**
   * Runs a range query that must yield one series (aggregate it, as the built-in templates do) and
   * returns its samples, oldest first, as `[unix seconds, value]`. Samples that are not numbers
   * (NaN: no requests in that window) are left out; no series at all is an empty list. Bounded by
   * `stepS` as Prometheus bounds it (at most 11,000 points per series).
   */
  async rangeQuery(promql: string, range: RangeWindow): Promise<Result<RangeSample[], MetricsError>> {
    const answer = await this.post('query_range', promql, {
      start: String(range.start.getTime() / 1000),
      end: String(range.end.getTime() / 1000),
      step: `${range.stepS}s`,
    });
    if (!answer.ok) return answer;
    const type = answer.value.data?.resultType;
    const result = answer.value.data?.result;
    if (type !== 'matrix' || !Array.isArray(result))
      return err({
        kind: 'bad-response',
        message: `the range query returned a ${String(type)}, not a range vector`,
        query: promql,
      });
    if (result.length > 1)
      return err({
        kind: 'bad-query',
        message: `the range query returned ${result.length} series; it must return one (aggregate it, e.g. with sum(...))`,
        query: promql,
      });
    const values = ((result[0] as { values?: unknown } | undefined)?.values ?? []) as unknown[];
    const out: RangeSample[] = [];
    for (const v of values) {
      if (!Array.isArray(v) || typeof v[0] !== 'number') continue;
      const n = sampleValue(v[1]);
      if (n !== undefined && Number.isFinite(n)) out.push([v[0], n]);
    }
    return ok(out);
  }

  private instantQuery(promql: string): Promise<Result<PromResponse, MetricsError>> {
    return this.post('query', promql, this.at ? { time: String(this.at.getTime() / 1000) } : {});
  }

  private async post(
    api: 'query' | 'query_range',
    promql: string,
    params: Readonly<Record<string, string>>,
  ): Promise<Result<PromResponse, MetricsError>> {
    const endpoint = `${this.url}/api/v1/${api}`;
    const body = new URLSearchParams({
      query: promql,
      timeout: `${Math.max(1, Math.ceil(this.timeoutMs / 1000))}s`,
      ...params,
    });
    const signal = AbortSignal.timeout(this.timeoutMs);
    let status: number;
    let text: string;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal,
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      return err(transportError(e, endpoint, this.timeoutMs, promql));
    }
    let parsed: PromResponse | undefined;
    try {
      parsed = JSON.parse(text) as PromResponse;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null) {
      const kind: MetricsErrorKind = status >= 500 ? 'unavailable' : 'bad-response';
      return err({
        kind,
        message: redactText(
          `Prometheus at ${redactUrl(endpoint)} answered HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`,
        ),
        query: promql,
      });
    }
    if (parsed.status !== 'success') {
      const errorType = typeof parsed.errorType === 'string' ? parsed.errorType : 'unknown';
      const detail = typeof parsed.error === 'string' ? parsed.error : text.slice(0, 200);
      const kind: MetricsErrorKind =
        errorType === 'timeout' || errorType === 'canceled'
          ? 'timeout'
          : status === 400 || status === 422 || errorType === 'bad_data' || errorType === 'execution'
            ? 'bad-query'
            : 'unavailable';
      return err({
        kind,
        message: redactText(`Prometheus refused the query (HTTP ${status}, ${errorType}): ${detail}`),
        query: promql,
      });
    }
    return ok(parsed);
  }
}

/** Picks each workload's series out of a grouped answer; a workload without one has no data. */
function readPerWorkload(answer: PromResponse, promql: string, many: readonly QueryVars[]): MetricResult[] {
  const result = answer.data?.result;
  if (answer.data?.resultType !== 'vector' || !Array.isArray(result)) {
    const e = err({
      kind: 'bad-response' as const,
      message: `the grouped query returned a ${String(answer.data?.resultType)}, not an instant vector`,
      query: promql,
    });
    return many.map(() => e);
  }
  const byWorkload = new Map<string, unknown>();
  for (const sample of result as { metric?: Record<string, string>; value?: unknown }[]) {
    const m = sample.metric ?? {};
    byWorkload.set(`${m.destination_workload_namespace}/${m.destination_workload}`, sample.value);
  }
  return many.map((v) => {
    const value = byWorkload.get(`${v.namespace}/${v.workload}`);
    if (value === undefined)
      return err({ kind: 'no-data', message: 'the query matched no series', query: promql });
    return readSingleNumber({ data: { resultType: 'vector', result: [{ value }] } }, promql);
  });
}

/** Parses a sample value as Prometheus writes it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`). */
function sampleValue(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  const n = Number(v);
  return v.trim() === '' || Number.isNaN(n) ? undefined : n;
}

function readSingleNumber(answer: PromResponse, promql: string): MetricResult {
  const type = answer.data?.resultType;
  const result = answer.data?.result;
  let raw: unknown;
  if (type === 'scalar') {
    raw = Array.isArray(result) ? result[1] : undefined;
  } else if (type === 'vector' && Array.isArray(result)) {
    if (result.length === 0) {
      return err({ kind: 'no-data', message: 'the query matched no series', query: promql });
    }
    if (result.length > 1) {
      return err({
        kind: 'bad-query',
        message: `the query returned ${result.length} series; it must return one (aggregate it, e.g. with sum(...))`,
        query: promql,
      });
    }
    const sample = result[0] as { value?: unknown };
    raw = Array.isArray(sample.value) ? sample.value[1] : undefined;
  } else {
    return err({
      kind: 'bad-query',
      message: `the query returned a ${String(type)}; it must return one number (an instant vector or a scalar)`,
      query: promql,
    });
  }
  const value = sampleValue(raw);
  if (value === undefined) {
    return err({
      kind: 'bad-response',
      message: `the sample value ${JSON.stringify(raw)} is not a number`,
      query: promql,
    });
  }
  if (Number.isNaN(value)) {
    return err({
      kind: 'no-data',
      message: 'the query returned NaN (0/0: no requests in the window)',
      query: promql,
    });
  }
  return ok(value);
}

function transportError(e: unknown, endpoint: string, timeoutMs: number, promql: string): MetricsError {
  const name = (e as { name?: string })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return {
      kind: 'timeout',
      message: `Prometheus at ${redactUrl(endpoint)} did not answer within ${timeoutMs} ms`,
      query: promql,
    };
  }
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e);
  return {
    kind: 'unavailable',
    message: redactText(`Prometheus at ${redactUrl(endpoint)} could not be reached: ${why}`),
    query: promql,
  };
}
