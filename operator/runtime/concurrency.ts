/**
 * How many releases the operator reconciles at the same time. A reconcile mostly waits (on the
 * apiserver and on Prometheus), so the default is several per CPU the process may use, bounded so
 * one replica does not flood either.
 */
import { availableParallelism } from 'node:os';
import { err, ok, type Result } from '../core/result.js';

/** The most releases reconciled at once that the operator accepts. */
export const MAX_CONCURRENCY = 256;

/** The default: 8 reconciles per available CPU, between 4 and 64. */
export function defaultConcurrency(cpus: number = availableParallelism()): number {
  return Math.min(64, Math.max(4, 8 * Math.max(1, Math.floor(cpus))));
}

/** `--concurrency` / `CONCURRENCY` as given: a whole number from 1 to {@link MAX_CONCURRENCY}. */
export function parseConcurrency(text: string, where: string): Result<number, string> {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_CONCURRENCY) return ok(n);
  return err(
    `${where} must be a whole number of releases reconciled at once, from 1 to ${MAX_CONCURRENCY} (got "${text}"); leave it unset for the default, ${defaultConcurrency()} on this machine`,
  );
}
