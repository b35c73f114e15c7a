/**
 * runCheck: one analysis check over literal observations: the built-in SLOs, the comparison with
 * stable, custom metrics, and a fault test's own SLOs replacing the built-in ones.
 */
import { Analysis } from '../../../api/v1alpha1/canary-release.js';
import { runCheck } from '../../../operator/core/analysis.js';
import type { MetricObservation, MetricValue } from '../../../operator/core/types.js';

const v = (value: number): MetricValue => ({ kind: 'Value', value });
const noData: MetricValue = { kind: 'NoData' };
const analysis = (input: unknown) => Analysis.parse(input);
const obs = (canary: MetricValue, stable?: MetricValue): MetricObservation => ({
  canary,
  ...(stable ? { stable } : {}),
});

describe('runCheck', () => {
  test('compareToStable.maxLatencyIncrease: the canary p99 may exceed stable by at most the percentage', () => {
    const a = analysis({ successRate: { min: 90 }, compareToStable: { maxLatencyIncrease: 20 } });
    const within = runCheck(a, undefined, {
      'request-success-rate': obs(v(100)),
      'request-duration-p99': obs(v(120), v(100)),
    });
    expect(within.outcome).toBe('Pass');
    expect(within.measurements).toContainEqual({
      name: 'request-duration-p99-vs-stable',
      result: 'Pass',
      value: 120,
      stableValue: 100,
    });
    const beyond = runCheck(a, undefined, {
      'request-success-rate': obs(v(100)),
      'request-duration-p99': obs(v(121), v(100)),
    });
    expect(beyond.outcome).toBe('Fail');
    expect(beyond.measurements).toContainEqual({
      name: 'request-duration-p99-vs-stable',
      result: 'Fail',
      value: 121,
      stableValue: 100,
      message: "canary p99 latency 121ms is more than 20% above stable's 100ms",
    });
  });

  test('a comparison without stable data is missing data, never a pass', () => {
    const a = analysis({ successRate: { min: 90 }, compareToStable: { maxLatencyIncrease: 20 } });
    const r = runCheck(a, undefined, {
      'request-success-rate': obs(v(100)),
      'request-duration-p99': obs(v(50), noData),
    });
    expect(r.outcome).toBe('Missing');
    expect(r.measurements).toContainEqual({
      name: 'request-duration-p99-vs-stable',
      result: 'NoData',
      value: 50,
      message: 'stable p99 latency: no data',
    });
  });

  test('compareToStable.maxSuccessRateDrop: points below stable', () => {
    const a = analysis({ successRate: { min: 90 }, compareToStable: { maxSuccessRateDrop: 1 } });
    const r = runCheck(a, undefined, { 'request-success-rate': obs(v(97.5), v(99)) });
    expect(r.outcome).toBe('Fail');
    expect(r.measurements.map((m) => [m.name, m.result])).toStrictEqual([
      ['request-success-rate', 'Pass'],
      ['request-success-rate-vs-stable', 'Fail'],
    ]);
    expect(r.successRate).toBe(97.5);
  });

  test('custom metrics: min and max bounds, each with its own message', () => {
    const a = analysis({
      successRate: { min: 90 },
      metrics: [
        { name: 'budget', query: 'q1', max: 0.5 },
        { name: 'throughput', query: 'q2', min: 10 },
      ],
    });
    const r = runCheck(a, undefined, {
      'request-success-rate': obs(v(100)),
      budget: obs(v(0.75)),
      throughput: obs(v(3)),
    });
    expect(r.measurements.filter((m) => m.result === 'Fail').map((m) => m.message)).toStrictEqual([
      'budget is 0.75, above the maximum 0.5',
      'throughput is 3, below the minimum 10',
    ]);
  });

  test("a fault test's SLOs replace the built-in ones and the comparison with stable", () => {
    const a = analysis({
      successRate: { min: 99 },
      latencyP99: { max: '100ms' },
      compareToStable: { maxSuccessRateDrop: 1 },
    });
    const r = runCheck(
      a,
      { faultTest: { abort: { httpStatus: 503, percentage: 10 }, duration: '1m', successRate: { min: 80 } } },
      { 'request-success-rate': obs(v(88), v(100)), 'request-duration-p99': obs(v(900)) },
    );
    expect(r.outcome).toBe('Pass');
    expect(r.measurements.map((m) => [m.name, m.result])).toStrictEqual([['request-success-rate', 'Pass']]);
  });
});
