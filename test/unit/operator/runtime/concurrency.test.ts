import { defaultConcurrency, parseConcurrency } from '../../../../operator/runtime/concurrency.js';

describe('concurrency', () => {
  test('the default is 64 reconciles at once, whatever the CPU count (they wait, they do not compute)', () => {
    expect(defaultConcurrency()).toBe(64);
  });

  test('a whole number from 1 to 256 is taken as given', () => {
    expect(['1', '32', ' 256 '].map((t) => parseConcurrency(t, '--concurrency'))).toStrictEqual([
      { ok: true, value: 1 },
      { ok: true, value: 32 },
      { ok: true, value: 256 },
    ]);
  });

  test.each(['0', '257', '-3', '2.5', 'many', '', '1e3'])(
    'fails if it is "%s", naming where it came from',
    (t) => {
      const r = parseConcurrency(t, 'CONCURRENCY');
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.error).toMatch(
          new RegExp(
            `^CONCURRENCY must be a whole number of releases reconciled at once, from 1 to 256 \\(got "${t.replace('.', '\\.')}"\\); leave it unset for the default, \\d+ on this machine$`,
          ),
        );
    },
  );
});
