/**
 * What Istio's own admission validation (pilot's `pkg/config/validation`) refuses beyond the CRD
 * schema, for the kinds the model reads: regexes RE2 cannot compile, retries with `attempts: 0` and
 * per-try settings, negative weights or all-zero weights, empty `from.source`/`to.operation`, and
 * AuthorizationPolicies whose action cannot take effect. Runs on objects that fit their schema, so
 * every field has its schema's type. Messages name the field as Istio's do.
 */
import { compileRegex } from '../regex.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const len = (v: unknown) => arr(v).length;

/** A StringMatch's regex, checked as `validateStringMatchRegexp` does. */
function regex(sm: unknown, at: string, out: string[]): void {
  const r = obj(sm).regex;
  if (typeof r !== 'string') return;
  const c = compileRegex(r);
  if (!c.ok) out.push(`${at}.regex: ${c.error}`);
}

function httpRoute(r: Json, at: string, out: string[]): void {
  arr(r.match).forEach((m0, k) => {
    const m = obj(m0);
    const mat = `${at}.match[${k}]`;
    for (const f of ['uri', 'scheme', 'method', 'authority'] as const)
      if (m[f]) regex(m[f], `${mat}.${f}`, out);
    for (const f of ['headers', 'queryParams'] as const)
      for (const [name, sm] of Object.entries(obj(m[f])))
        regex(sm, `${mat}.${f}[${JSON.stringify(name)}]`, out);
    for (const [name, sm] of Object.entries(obj(m.withoutHeaders)))
      if (obj(sm).regex !== '*') regex(sm, `${mat}.withoutHeaders[${JSON.stringify(name)}]`, out);
  });
  arr(obj(r.corsPolicy).allowOrigins).forEach((o, k) => regex(o, `${at}.corsPolicy.allowOrigins[${k}]`, out));
  const rewrite = obj(obj(r.rewrite).uriRegexRewrite);
  if (typeof rewrite.match === 'string')
    regex({ regex: rewrite.match }, `${at}.rewrite.uriRegexRewrite.match`, out);
  const retries = r.retries === undefined ? undefined : obj(r.retries);
  if (retries) {
    const attempts = typeof retries.attempts === 'number' ? retries.attempts : 0;
    if (attempts < 0) out.push(`${at}.retries.attempts: cannot be negative (got ${attempts})`);
    const set = ['perTryTimeout', 'retryOn', 'retryRemoteLocalities'].filter(
      (f) => retries[f] !== undefined && retries[f] !== '',
    );
    if (attempts === 0 && set.length)
      out.push(
        `${at}.retries: attempts is 0, which disables retries, but ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set: set attempts above 0, or remove ${set.join(', ')}`,
      );
  }
  destinations(r.route, `${at}.route`, out);
}

function destinations(route: unknown, at: string, out: string[]): void {
  let total = 0;
  arr(route).forEach((d, j) => {
    const w = obj(d).weight;
    if (typeof w !== 'number') return;
    if (w < 0) out.push(`${at}[${j}].weight: ${w} < 0: weights are integers from 0 to 100`);
    else if (!Number.isInteger(w)) out.push(`${at}[${j}].weight: ${w} is not an integer`);
    total += w;
  });
  if (len(route) > 1 && total === 0)
    out.push(`${at}: total destination weight = 0: give at least one destination a weight`);
}

function virtualService(spec: Json): string[] {
  const out: string[] = [];
  arr(spec.http).forEach((r, i) => httpRoute(obj(r), `spec.http[${i}]`, out));
  for (const f of ['tcp', 'tls'] as const)
    arr(spec[f]).forEach((r, i) => destinations(obj(r).route, `spec.${f}[${i}].route`, out));
  return out;
}

const SOURCE_FIELDS = [
  'principals',
  'requestPrincipals',
  'namespaces',
  'ipBlocks',
  'remoteIpBlocks',
  'notPrincipals',
  'notRequestPrincipals',
  'notNamespaces',
  'notIpBlocks',
  'notRemoteIpBlocks',
  'serviceAccounts',
  'notServiceAccounts',
  'trustDomains',
  'notTrustDomains',
];
const OPERATION_FIELDS = [
  'ports',
  'methods',
  'paths',
  'hosts',
  'notPorts',
  'notMethods',
  'notPaths',
  'notHosts',
];

function authorizationPolicy(spec: Json): string[] {
  const out: string[] = [];
  const action = typeof spec.action === 'string' ? spec.action : 'ALLOW';
  if ((action === 'DENY' || action === 'CUSTOM') && spec.rules === undefined)
    out.push(
      `spec.rules: ${action} action without rules is meaningless as it will never be triggered: add an empty rule {} if you want it triggered for every request`,
    );
  if (action === 'CUSTOM' && spec.rules !== undefined && !obj(spec.provider).name)
    out.push('spec.provider.name: must not be empty with the CUSTOM action');
  if (spec.provider !== undefined && action !== 'CUSTOM')
    out.push(`spec.provider: must not be set with a non-CUSTOM action (found ${action})`);
  arr(spec.rules).forEach((r0, i) => {
    const r = obj(r0);
    const at = `spec.rules[${i}]`;
    for (const [field, inner, fields] of [
      ['from', 'source', SOURCE_FIELDS],
      ['to', 'operation', OPERATION_FIELDS],
    ] as const) {
      if (r[field] === undefined) continue;
      if (!len(r[field]))
        out.push(`${at}.${field}: must not be empty: remove it, or list at least one ${inner}`);
      arr(r[field]).forEach((f, k) => {
        const v = obj(f)[inner];
        if (v === undefined) out.push(`${at}.${field}[${k}].${inner}: must be set`);
        else if (!fields.some((x) => len(obj(v)[x]) > 0))
          out.push(
            `${at}.${field}[${k}].${inner}: must not be empty: set one of ${fields.slice(0, 4).join(', ')}, …`,
          );
        else
          for (const x of fields)
            arr(obj(v)[x]).forEach((s, n) => {
              if (s === '') out.push(`${at}.${field}[${k}].${inner}.${x}[${n}]: must not be empty`);
            });
      });
    }
    const src = arr(r.from).map((f) => obj(obj(f).source));
    if (
      src.some(
        (s) =>
          len(s.principals) + len(s.notPrincipals) + len(s.namespaces) + len(s.notNamespaces) > 0 &&
          len(s.serviceAccounts) + len(s.notServiceAccounts) > 0,
      )
    )
      out.push(`${at}.from: cannot set serviceAccounts with namespaces or principals`);
  });
  return out;
}

const CHECKS: Readonly<Record<string, (spec: Json) => string[]>> = {
  'networking.istio.io/VirtualService': virtualService,
  'security.istio.io/AuthorizationPolicy': authorizationPolicy,
};

/** Istio's validation of a spec that fits its schema; empty when Istio would admit it. */
export function istioValidation(group: string, kind: string, spec: unknown): string[] {
  const check = CHECKS[`${group}/${kind}`];
  return check ? check(obj(spec)) : [];
}
