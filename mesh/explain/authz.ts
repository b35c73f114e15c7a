/**
 * Istio's AuthorizationPolicy evaluation for one request on one workload: CUSTOM, then DENY,
 * then ALLOW; no ALLOW policy means allow; an ALLOW policy without rules (`spec: {}`) allows
 * nothing. Policies apply from the root namespace (mesh-wide) and the workload's namespace, by
 * selector. Source principals and namespaces exist only on an mTLS hop.
 * @see https://istio.io/latest/docs/concepts/security/#implicit-enablement
 */
import { policiesFor } from '../model/query.js';
import type {
  AuthorizationPolicy,
  AuthzAction,
  AuthzCondition,
  AuthzRule,
  MeshModel,
  Workload,
} from '../model/types.js';

/** What the server-side proxy knows about a request. */
export interface AuthzRequest {
  /** Peer principal (`cluster.local/ns/x/sa/y`); only on an mTLS hop. */
  readonly principal?: string;
  /** Peer namespace; only on an mTLS hop. */
  readonly sourceNamespace?: string;
  readonly method: string;
  readonly path: string;
  /** Host header. */
  readonly host: string;
  /** The workload's (container) port. */
  readonly port?: number;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * `tcp` for a connection to a TCP port (Istio's TCP filter chain): HTTP-only fields of a rule
   * cannot be evaluated there. @default 'http'
   */
  readonly protocol?: 'http' | 'tcp';
}

export type AuthzDecision = 'ALLOW' | 'DENY' | 'CUSTOM';

export interface AuthzResult {
  readonly decision: AuthzDecision;
  /** `namespace/name` of the policy that decided; undefined when no policy did. */
  readonly policy?: string;
  /** Index of the matching rule in that policy. */
  readonly rule?: number;
  /** Why, in one sentence. */
  readonly reason: string;
  /** Ambient mode: where the decision is made (`ztunnel`, `waypoint ns/name`). @default - the callee's sidecar */
  readonly enforcedBy?: string;
}

/** Istio's string match of AuthorizationPolicy fields: exact, `prefix*`, `*suffix`, `*` (non-empty). */
export function authzValueMatches(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return value !== '';
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

const anyOf = (patterns: readonly string[] | undefined, value: string | undefined, ci = false) =>
  patterns === undefined ||
  patterns.some((p) => authzValueMatches(ci ? p.toLowerCase() : p, ci ? value?.toLowerCase() : value));
const noneOf = (patterns: readonly string[] | undefined, value: string | undefined, ci = false) =>
  patterns === undefined ||
  !patterns.some((p) => authzValueMatches(ci ? p.toLowerCase() : p, ci ? value?.toLowerCase() : value));

function conditionValue(key: string, r: AuthzRequest): string | undefined | null {
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) {
    const name = header[1]!.toLowerCase();
    return Object.hasOwn(r.headers, name) ? r.headers[name] : undefined; // `constructor` is a header too
  }
  switch (key) {
    case 'source.namespace':
      return r.sourceNamespace;
    case 'source.principal':
      return r.principal;
    case 'destination.port':
      return r.port === undefined ? undefined : String(r.port);
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter':
      return undefined; // no JWT in the simulator
    default:
      return null; // not known to the simulator
  }
}

/** Condition keys only an HTTP request has. */
const httpOnlyKey = (key: string) => key.startsWith('request.headers[') || key.startsWith('request.auth.');

/**
 * The HTTP-only fields a rule uses (`methods`, `paths`, `hosts` and their `not…`,
 * `requestPrincipals`, request header and JWT conditions), as `rules[i].to[j].operation.methods`.
 * On a TCP port Istio cannot evaluate them: it drops an ALLOW rule that has any (so it never
 * matches), and ignores them in a DENY, AUDIT or CUSTOM rule (so the rest of the rule decides).
 * @see https://istio.io/latest/docs/ops/configuration/security/security-policy-examples/
 */
export function httpOnlyFields(rule: AuthzRule): string[] {
  const out: string[] = [];
  rule.from?.forEach(({ source: s = {} }, j) => {
    for (const f of ['requestPrincipals', 'notRequestPrincipals'] as const)
      if (s[f] !== undefined) out.push(`from[${j}].source.${f}`);
  });
  rule.to?.forEach(({ operation: o = {} }, j) => {
    for (const f of ['methods', 'notMethods', 'paths', 'notPaths', 'hosts', 'notHosts'] as const)
      if (o[f] !== undefined) out.push(`to[${j}].operation.${f}`);
  });
  rule.when?.forEach((c, j) => {
    if (httpOnlyKey(c.key)) out.push(`when[${j}] ${c.key}`);
  });
  return out;
}

function conditionMatches(c: AuthzCondition, r: AuthzRequest): boolean {
  if (r.protocol === 'tcp' && httpOnlyKey(c.key)) return true; // ignored (ALLOW rules never get here)
  const v = conditionValue(c.key, r);
  if (v === null) return false;
  return anyOf(c.values, v) && noneOf(c.notValues, v);
}

/**
 * Whether one rule of a policy matches the request. On a TCP connection an ALLOW rule with an
 * HTTP-only field never matches and other rules match without their HTTP-only fields, as Istio
 * builds its TCP filter ({@link httpOnlyFields}).
 */
export function ruleMatches(rule: AuthzRule, r: AuthzRequest, action: AuthzAction = 'ALLOW'): boolean {
  const tcp = r.protocol === 'tcp';
  if (tcp && action === 'ALLOW' && httpOnlyFields(rule).length) return false;
  /** On TCP, an HTTP-only field of a DENY/AUDIT/CUSTOM rule is left out (matches anything). */
  const http = <T>(v: T | undefined): T | undefined => (tcp ? undefined : v);
  const fromOk =
    !rule.from?.length ||
    rule.from.some(({ source: s = {} }) => {
      return (
        anyOf(s.principals, r.principal) &&
        noneOf(s.notPrincipals, r.principal) &&
        anyOf(s.namespaces, r.sourceNamespace) &&
        noneOf(s.notNamespaces, r.sourceNamespace) &&
        // No JWT and no IPs in the simulator: fields that need them never match.
        http(s.requestPrincipals) === undefined &&
        s.ipBlocks === undefined &&
        s.remoteIpBlocks === undefined
      );
    });
  if (!fromOk) return false;
  const port = r.port === undefined ? undefined : String(r.port);
  const toOk =
    !rule.to?.length ||
    rule.to.some(({ operation: o = {} }) => {
      return (
        anyOf(http(o.methods), r.method) &&
        noneOf(http(o.notMethods), r.method) &&
        anyOf(http(o.paths), r.path) &&
        noneOf(http(o.notPaths), r.path) &&
        anyOf(http(o.hosts), r.host, true) &&
        noneOf(http(o.notHosts), r.host, true) &&
        anyOf(o.ports, port) &&
        noneOf(o.notPorts, port)
      );
    });
  if (!toOk) return false;
  return (rule.when ?? []).every((c) => conditionMatches(c, r));
}

const id = (p: AuthorizationPolicy) => `${p.namespace}/${p.name}`;

function firstMatch(policies: readonly AuthorizationPolicy[], r: AuthzRequest) {
  for (const p of policies) {
    const i = p.rules.findIndex((rule) => ruleMatches(rule, r, p.action));
    if (i >= 0) return { policy: p, rule: i };
  }
  return undefined;
}

/** Evaluates the policies that apply to `workload` for request `r`, in Istio's order. */
export function authorize(model: MeshModel, workload: Workload, r: AuthzRequest): AuthzResult {
  // ztunnel enforces the policies on ambient pods (the waypoint those targeting their Service).
  if (!workload.sidecar && !workload.ambient) {
    return { decision: 'ALLOW', reason: `${workload.name} has no sidecar: no policy is enforced` };
  }
  return evaluatePolicies(policiesFor(model, workload), r);
}

/**
 * Evaluates `policies` (those that apply at one enforcement point) for request `r`, in Istio's
 * order. With `r.protocol` `tcp` the HTTP-only fields are handled as ztunnel and Istio's TCP filter
 * handle them; `l4` names why the request is L4 there (a TCP port, or ztunnel).
 */
export function evaluatePolicies(
  policies: readonly AuthorizationPolicy[],
  r: AuthzRequest,
  l4 = 'on this TCP port',
): AuthzResult {
  const by = (a: string) => policies.filter((p) => p.action === a);
  const custom = firstMatch(by('CUSTOM'), r);
  if (custom) {
    return {
      decision: 'CUSTOM',
      policy: id(custom.policy),
      rule: custom.rule,
      reason: `CUSTOM policy ${id(custom.policy)} delegates the decision to provider '${custom.policy.provider ?? '?'}'`,
    };
  }
  const deny = firstMatch(by('DENY'), r);
  if (deny) {
    return {
      decision: 'DENY',
      policy: id(deny.policy),
      rule: deny.rule,
      reason: `DENY policy ${id(deny.policy)} rule ${deny.rule} matches`,
    };
  }
  const allows = by('ALLOW');
  if (!allows.length) return { decision: 'ALLOW', reason: 'no ALLOW policy applies to the workload' };
  const allow = firstMatch(allows, r);
  if (allow) {
    return {
      decision: 'ALLOW',
      policy: id(allow.policy),
      rule: allow.rule,
      reason: `ALLOW policy ${id(allow.policy)} rule ${allow.rule} matches`,
    };
  }
  const empty = allows.find((p) => !p.rules.length);
  return {
    decision: 'DENY',
    policy: id(empty ?? allows[0]!),
    reason: `no rule of the ALLOW policies (${allows.map(id).join(', ')}) matches${
      r.principal === undefined ? ' (the hop is not mTLS, so the caller has no principal)' : ''
    }${tcpDropped(allows, r, l4)}`,
  };
}

/** Why ALLOW rules did not count on a TCP connection, when that is why. */
function tcpDropped(allows: readonly AuthorizationPolicy[], r: AuthzRequest, l4: string): string {
  if (r.protocol !== 'tcp') return '';
  const dropped = allows.flatMap((p) =>
    p.rules.flatMap((rule, i) => {
      const f = httpOnlyFields(rule);
      return f.length ? [`${id(p)} rules[${i}] (${f.join(', ')})`] : [];
    }),
  );
  return dropped.length
    ? `; ${l4} Istio drops the ALLOW rules with HTTP-only fields: ${dropped.join('; ')}`
    : '';
}
