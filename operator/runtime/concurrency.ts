/**
 * How many releases the operator reconciles at the same time. A reconcile mostly waits (on the
 * apiserver and on Prometheus, whose checks are batched over a short window), so the number of
 * reconciles in flight, not the CPU, sets how many releases one leader keeps on time. Measured with
 * `npm run bench -- scale` on 2 CPUs, 2,000 releases checked every 5 s: with 16 at once each
 * release was checked every 15.7 s (p95 19.3 s) while the operator used 13 % of one core; with 64,
 * every 5.0 s (p95 5.05 s) at 30 % of one core. So the default is 64 on any machine, and
 * `--concurrency` (up to 256) is there for fleets larger than that.
 */
import { err, ok, type Result } from '../core/result.js';

/** The most releases reconciled at once that the operator accepts. */
export const MAX_CONCURRENCY = 256;

/** The default number of releases reconciled at once (see above for why it is not per CPU). */
export const DEFAULT_CONCURRENCY = 64;

/** The default: {@link DEFAULT_CONCURRENCY}. */
export function defaultConcurrency(): number {
  return DEFAULT_CONCURRENCY;
}

/** `--concurrency` / `CONCURRENCY` as given: a whole number from 1 to {@link MAX_CONCURRENCY}. */
export function parseConcurrency(text: string, where: string): Result<number, string> {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_CONCURRENCY) return ok(n);
  return err(
    `${where} must be a whole number of releases reconciled at once, from 1 to ${MAX_CONCURRENCY} (got "${text}"); leave it unset for the default, ${defaultConcurrency()} on this machine`,
  );
}
