/**
 * Reading the operator's timings from its flags and environment variables: the three of leader
 * election and the apiserver request timeout. The rules they must keep live in
 * `api/operator-timings.ts`, shared with the `CanaryOperator` construct, which checks the same
 * values at synth.
 */
import { parseDuration } from '../../api/duration.js';
import {
  DEFAULT_LEASE_TIMINGS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  leaseTimingsProblem,
  requestTimeoutProblem,
  type LeaseTimingNames,
  type LeaseTimings,
} from '../../api/operator-timings.js';
import { err, ok, type Result } from '../core/result.js';

export {
  DEFAULT_LEASE_TIMINGS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  JITTER_FACTOR,
  MAX_LEASE_DURATION_MS,
  MIN_RETRY_PERIOD_MS,
  type LeaseTimingNames,
  type LeaseTimings,
} from '../../api/operator-timings.js';

export const FLAG_NAMES: LeaseTimingNames = {
  leaseDuration: '--lease-duration',
  renewDeadline: '--renew-deadline',
  retryPeriod: '--retry-period',
};

/** Checks the rules between the three timings; the message names each by `names`. */
export function checkLeaseTimings(
  t: LeaseTimings,
  names: LeaseTimingNames = FLAG_NAMES,
): Result<LeaseTimings, string> {
  const problem = leaseTimingsProblem(t, names);
  return problem === undefined ? ok(t) : err(problem.message);
}

/** Reads one positive Go duration (`15s`, `1m`, `500ms`) as whole milliseconds. */
function readDuration(text: string, name: string): Result<number, string> {
  const d = parseDuration(text.trim());
  if (!d.ok || d.ms <= 0)
    return err(
      `${name} must be a positive duration such as 15s, 1m or 500ms (got "${text}")${d.ok ? '' : `: ${d.error}`}`,
    );
  return ok(Math.round(d.ms));
}

/**
 * Reads the timings as given (Go duration text, e.g. `15s`, `1m`, `500ms`); a missing one takes
 * its default. Then checks them together.
 */
export function parseLeaseTimings(
  texts: {
    readonly leaseDuration?: string | undefined;
    readonly renewDeadline?: string | undefined;
    readonly retryPeriod?: string | undefined;
  },
  names: LeaseTimingNames = FLAG_NAMES,
): Result<LeaseTimings, string> {
  const read = (key: keyof LeaseTimingNames, fallback: number): Result<number, string> => {
    const text = texts[key];
    return text === undefined ? ok(fallback) : readDuration(text, names[key]);
  };
  const lease = read('leaseDuration', DEFAULT_LEASE_TIMINGS.leaseDurationMs);
  if (!lease.ok) return lease;
  const renew = read('renewDeadline', DEFAULT_LEASE_TIMINGS.renewDeadlineMs);
  if (!renew.ok) return renew;
  const retry = read('retryPeriod', DEFAULT_LEASE_TIMINGS.retryPeriodMs);
  if (!retry.ok) return retry;
  return checkLeaseTimings(
    { leaseDurationMs: lease.value, renewDeadlineMs: renew.value, retryPeriodMs: retry.value },
    names,
  );
}

/**
 * Reads the apiserver request timeout (Go duration text); missing, it takes
 * {@link DEFAULT_REQUEST_TIMEOUT_MS}. `name` is the flag or variable it came from.
 */
export function parseRequestTimeout(
  text: string | undefined,
  name = '--request-timeout',
): Result<number, string> {
  if (text === undefined) return ok(DEFAULT_REQUEST_TIMEOUT_MS);
  const ms = readDuration(text, name);
  if (!ms.ok) return ms;
  const problem = requestTimeoutProblem(ms.value, name);
  return problem === undefined ? ms : err(problem);
}
