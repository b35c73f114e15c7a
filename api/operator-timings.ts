/**
 * The operator's timings and the rules they must keep, in one place for the two that check them:
 * the operator process (its flags and environment variables, at start) and the `CanaryOperator`
 * construct (its props, at synth). Values are milliseconds; `names` say where each came from (a
 * flag, an environment variable or a prop), so each message names what the user wrote.
 *
 * Leader election, as client-go names its three timings:
 * - lease duration: how long a replica waits, on its own clock, after it last saw the Lease change
 *   before it takes the Lease over. Stored in `Lease.spec.leaseDurationSeconds`, so whole seconds.
 * - renew deadline: how long the leader keeps acting while its renewals fail. Shorter than the
 *   lease duration, so a leader that cannot renew stops acting before anyone may take over.
 * - retry period: how often every replica tries to take or renew the Lease. Candidates wait up to
 *   1.2 times it (jitter, as client-go's JitterFactor), and the leader must get more than one try
 *   in before its renew deadline.
 *
 * Request timeout: the longest any single non-watch request to the apiserver may take, from
 * sending it to the last byte of the answer (client-go's `rest.Config.Timeout`, kubectl's
 * `--request-timeout`). A request past it is abandoned and counts as the apiserver being
 * unavailable, so a connection the apiserver accepted and never answers cannot stall a reconcile.
 */

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

/** Default request timeout: a LIST of thousands of objects fits well inside it, a hang does not last. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** The shortest request timeout accepted: below it, a busy apiserver's ordinary answers would fail. */
export const MIN_REQUEST_TIMEOUT_MS = 1_000;
/** The longest request timeout accepted: a hung request holds its release for this long. */
export const MAX_REQUEST_TIMEOUT_MS = 600_000;

/** Where each lease timing came from, for messages: a flag, an environment variable or a prop. */
export interface LeaseTimingNames {
  readonly leaseDuration: string;
  readonly renewDeadline: string;
  readonly retryPeriod: string;
}

/** A duration in milliseconds as the user would write it: `15s`, `1500ms`. */
export const showMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** A broken rule: the timing to change and what is wrong. */
export interface TimingProblem<K extends string = string> {
  readonly field: K;
  readonly message: string;
}

/** What is wrong with the three lease timings together, or `undefined` when they keep every rule. */
export function leaseTimingsProblem(
  t: LeaseTimings,
  names: LeaseTimingNames,
): TimingProblem<keyof LeaseTimingNames> | undefined {
  const { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = t;
  if (!(lease >= 1000 && lease <= MAX_LEASE_DURATION_MS && lease % 1000 === 0))
    return {
      field: 'leaseDuration',
      message: `${names.leaseDuration} must be whole seconds from 1s to 1h (got ${showMs(lease)}): the Lease stores it as leaseDurationSeconds`,
    };
  if (!(retry >= MIN_RETRY_PERIOD_MS))
    return {
      field: 'retryPeriod',
      message: `${names.retryPeriod} must be at least ${MIN_RETRY_PERIOD_MS}ms (got ${showMs(retry)}): every replica reads and writes the Lease this often`,
    };
  if (!(renew < lease))
    return {
      field: 'renewDeadline',
      message: `${names.renewDeadline} (${showMs(renew)}) must be shorter than ${names.leaseDuration} (${showMs(lease)}): a leader that cannot renew must stop acting before another replica may take over`,
    };
  if (!(retry * JITTER_FACTOR < renew))
    return {
      field: 'renewDeadline',
      message: `${names.renewDeadline} (${showMs(renew)}) must be longer than ${JITTER_FACTOR} × ${names.retryPeriod} (${showMs(retry)}): the leader needs more than one try to renew before it gives up`,
    };
  return undefined;
}

/** What is wrong with a request timeout, or `undefined` when it is in bounds. */
export function requestTimeoutProblem(ms: number, name: string): string | undefined {
  if (!(ms >= MIN_REQUEST_TIMEOUT_MS && ms <= MAX_REQUEST_TIMEOUT_MS))
    return `${name} must be from ${showMs(MIN_REQUEST_TIMEOUT_MS)} to ${showMs(MAX_REQUEST_TIMEOUT_MS)} (got ${showMs(ms)}): every request to the apiserver is abandoned after it, so a shorter one fails ordinary answers and a longer one lets a hung connection hold a release`;
  return undefined;
}
