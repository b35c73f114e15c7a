import * as k8s from '@kubernetes/client-node';
import {
  DEFAULT_LEASE_TIMINGS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  parseLeaseTimings,
  parseRequestTimeout,
} from '../../../../operator/runtime/lease-timings.js';
import { setWatchIdleTimeout } from '../../../../operator/runtime/informers.js';

describe('lease timings', () => {
  test("none given: client-go's defaults, 15s / 10s / 2s", () => {
    expect(parseLeaseTimings({})).toStrictEqual({ ok: true, value: DEFAULT_LEASE_TIMINGS });
    expect(DEFAULT_LEASE_TIMINGS).toStrictEqual({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
  });

  test.each<[string, { leaseDuration?: string; renewDeadline?: string; retryPeriod?: string }, number[]]>([
    [
      'short, for tests',
      { leaseDuration: '5s', renewDeadline: '3s', retryPeriod: '500ms' },
      [5000, 3000, 500],
    ],
    [
      'long, for a busy apiserver',
      { leaseDuration: '1m', renewDeadline: '40s', retryPeriod: '5s' },
      [60_000, 40_000, 5000],
    ],
    ['one given, the others default', { leaseDuration: '30s' }, [30_000, 10_000, 2000]],
    [
      'Go grammar, spaces trimmed',
      { leaseDuration: ' 1m30s ', renewDeadline: '0.5m', retryPeriod: '0.25s' },
      [90_000, 30_000, 250],
    ],
    [
      'the tightest the rules allow',
      { leaseDuration: '1s', renewDeadline: '999ms', retryPeriod: '100ms' },
      [1000, 999, 100],
    ],
    ['the longest lease', { leaseDuration: '1h' }, [3_600_000, 10_000, 2000]],
  ])('%s', (_, texts, [lease, renew, retry]) => {
    expect(parseLeaseTimings(texts)).toStrictEqual({
      ok: true,
      value: { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry },
    });
  });

  test.each<[string, { leaseDuration?: string; renewDeadline?: string; retryPeriod?: string }, string]>([
    [
      'not a duration',
      { leaseDuration: '15' },
      '--lease-duration must be a positive duration such as 15s, 1m or 500ms (got "15"): time: missing unit in duration "15"',
    ],
    [
      'a unit Go does not know',
      { retryPeriod: '1d' },
      '--retry-period must be a positive duration such as 15s, 1m or 500ms (got "1d"): time: unknown unit "d" in duration "1d"',
    ],
    [
      'zero',
      { renewDeadline: '0s' },
      '--renew-deadline must be a positive duration such as 15s, 1m or 500ms (got "0s")',
    ],
    [
      'negative',
      { renewDeadline: '-1s' },
      '--renew-deadline must be a positive duration such as 15s, 1m or 500ms (got "-1s")',
    ],
    [
      'a lease of a fraction of a second',
      { leaseDuration: '1500ms', renewDeadline: '1s', retryPeriod: '200ms' },
      '--lease-duration must be whole seconds from 1s to 1h (got 1500ms): the Lease stores it as leaseDurationSeconds',
    ],
    [
      'a lease longer than an hour',
      { leaseDuration: '2h' },
      '--lease-duration must be whole seconds from 1s to 1h (got 7200s): the Lease stores it as leaseDurationSeconds',
    ],
    [
      'a retry period below 100ms',
      { retryPeriod: '50ms' },
      '--retry-period must be at least 100ms (got 50ms): every replica reads and writes the Lease this often',
    ],
    [
      'a renew deadline as long as the lease',
      { leaseDuration: '10s' },
      '--renew-deadline (10s) must be shorter than --lease-duration (10s): a leader that cannot renew must stop acting before another replica may take over',
    ],
    [
      'a retry period too close to the renew deadline',
      { renewDeadline: '2s' },
      '--renew-deadline (2s) must be longer than 1.2 × --retry-period (2s): the leader needs more than one try to renew before it gives up',
    ],
  ])('fails if %s', (_, texts, message) => {
    expect(parseLeaseTimings(texts)).toStrictEqual({ ok: false, error: message });
  });

  test('messages name where each timing came from', () => {
    expect(
      parseLeaseTimings(
        { leaseDuration: '5s', renewDeadline: '6s' },
        { leaseDuration: 'LEASE_DURATION', renewDeadline: '--renew-deadline', retryPeriod: 'RETRY_PERIOD' },
      ),
    ).toStrictEqual({
      ok: false,
      error:
        '--renew-deadline (6s) must be shorter than LEASE_DURATION (5s): a leader that cannot renew must stop acting before another replica may take over',
    });
  });
});

describe('request timeout', () => {
  test('none given: 30s', () => {
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(parseRequestTimeout(undefined)).toStrictEqual({ ok: true, value: 30_000 });
  });

  test.each<[string, number]>([
    ['10s', 10_000],
    ['1s', 1000],
    ['1m30s', 90_000],
    ['10m', 600_000],
    [' 2.5s ', 2500],
  ])('%s', (text, ms) => {
    expect(parseRequestTimeout(text)).toStrictEqual({ ok: true, value: ms });
  });

  test.each<[string, string, string]>([
    [
      'not a duration',
      '30',
      '--request-timeout must be a positive duration such as 15s, 1m or 500ms (got "30"): time: missing unit in duration "30"',
    ],
    ['zero', '0s', '--request-timeout must be a positive duration such as 15s, 1m or 500ms (got "0s")'],
    [
      'shorter than a second',
      '500ms',
      '--request-timeout must be from 1s to 600s (got 500ms): every request to the apiserver is abandoned after it, so a shorter one fails ordinary answers and a longer one lets a hung connection hold a release',
    ],
    [
      'longer than 10 minutes',
      '11m',
      '--request-timeout must be from 1s to 600s (got 660s): every request to the apiserver is abandoned after it, so a shorter one fails ordinary answers and a longer one lets a hung connection hold a release',
    ],
  ])('fails if %s', (_, text, message) => {
    expect(parseRequestTimeout(text)).toStrictEqual({ ok: false, error: message });
  });

  test('the message names the environment variable when it came from there', () => {
    expect(parseRequestTimeout('1d', 'REQUEST_TIMEOUT')).toStrictEqual({
      ok: false,
      error:
        'REQUEST_TIMEOUT must be a positive duration such as 15s, 1m or 500ms (got "1d"): time: unknown unit "d" in duration "1d"',
    });
  });
});

describe("client-node's watch idle timeout", () => {
  test('is the field setWatchIdleTimeout sets (fails when a client-node upgrade renames it)', () => {
    const watch = new k8s.Watch(new k8s.KubeConfig());
    const field = () => (watch as unknown as Record<string, unknown>).requestTimeoutMs;
    expect(field()).toBe(30_000); // client-node's own default: the field exists as named
    setWatchIdleTimeout(watch, 90_000);
    expect(field()).toBe(90_000);
  });
});
