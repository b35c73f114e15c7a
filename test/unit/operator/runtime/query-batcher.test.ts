/**
 * Built-in metric requests that arrive within the window and share metric, interval and reporter
 * go out as one grouped query; each caller gets its own workload's answer. Against the real
 * Prometheus: `test/integration/prometheus-adapter.test.ts` (grouped and one-workload queries
 * agree).
 */
import type { BuiltinMetric, MetricResult, QueryVars } from '../../../../operator/adapters/prometheus.js';
import { ok } from '../../../../operator/core/result.js';
import { QueryBatcher, type GroupingMetrics } from '../../../../operator/runtime/query-batcher.js';
import { FakeClock } from './fake-clock.js';

/** Answers every workload with its name's length; records what was sent. */
class FakeProvider implements GroupingMetrics {
  readonly sent: string[] = [];
  async query(promql: string): Promise<MetricResult> {
    this.sent.push(`query ${promql}`);
    return ok(1);
  }
  async builtin(metric: BuiltinMetric, vars: QueryVars): Promise<MetricResult> {
    this.sent.push(`${metric} ${vars.workload}`);
    return ok(vars.workload.length);
  }
  async builtinMany(metric: BuiltinMetric, many: readonly QueryVars[]): Promise<MetricResult[]> {
    this.sent.push(`${metric} [${many.map((v) => v.workload).join(',')}]`);
    return many.map((v) => ok(v.workload.length));
  }
}

const vars = (workload: string, interval = '1m', reporter?: 'source'): QueryVars => ({
  namespace: 'shop',
  workload,
  interval,
  ...(reporter ? { reporter } : {}),
});

test('requests within the window that share metric, interval and reporter are one query; each gets its own answer', async () => {
  const clock = new FakeClock();
  const provider = new FakeProvider();
  const b = new QueryBatcher(provider, { clock, windowMs: 100 });
  const answers = Promise.all([
    b.builtin('request-success-rate', vars('a-v2')),
    b.builtin('request-success-rate', vars('bb-v2')),
    b.builtin('request-duration', vars('ccc-v2')),
    b.builtin('request-success-rate', vars('dddd-v2', '30s')),
    b.builtin('request-success-rate', vars('eeeee-v2', '1m', 'source')),
    b.query('vector(1)'),
  ]);
  expect(provider.sent).toStrictEqual(['query vector(1)']); // custom queries are not held
  await clock.advance(100);
  expect(await answers).toStrictEqual([ok(4), ok(5), ok(6), ok(7), ok(8), ok(1)]);
  expect(provider.sent.sort()).toStrictEqual([
    'query vector(1)',
    'request-duration ccc-v2',
    'request-success-rate [a-v2,bb-v2]',
    'request-success-rate dddd-v2',
    'request-success-rate eeeee-v2',
  ]);
  expect(b.sent).toStrictEqual({ queries: 4, requests: 5 });
});

test('a group larger than maxGroup is split; a request after the window starts a new group', async () => {
  const clock = new FakeClock();
  const provider = new FakeProvider();
  const b = new QueryBatcher(provider, { clock, windowMs: 50, maxGroup: 2 });
  const first = Promise.all(['a', 'b', 'c'].map((w) => b.builtin('request-duration', vars(w))));
  await clock.advance(50);
  await first;
  const later = b.builtin('request-duration', vars('d'));
  await clock.advance(50);
  await later;
  expect(provider.sent).toStrictEqual(['request-duration [a,b]', 'request-duration c', 'request-duration d']);
});
