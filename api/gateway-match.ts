/**
 * How an Istio-style string match (`exact`, `prefix`, `regex`) is written as a Gateway API header
 * or query match. Istio evaluates Gateway API regexes with RE2 against the whole value, so a
 * prefix becomes the regex of the escaped literal followed by `.*`. One statement for the
 * constructs (which render App routes) and the operator (which adds header rules to a route).
 */

/** RE2 escape of a literal. */
export function re2Literal(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

/** A header or query value match as the Gateway API writes it. */
export interface GatewayValueMatch {
  readonly type: 'Exact' | 'RegularExpression';
  readonly value: string;
}

/** An Istio-style match (exactly one of `exact`, `prefix`, `regex` set) as a Gateway API value match. */
export function gatewayValueMatch(m: {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}): GatewayValueMatch {
  if (m.exact !== undefined) return { type: 'Exact', value: m.exact };
  if (m.prefix !== undefined) return { type: 'RegularExpression', value: `${re2Literal(m.prefix)}.*` };
  return { type: 'RegularExpression', value: m.regex ?? '' };
}
