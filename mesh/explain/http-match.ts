/** Whether a VirtualService's HTTPMatchRequest holds for a request, as Envoy matches it. */
import { selects } from '../model/query.js';
import { regexMatches } from '../model/regex.js';
import type { HttpMatchRequest, StringMatch } from '../model/types.js';
import type { Caller } from './types.js';

/** Whether an Istio StringMatch holds for `value`. */
export function stringMatches(m: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  const v = ignoreCase ? value.toLowerCase() : value;
  if (m.exact !== undefined) return (ignoreCase ? m.exact.toLowerCase() : m.exact) === v;
  if (m.prefix !== undefined) return v.startsWith(ignoreCase ? m.prefix.toLowerCase() : m.prefix);
  if (m.regex !== undefined) return regexMatches(m.regex, value);
  return true; // `{}`: presence
}

/** A request's header or query parameter: its own entries only (a header named `constructor` is not Object's). */
const own = (map: Readonly<Record<string, string>>, k: string): string | undefined =>
  Object.hasOwn(map, k) ? map[k] : undefined;

/** What an HTTPMatchRequest is matched against. */
export interface MatchContext {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly authority: string;
  readonly port: number | undefined;
  readonly caller: Caller;
  /** The gateway of this request: `mesh` or `ns/name`. */
  readonly gateway: string;
}

/** Whether one HTTPMatchRequest holds. */
export function matchHolds(m: HttpMatchRequest, c: MatchContext, vsNamespace: string): boolean {
  if (m.uri && !stringMatches(m.uri, c.path, m.ignoreUriCase)) return false;
  if (m.method && !stringMatches(m.method, c.method)) return false;
  if (m.authority && !stringMatches(m.authority, c.authority)) return false;
  for (const [k, sm] of Object.entries(m.headers ?? {}))
    if (!stringMatches(sm, own(c.headers, k.toLowerCase()))) return false;
  for (const [k, sm] of Object.entries(m.withoutHeaders ?? {}))
    if (stringMatches(sm, own(c.headers, k.toLowerCase()))) return false;
  for (const [k, sm] of Object.entries(m.queryParams ?? {}))
    if (!stringMatches(sm, own(c.query, k))) return false;
  if (m.port !== undefined && c.port !== undefined && m.port !== c.port) return false;
  return sourceMatches(m, c.caller, c.gateway, vsNamespace);
}

/**
 * Whether a match block is kept in the routes Istio generates for this caller's proxy (Istio's
 * `sourceMatchHTTP`): a block naming `gateways` is kept for those gateways, whatever its
 * `sourceLabels`; otherwise `sourceLabels` must select the proxy's labels (the ingress gateway's
 * own, from `ingress`) and `sourceNamespace`, if set, be the proxy's namespace. A block that is not
 * kept is not in the proxy's configuration at all.
 */
export function sourceMatches(
  m: HttpMatchRequest,
  caller: Caller,
  gateway: string,
  vsNamespace: string,
): boolean {
  if (m.gateways?.length) return m.gateways.some((g) => gatewayRef(g, vsNamespace) === gateway);
  if (!selects(m.sourceLabels, caller.labels)) return false;
  return !m.sourceNamespace || m.sourceNamespace === caller.namespace;
}

/**
 * Whether any `http` rule of a VirtualService is left in the caller's configuration once the match
 * blocks of other sources are pruned. When none is, Istio drops the VirtualService for that proxy:
 * its hosts take the default route to the Service.
 */
export function keepsAnyRule(
  http: readonly { readonly match?: readonly HttpMatchRequest[] }[],
  caller: Caller,
  gateway: string,
  vsNamespace: string,
): boolean {
  return http.some(
    (r) => !r.match?.length || r.match.some((m) => sourceMatches(m, caller, gateway, vsNamespace)),
  );
}

/** A VirtualService's `gateways` entry as `mesh` or `namespace/name`. */
export function gatewayRef(g: string, vsNamespace: string): string {
  if (g === 'mesh') return 'mesh';
  const short = g.split('.')[0]!;
  return g.includes('/') ? g : g.includes('.') ? `${g.split('.')[1]}/${short}` : `${vsNamespace}/${g}`;
}
