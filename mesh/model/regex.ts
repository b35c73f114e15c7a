/**
 * Istio's regexes, evaluated as Envoy evaluates them: RE2 (`safe_regex`), linear in the input, no
 * backreferences or lookaround, `(?i)` and POSIX classes such as `[[:alpha:]]` supported, matching
 * the whole value. JavaScript's `RegExp` differs in both syntax and worst-case time, so no Istio
 * regex is ever given to it. What RE2 cannot compile is refused, as Istio's validation refuses it.
 */
import { RE2JS } from 're2js';

/** Istio's validation refuses longer regexes (Envoy's program-size limit, approximated by length). */
export const MAX_REGEX_LENGTH = 1024;

export type CompiledRegex =
  | { readonly ok: true; readonly re: RE2JS }
  | {
      readonly ok: false;
      /** What is wrong, as Istio's validation says it. */ readonly error: string;
    };

const cache = new Map<string, CompiledRegex>();
const CACHE_LIMIT = 1000;

/** Compiles an Istio regex with RE2; the same source is compiled once. */
export function compileRegex(source: string): CompiledRegex {
  const known = cache.get(source);
  if (known) return known;
  let out: CompiledRegex;
  if (source === '') out = { ok: false, error: 'regex string match should not be empty' };
  else if (source.length > MAX_REGEX_LENGTH)
    out = { ok: false, error: `regex is too large, max length allowed is ${MAX_REGEX_LENGTH}` };
  else {
    try {
      out = { ok: true, re: RE2JS.compile(source) };
    } catch (e) {
      out = {
        ok: false,
        error: `${(e as Error).message}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)`,
      };
    }
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, out);
  return out;
}

/** Whether `value` as a whole matches the Istio regex `source`; a regex RE2 refuses matches nothing. */
export function regexMatches(source: string, value: string): boolean {
  const c = compileRegex(source);
  return c.ok && c.re.matches(value);
}
