/**
 * The one duration parser, row by row against what Go's `time.ParseDuration` answers (the
 * grammar Istio decodes its Duration fields with), including the CanaryRelease subset.
 */
import { durationMs, parseDuration } from '../../../api/duration.js';
import { Duration } from '../../../api/v1alpha1/canary-release.js';

describe('parseDuration', () => {
  test.each<[string, number]>([
    // the CanaryRelease subset: digits and ms/s/m/h, compound
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['0s', 0],
    // what Istio accepts beyond it (protobuf Duration decoded with time.ParseDuration)
    ['0.5s', 500],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['7s', 7000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['5.s', 5000],
    ['1500us', 1.5],
    ['1500\u00b5s', 1.5],
    ['1500\u03bcs', 1.5],
    ['2000000ns', 2],
    ['1h1m1s1ms', 3_661_001],
    ['0', 0],
    ['+2s', 2000],
    ['-5s', -5000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toStrictEqual({ ok: true, ms });
    expect(durationMs(text)).toBe(ms);
  });

  test.each<[string, string, string]>([
    ['a day unit', '1d', 'time: unknown unit "d" in duration "1d"'],
    ['a bare number', '5', 'time: missing unit in duration "5"'],
    ['a trailing number', '1s2', 'time: missing unit in duration "1s2"'],
    ['empty', '', 'time: invalid duration ""'],
    ['a lone sign', '-', 'time: invalid duration "-"'],
    ['a unit without digits', 's', 'time: invalid duration "s"'],
    ['a dot without digits', '.s', 'time: invalid duration ".s"'],
    ['surrounded by spaces', ' 5s', 'time: invalid duration " 5s"'],
    ['followed by a space', '5s ', 'time: unknown unit "s " in duration "5s "'],
    ['upper-case unit', '5S', 'time: unknown unit "S" in duration "5S"'],
    ['a sign inside', '1h-5m', 'time: unknown unit "h-" in duration "1h-5m"'],
    ['beyond int64 nanoseconds', '2562048h', 'time: invalid duration "2562048h"'],
  ])('fails if %s (%j)', (_why, text, error) => {
    expect(parseDuration(text)).toStrictEqual({ ok: false, error });
    expect(durationMs(text)).toBeUndefined();
  });

  test('a missing value has no duration', () => {
    expect(durationMs(undefined)).toBeUndefined();
  });

  test('every duration the CanaryRelease schema admits reads the same here', () => {
    for (const text of ['250ms', '30s', '5m', '1h30m', '0s', '10m', '1h0m0s500ms']) {
      expect(Duration.safeParse(text).success).toBe(true);
      expect(durationMs(text)).toBeGreaterThanOrEqual(0);
    }
    for (const text of ['1.5s', '-5s', '5', '']) expect(Duration.safeParse(text).success).toBe(false);
  });
});
