/**
 * The one duration parser. Every duration this project reads is written in Go's
 * `time.ParseDuration` grammar: Istio decodes the `google.protobuf.Duration` fields of its CRDs
 * (`timeout: 0.5s`, `fixedDelay: 7s`, `perTryTimeout: 100ms`) with golang/protobuf's jsonpb,
 * which calls `time.ParseDuration` (so `1m30s` and `1.5h` are valid, `1d` is not), and the
 * CRDs' `duration(self) >= duration('1ms')` rule uses the same grammar through CEL. The
 * CanaryRelease schema accepts a narrower subset of it (see `Duration` in
 * `v1alpha1/canary-release.ts`): whatever that schema admits reads the same here.
 *
 * Grammar: `[-+]?` then one or more `<decimal><unit>` (decimal: digits with an optional fraction,
 * `1`, `1.5`, `.5`, `5.`; unit: `ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), or the lone `0`.
 * No spaces. Errors read as Go's do.
 */

const NS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3, // µ (micro sign)
  '\u03bcs': 1e3, // μ (Greek small letter mu)
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's `time.Duration` is an int64 of nanoseconds. */
const MAX_NS = 2 ** 63 - 1;

/** Result of {@link parseDuration}. */
export type DurationResult =
  | {
      readonly ok: true;
      /** Milliseconds (fractional below 1 ms; negative with a `-` sign). */ readonly ms: number;
    }
  | {
      readonly ok: false;
      /** Go's message, e.g. `time: unknown unit "d" in duration "1d"`. */ readonly error: string;
    };

const quote = (s: string) => JSON.stringify(s);

/** Parses `text` as Go's `time.ParseDuration` does. */
export function parseDuration(text: string): DurationResult {
  const invalid = { ok: false, error: `time: invalid duration ${quote(text)}` } as const;
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, ms: 0 };
  if (s === '') return invalid;
  let ns = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [number, whole = '', fraction] = m;
    if (whole === '' && !fraction) return invalid; // no digits, e.g. `.s` or `s`
    s = s.slice(number.length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') return { ok: false, error: `time: missing unit in duration ${quote(text)}` };
    s = s.slice(unit.length);
    const perUnit = NS_PER_UNIT[unit];
    if (perUnit === undefined) {
      return { ok: false, error: `time: unknown unit ${quote(unit)} in duration ${quote(text)}` };
    }
    const digits = (fraction ?? '').slice(0, 18);
    const fractionNs = digits ? Math.trunc((Number(digits) * perUnit) / 10 ** digits.length) : 0;
    ns += Number(whole || '0') * perUnit + fractionNs;
    if (ns > MAX_NS) return invalid;
  }
  return { ok: true, ms: (sign * ns) / 1e6 };
}

/** Milliseconds in a duration; `undefined` when `text` is missing or not a duration. */
export function durationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const r = parseDuration(text);
  return r.ok ? r.ms : undefined;
}
