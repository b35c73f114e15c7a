/** The Retry-After header of a webhook's answer, as the operator reads it before a retry. */
import { retryAfter } from '../../../../operator/runtime/reconciler.js';

describe('retryAfter: when a webhook asks to be called again', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  test.each([
    [null, undefined],
    ['', undefined],
    ['2', 2000],
    [' 0 ', 0],
    ['120', 30_000], // capped
    ['Wed, 25 Nov 2026 10:00:05 GMT', 5000],
    ['Wed, 25 Nov 2026 09:00:00 GMT', 0], // in the past: at once
    ['soon', undefined],
  ])('%j → %j ms', (header, ms) => {
    expect(retryAfter(header, now)).toBe(ms);
  });
});
