/**
 * The three timings of leader election, as client-go names them, and the rules they must keep:
 * - lease duration: how long a replica waits, on its own clock, after it last saw the Lease change
 *   before it takes the Lease over. Stored in `Lease.spec.leaseDurationSeconds`, so whole seconds.
 * - renew deadline: how long the leader keeps acting while its renewals fail. Shorter than the
 *   lease duration, so a leader that cannot renew stops acting before anyone may take over.
 * - retry period: how often every replica tries to take or renew the Lease. Candidates wait up to
 *   1.2 times it (jitter, as client-go's JitterFactor), and the leader must get more than one try
 *   in before its renew deadline.
 */
import { parseDuration } from '../../api/duration.js';
import { err, ok, type Result } from '../core/result.js';

export interface LeaseTimings {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** client-go's defaults for controllers (kube-controller-manager's `--leader-elect-*`). */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Candidates wait up to this factor of the retry period between tries (client-go's JitterFactor). */
export const JITTER_FACTOR = 1.2;
/** The shortest retry period accepted: each try is a GET and a PUT on the apiserver. */
export const MIN_RETRY_PERIOD_MS = 100;
/** The longest lease duration accepted: a crashed leader holds releases up for this long. */
export const MAX_LEASE_DURATION_MS = 3_600_000;

/** Where each timing came from, for messages: a flag or an environment variable. */
export interface LeaseTimingNames {
  readonly leaseDuration: string;
  readonly renewDeadline: string;
  readonly retryPeriod: string;
}

export const FLAG_NAMES: LeaseTimingNames = {
  leaseDuration: '--lease-duration',
  renewDeadline: '--renew-deadline',
  retryPeriod: '--retry-period',
};

const show = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** Checks the rules between the three timings; the message names each by `names`. */
export function checkLeaseTimings(
  t: LeaseTimings,
  names: LeaseTimingNames = FLAG_NAMES,
): Result<LeaseTimings, string> {
  const { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = t;
  if (!(lease >= 1000 && lease <= MAX_LEASE_DURATION_MS && lease % 1000 === 0))
    return err(
      `${names.leaseDuration} must be whole seconds from 1s to 1h (got ${show(lease)}): the Lease stores it as leaseDurationSeconds`,
    );
  if (!(retry >= MIN_RETRY_PERIOD_MS))
    return err(
      `${names.retryPeriod} must be at least ${MIN_RETRY_PERIOD_MS}ms (got ${show(retry)}): every replica reads and writes the Lease this often`,
    );
  if (!(renew < lease))
    return err(
      `${names.renewDeadline} (${show(renew)}) must be shorter than ${names.leaseDuration} (${show(lease)}): a leader that cannot renew must stop acting before another replica may take over`,
    );
  if (!(retry * JITTER_FACTOR < renew))
    return err(
      `${names.renewDeadline} (${show(renew)}) must be longer than ${JITTER_FACTOR} × ${names.retryPeriod} (${show(retry)}): the leader needs more than one try to renew before it gives up`,
    );
  return ok(t);
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
    if (text === undefined) return ok(fallback);
    const d = parseDuration(text.trim());
    if (!d.ok || d.ms <= 0)
      return err(
        `${names[key]} must be a positive duration such as 15s, 1m or 500ms (got "${text}")${d.ok ? '' : `: ${d.error}`}`,
      );
    return ok(Math.round(d.ms));
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
