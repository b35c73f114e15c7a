/**
 * Who can call whom: the reachability matrix computed from the AuthorizationPolicies and the mTLS
 * of each hop, compared with the declared call graph (`app.calls(other)`).
 *
 * The comparison is the validator's: a declared call the policies deny is MESH506, a principal a
 * policy allows without a declared call is MESH507. Both rules and the matrix use the functions
 * here, so a difference the matrix shows is always a finding, and the other way round.
 */
import {
  containerPortOf,
  destinationRuleFor,
  indexOf,
  outboundTrafficPolicyFor,
  policiesFor,
  principalOf,
  protocolOfHost,
  resolveHost,
  workloadsOf,
  workloadsSelected,
} from '../model/query.js';
import type {
  AuthorizationPolicy,
  DeclaredCall,
  Labels,
  MeshModel,
  Service,
  Workload,
} from '../model/types.js';
import { WAYPOINT_CLASS } from '../model/gateway-api.js';
import { ISTIO_GATEWAY_CLASS } from './gateway-api.js';
import { authorizeCall } from './ambient.js';
import type { AuthzResult } from './authz.js';
import { hopTls, type Caller, type HopTls } from './explain.js';
import { hiddenBySidecar } from './route.js';

const PRINCIPAL = /^([^/*]+)\/ns\/([^/*]+)\/sa\/([^/*]+)$/;
const id = (e: { namespace: string; name: string }) => `${e.namespace}/${e.name}`;

/** The caller of a declared call as the simulator sees it (a workload of the model, or the ingress gateway). */
export function callerOfDeclared(model: MeshModel, from: DeclaredCall['from']): Caller {
  const m = PRINCIPAL.exec(from.principal);
  const w = m ? indexOf(model).workloadsByServiceAccount.get(`${from.namespace}/${m[3]}`)?.[0] : undefined;
  return {
    description: from.name,
    namespace: from.namespace,
    labels: w?.podLabels ?? {},
    principal: from.principal,
    sidecar: w?.sidecar ?? true,
    ...(w?.ambient ? { ambient: true } : {}),
    ingress: !w,
  };
}

/** The requests a declared call makes: each of its methods on each of its paths (`/x*` probed as `/x`). */
function declaredRequests(c: DeclaredCall): { method: string; path: string }[] {
  const methods = c.methods?.length ? c.methods : ['GET'];
  const paths = (c.paths?.length ? c.paths : ['/']).map((p) =>
    p === '*' ? '/' : p.endsWith('*') ? p.slice(0, -1) : p.startsWith('*') ? `/x${p.slice(1)}` : p,
  );
  return methods.flatMap((method) => paths.map((path) => ({ method, path })));
}

/** A declared call that the policies (or the mTLS of the hop) deny on one of the callee's workloads (MESH506). */
export interface DeniedCall {
  readonly call: DeclaredCall;
  readonly service: Service;
  readonly workload: Workload;
  /** The request's method and path; both empty for a TCP connection or a call the Sidecar blocks. */
  readonly method: string;
  readonly path: string;
  /** The Service port called (the call's declared port, else the Service's first). */
  readonly port?: number;
  /**
   * The workload's port the request arrives on (the Service port's `targetPort`): the port an
   * AuthorizationPolicy's `to.operation.ports` is matched against.
   */
  readonly targetPort?: number;
  /** The call is a TCP connection: no method or path could be checked. */
  readonly tcp?: boolean;
  readonly result: AuthzResult;
  /** The deciding policy, if it is in the model. */
  readonly policy?: AuthorizationPolicy;
}

/**
 * MESH506's sentence for a denied call, naming the Service port called and the workload port that
 * was denied: `reviews → ratings:9080 (GET /) is declared but denied on ratings-v1 port 9080: …`.
 */
export function deniedCallMessage(d: DeniedCall): string {
  const to = d.port === undefined ? d.call.to.name : `${d.call.to.name}:${d.port}`;
  const request = d.tcp ? ' (TCP)' : d.method ? ` (${d.method} ${d.path})` : '';
  const on = d.targetPort === undefined ? d.workload.name : `${d.workload.name} port ${d.targetPort}`;
  return `${d.call.from.name} → ${to}${request} is declared but denied on ${on}: ${d.result.reason}`;
}

/** Every declared call denied somewhere (the first denied request and workload of each call). */
export function deniedDeclaredCalls(model: MeshModel): DeniedCall[] {
  const out: DeniedCall[] = [];
  const ix = indexOf(model);
  for (const c of model.calls ?? []) {
    const svc = ix.servicesByFqdn.get(resolveHost(c.to.name, c.to.namespace, model.clusterDomain));
    if (!svc) continue;
    const own = callerOfDeclared(model, c.from);
    // Each declared container port with the Service port that reaches it (else the Service's first).
    const ports = c.ports?.length
      ? c.ports.map((cport) => ({
          cport,
          port: svc.ports.find((p) => containerPortOf(svc, p.port) === cport)?.port,
        }))
      : [{ cport: containerPortOf(svc, undefined), port: svc.ports[0]?.port }];
    const portsOf = (p: { cport: number | undefined; port: number | undefined } | undefined) => ({
      ...(p?.port !== undefined ? { port: p.port } : {}),
      ...(p?.cport !== undefined ? { targetPort: p.cport } : {}),
    });
    const passage = sidecarPassage(model, own, svc);
    if (passage && 'blocked' in passage) {
      const w = workloadsOf(model, svc)[0];
      if (w)
        out.push({
          call: c,
          service: svc,
          workload: w,
          method: '',
          path: '',
          ...portsOf(ports[0]),
          result: { decision: 'DENY', reason: passage.blocked },
        });
      continue;
    }
    const caller = passage ? passage.caller : own;
    const dr = destinationRuleFor(model, svc.fqdn, c.from.namespace);
    const denied = (() => {
      for (const w of workloadsOf(model, svc))
        for (const { cport, port } of ports) {
          // A call to a TCP port is a connection: its methods and paths cannot be checked.
          const tcp = protocolOfHost(model, svc.fqdn, port)?.handling === 'tcp';
          const tls = hopTls(model, caller, w, dr, undefined, port, cport);
          for (const { method, path } of tcp ? [{ method: '', path: '' }] : declaredRequests(c)) {
            const result = authorizeCall(model, caller, svc, w, {
              ...(tls.mutual ? { principal: c.from.principal, sourceNamespace: c.from.namespace } : {}),
              method,
              path,
              host: svc.name,
              ...(cport !== undefined ? { port: cport } : {}),
              headers: {},
              ...(tcp ? { protocol: 'tcp' as const } : {}),
            });
            if (result.decision === 'DENY')
              return {
                workload: w,
                method,
                path,
                ...portsOf({ cport, port }),
                ...(tcp ? { tcp } : {}),
                result,
              };
          }
        }
      return undefined;
    })();
    if (denied) {
      const policy = model.authorizationPolicies.find((p) => id(p) === denied.result.policy);
      out.push({ call: c, service: svc, ...denied, ...(policy ? { policy } : {}) });
    }
  }
  return out;
}

/** A principal an ALLOW policy names that no declared call to the selected workloads comes from (MESH507). */
export interface UndeclaredAllowance {
  readonly policy: AuthorizationPolicy;
  readonly rule: number;
  readonly principal: string;
  /** `namespace/name` of the Services whose workloads the policy selects. */
  readonly callees: readonly string[];
}

/** Every undeclared principal of every ALLOW policy; empty when the model has no declared call graph. */
export function undeclaredAllowances(model: MeshModel): UndeclaredAllowance[] {
  if (!model.calls) return [];
  const out: UndeclaredAllowance[] = [];
  const byW = indexOf(model).servicesOfWorkload;
  const declaredTo = new Map<string, Set<string>>();
  for (const c of model.calls) {
    const k = `${c.to.namespace}/${c.to.name}`;
    let s = declaredTo.get(k);
    if (!s) declaredTo.set(k, (s = new Set()));
    s.add(c.from.principal);
  }
  const waypoints = new Set(
    model.k8sGateways
      .filter((g) => g.gatewayClassName === WAYPOINT_CLASS)
      .map((g) => principalOf(model, g.namespace, g.name)),
  );
  for (const p of model.authorizationPolicies) {
    if (p.action !== 'ALLOW') continue;
    const callees = [
      ...new Set(
        workloadsSelected(model, p.namespace, p.selector)
          .flatMap((w) => byW.get(w) ?? [])
          .map((s) => `${s.namespace}/${s.name}`),
      ),
    ];
    const declared = new Set(callees.flatMap((c) => [...(declaredTo.get(c) ?? [])]));
    p.rules.forEach((r, i) =>
      (r.from ?? []).forEach((f) =>
        (f.source?.principals ?? []).forEach((pr) => {
          // The waypoint relays declared calls: admitting it is how bypassing it is stopped.
          if (PRINCIPAL.test(pr) && !declared.has(pr) && !waypoints.has(pr))
            out.push({ policy: p, rule: i, principal: pr, callees });
        }),
      ),
    );
  }
  return out;
}

/** A row of the matrix: a caller identity. */
export interface ReachabilityCaller {
  /** The app name (the `app` label, else the workload name), or the ingress gateway's. */
  readonly name: string;
  readonly namespace: string;
  readonly principal: string;
  readonly ingress: boolean;
}

/** What a caller may do on a callee. */
export type Access =
  /** Every request probed is allowed. */
  | 'allow'
  /** Some requests are allowed (see `allowed`). */
  | 'partial'
  /** Every request probed is denied. */
  | 'deny'
  /** The connection fails before authorization (mTLS mismatch). */
  | 'no-connection';

export interface ReachabilityCell {
  readonly from: ReachabilityCaller;
  /** `namespace/name` of the callee Service. */
  readonly to: string;
  readonly access: Access;
  /** The allowed requests when partial: `GET`, `GET /api/*`, `* /health` (`*`: any method or path). */
  readonly allowed: readonly string[];
  /** The policies whose rules allowed something, or that denied everything. */
  readonly policies: readonly string[];
  /** Whether the caller has a declared call to the callee; undefined when the model has no call graph. */
  readonly declared?: boolean;
  /** The validator findings this cell is the subject of. */
  readonly findings: readonly ('MESH506' | 'MESH507')[];
  /** The mTLS of the hop (to the callee's first workload). */
  readonly tls?: HopTls;
  /** The Service port probed (its first). */
  readonly port?: number;
  /** That port's protocol as Istio reads it (`HTTP`, `GRPC`, `TCP`, `REDIS`, …; `UNKNOWN` is sniffed as HTTP). */
  readonly protocol: string;
  /** Why, in one sentence: the policy and rule that allowed, the one that denied, or why the connection fails. */
  readonly reason: string;
}

export interface Reachability {
  readonly callers: readonly ReachabilityCaller[];
  /** `namespace/name` of the callee Services (those with workloads). */
  readonly callees: readonly string[];
  /** One per caller × callee, row by row. */
  readonly cells: readonly ReachabilityCell[];
  /** Whether the model knows the declared call graph (built from constructs). */
  readonly hasCallGraph: boolean;
  readonly denied: readonly DeniedCall[];
  readonly undeclared: readonly UndeclaredAllowance[];
}

export interface ReachabilityOptions {
  /** Add the ingress gateway as a caller. @default - when the model has a Gateway or a declared call from it */
  readonly ingress?: boolean;
  /** Labels of the ingress gateway pods. @default { istio: 'ingressgateway' } */
  readonly ingressSelector?: Labels;
  /** @default the root namespace */
  readonly ingressNamespace?: string;
  /** @default 'istio-ingressgateway-service-account' */
  readonly ingressServiceAccount?: string;
}

const SENTINEL_METHOD = 'X-ANY-METHOD';
const SENTINEL_PATH = '/x-any-path';

/** Requests that tell the policies' rules apart: their own methods, paths and header values, and one of each they do not name. */
function probes(policies: readonly AuthorizationPolicy[]) {
  const methods = new Set(['GET', SENTINEL_METHOD]);
  const paths = new Map<string, string>([
    ['/', '/'],
    [SENTINEL_PATH, '*'],
  ]);
  const headers: Record<string, string>[] = [{}];
  const concrete = (p: string) =>
    p === '*' ? SENTINEL_PATH : p.endsWith('*') ? p.slice(0, -1) : p.startsWith('*') ? `/x${p.slice(1)}` : p;
  for (const p of policies)
    for (const r of p.rules) {
      for (const t of r.to ?? []) {
        const o = t.operation ?? {};
        for (const m of [...(o.methods ?? []), ...(o.notMethods ?? [])]) if (m !== '*') methods.add(m);
        for (const x of [...(o.paths ?? []), ...(o.notPaths ?? [])]) paths.set(concrete(x), x);
      }
      for (const c of r.when ?? []) {
        const h = /^request\.headers\[(.+)\]$/.exec(c.key);
        if (h) for (const v of c.values ?? []) headers.push({ [h[1]!.toLowerCase()]: v.replace(/\*/g, '') });
      }
    }
  return { methods: [...methods], paths: [...paths], headers };
}

function appName(w: Workload): string {
  return w.podLabels.app ?? w.name;
}

/** The callers: one per app (workloads grouped by namespace and `app` label), and the ingress gateway. */
function callersOf(model: MeshModel, options: ReachabilityOptions): ReachabilityCaller[] {
  const seen = new Map<string, ReachabilityCaller>();
  for (const w of model.workloads) {
    const key = `${w.namespace}/${appName(w)}`;
    if (!seen.has(key))
      seen.set(key, {
        name: appName(w),
        namespace: w.namespace,
        principal: principalOf(model, w.namespace, w.serviceAccountName),
        ingress: false,
      });
  }
  const apps = [...seen.values()].sort((a, b) => id(a).localeCompare(id(b)));
  const known = new Set(apps.map((c) => c.principal));
  const extra = new Map<string, ReachabilityCaller>();
  for (const c of model.calls ?? [])
    if (!known.has(c.from.principal) && !extra.has(c.from.principal))
      extra.set(c.from.principal, {
        name: c.from.name,
        namespace: c.from.namespace,
        principal: c.from.principal,
        ingress: true,
      });
  const ingressNs = options.ingressNamespace ?? model.rootNamespace;
  const ingressPrincipal = principalOf(
    model,
    ingressNs,
    options.ingressServiceAccount ?? 'istio-ingressgateway-service-account',
  );
  // Gateway API ingress Gateways (class istio): Istio runs each as `<name>-istio`.
  const k8sIngress = options.ingressServiceAccount
    ? []
    : model.k8sGateways.filter((g) => g.gatewayClassName === ISTIO_GATEWAY_CLASS);
  for (const g of k8sIngress) {
    const principal = principalOf(model, g.namespace, `${g.name}-istio`);
    if (!extra.has(principal) && !known.has(principal))
      extra.set(principal, { name: `${g.name}-istio`, namespace: g.namespace, principal, ingress: true });
  }
  if (
    (options.ingress ?? model.gateways.length > 0) &&
    !extra.has(ingressPrincipal) &&
    !known.has(ingressPrincipal)
  )
    extra.set(ingressPrincipal, {
      name: 'istio-ingressgateway',
      namespace: ingressNs,
      principal: ingressPrincipal,
      ingress: true,
    });
  return [...extra.values(), ...apps];
}

/** The reachability matrix of the mesh. */
export function reachability(model: MeshModel, options: ReachabilityOptions = {}): Reachability {
  const callers = callersOf(model, options);
  const services = model.services
    .filter((s) => workloadsOf(model, s).length)
    .sort((a, b) => id(a).localeCompare(id(b)));
  const denied = deniedDeclaredCalls(model);
  const undeclared = undeclaredAllowances(model);
  const declaredPairs = new Set(
    (model.calls ?? []).map((c) => `${c.from.principal}→${c.to.namespace}/${c.to.name}`),
  );
  const deniedPairs = new Set(
    denied.map((d) => `${d.call.from.principal}→${d.call.to.namespace}/${d.call.to.name}`),
  );
  const undeclaredPairs = new Set(undeclared.flatMap((u) => u.callees.map((c) => `${u.principal}→${c}`)));
  const ingressLabels = options.ingressSelector ?? { istio: 'ingressgateway' };

  const cells: ReachabilityCell[] = [];
  for (const from of callers) {
    const w = from.ingress
      ? undefined
      : model.workloads.find((x) => x.namespace === from.namespace && appName(x) === from.name);
    const caller: Caller = {
      description: from.name,
      namespace: from.namespace,
      labels: w?.podLabels ?? (from.ingress ? ingressLabels : {}),
      principal: from.principal,
      sidecar: w?.sidecar ?? true,
      ...(w?.ambient ? { ambient: true } : {}),
      ingress: from.ingress,
    };
    for (const svc of services) {
      const to = id(svc);
      const pair = `${from.principal}→${to}`;
      const cell = evaluate(model, caller, svc);
      const findings: ('MESH506' | 'MESH507')[] = [];
      if (deniedPairs.has(pair)) findings.push('MESH506');
      if (undeclaredPairs.has(pair)) findings.push('MESH507');
      cells.push({
        from,
        to,
        ...cell,
        ...(model.calls ? { declared: declaredPairs.has(pair) } : {}),
        findings,
      });
    }
  }
  return {
    callers,
    callees: services.map(id),
    cells,
    hasCallGraph: model.calls !== undefined,
    denied,
    undeclared,
  };
}

/** Why the connection fails before any policy: the client's TLS against the server's mode. */
function tlsReason(t: HopTls): string {
  return `the caller sends ${t.client === 'ISTIO_MUTUAL' ? 'mTLS' : t.client === 'DISABLE' ? 'plain text' : t.client} (${t.clientDecidedBy}) and the server is ${t.server} (${t.serverDecidedBy})`;
}

/**
 * What the caller's own proxy does with a Service its Sidecar does not import: nothing, when the
 * host is imported; else the caller as the callee then sees it (the connection passed through in
 * plain text, ALLOW_ANY) with why, or why it never leaves (BlackHoleCluster, REGISTRY_ONLY).
 */
export function sidecarPassage(
  model: MeshModel,
  caller: Caller,
  svc: Service,
): { readonly caller: Caller; readonly note: string } | { readonly blocked: string } | undefined {
  const hiding = hiddenBySidecar(model, caller, svc.fqdn);
  if (!hiding) return undefined;
  const { mode, decidedBy } = outboundTrafficPolicyFor(model, caller.namespace, caller.labels);
  const by = `Sidecar ${hiding.namespace}/${hiding.name} does not import ${svc.namespace}/${svc.name}`;
  return mode === 'ALLOW_ANY'
    ? {
        caller: { ...caller, sidecar: false },
        note: `${by}: passed through in plain text (ALLOW_ANY, ${decidedBy})`,
      }
    : { blocked: `${by}: 502 from BlackHoleCluster (REGISTRY_ONLY, ${decidedBy})` };
}

function evaluate(
  model: MeshModel,
  own: Caller,
  svc: Service,
): Pick<ReachabilityCell, 'access' | 'allowed' | 'policies' | 'tls' | 'port' | 'protocol' | 'reason'> {
  const passage = sidecarPassage(model, own, svc);
  const caller = passage && 'caller' in passage ? passage.caller : own;
  const because = (reason: string) => (passage && 'note' in passage ? `${passage.note}; ${reason}` : reason);
  const ws = workloadsOf(model, svc);
  const dr = destinationRuleFor(model, svc.fqdn, caller.namespace ?? svc.namespace);
  const cport = containerPortOf(svc, undefined);
  const host = caller.namespace === svc.namespace ? svc.name : svc.fqdn;
  const proto = protocolOfHost(model, svc.fqdn, undefined);
  const tcp = proto?.handling === 'tcp';
  const grpc = proto?.name === 'GRPC' || proto?.name === 'GRPC-WEB';
  const where = {
    ...(svc.ports[0] ? { port: svc.ports[0].port } : {}),
    protocol: proto?.name ?? 'UNKNOWN',
  };
  if (passage && 'blocked' in passage)
    return { access: 'no-connection', allowed: [], policies: [], ...where, reason: passage.blocked };
  // The first reason an allowing and a denying answer gave.
  let allowReason: string | undefined;
  let denyReason: string | undefined;
  const note = (r: AuthzResult) => {
    if (r.decision === 'ALLOW') allowReason ??= r.reason;
    else denyReason ??= r.reason;
  };
  let firstTls: HopTls | undefined;
  const allowedByWorkload: { allowed: Set<string>; total: number }[] = [];
  const policies = new Set<string>();
  for (const w of ws) {
    const tls = hopTls(model, caller, w, dr, undefined, svc.ports[0]?.port, cport);
    firstTls ??= tls;
    const allowed = new Set<string>();
    if (!tls.ok) {
      allowedByWorkload.push({ allowed, total: 1 });
      continue;
    }
    if (tcp) {
      // A TCP port: one connection, judged as Istio's TCP filter judges it.
      allowedByWorkload.push({ allowed, total: 1 });
      const r = authorizeCall(model, caller, svc, w, {
        ...(tls.mutual ? { principal: caller.principal, sourceNamespace: caller.namespace } : {}),
        method: '',
        path: '',
        host,
        ...(cport !== undefined ? { port: cport } : {}),
        headers: {},
        protocol: 'tcp',
      });
      note(r);
      if (r.policy) policies.add(r.policy);
      if (r.decision === 'ALLOW') allowed.add('TCP');
      continue;
    }
    const probed = probes(w.sidecar || w.ambient ? policiesFor(model, w) : []);
    // A gRPC call is always a POST: probe the paths only.
    const { paths, headers } = probed;
    const methods = grpc ? ['POST'] : probed.methods;
    allowedByWorkload.push({ allowed, total: methods.length * paths.length * headers.length });
    for (const method of methods)
      for (const [path, pattern] of paths)
        for (const h of headers) {
          const r = authorizeCall(model, caller, svc, w, {
            ...(tls.mutual ? { principal: caller.principal, sourceNamespace: caller.namespace } : {}),
            method,
            path,
            host,
            ...(cport !== undefined ? { port: cport } : {}),
            headers: h,
          });
          note(r);
          if (r.policy) policies.add(r.policy);
          if (r.decision !== 'ALLOW') continue;
          const label = grpc ? pattern : `${method === SENTINEL_METHOD ? '*' : method} ${pattern}`;
          const hk = Object.entries(h)
            .map(([k, v]) => ` [${k}: ${v}]`)
            .join('');
          allowed.add(label + hk);
        }
  }
  const tls = firstTls ? { tls: firstTls } : {};
  if (allowedByWorkload.every((s) => s.allowed.size === 0)) {
    const noConnection = firstTls !== undefined && !firstTls.ok;
    return {
      access: noConnection ? 'no-connection' : 'deny',
      allowed: [],
      policies: [...policies].sort(),
      ...tls,
      ...where,
      reason: because(
        noConnection
          ? `no connection: ${tlsReason(firstTls!)}`
          : (denyReason ?? `no workload of ${svc.namespace}/${svc.name} to call`),
      ),
    };
  }
  const reason = because(allowReason ?? 'allowed');
  if (allowedByWorkload.every((s) => s.allowed.size === s.total))
    return { access: 'allow', allowed: [], policies: [...policies].sort(), ...tls, ...where, reason };
  // What is allowed on at least one workload of the Service (versions may differ).
  const union = new Set(allowedByWorkload.flatMap((s) => [...s.allowed]));
  return {
    access: 'partial',
    allowed: grpc ? summarizePaths([...union]) : summarize([...union]),
    policies: [...policies].sort(),
    ...tls,
    ...where,
    reason,
  };
}

/** gRPC paths allowed, without those a `prefix*` allowed beside them covers (`*`, `/`: every path). */
function summarizePaths(allowed: string[]): string[] {
  const patterns = allowed.filter((p) => p !== '*' && p !== '/');
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return patterns.filter((p) => !prefixes.some((x) => p !== `${x}*` && p.startsWith(x))).sort();
}

/** `GET /`, `GET *` → `GET`; keeps what a person reads: methods with their paths. */
function summarize(allowed: string[]): string[] {
  const byMethod = new Map<string, string[]>();
  for (const a of allowed) {
    const [m, ...rest] = a.split(' ');
    const list = byMethod.get(m!) ?? [];
    list.push(rest.join(' '));
    byMethod.set(m!, list);
  }
  const out: string[] = [];
  for (const [m, paths] of byMethod) {
    if (paths.includes('*') && paths.includes('/')) out.push(m);
    else out.push(`${m} ${paths.filter((p) => p !== '*').join(',')}`);
  }
  return out.sort();
}

const SYMBOL: Record<Access, string> = { allow: 'allow', partial: '', deny: '-', 'no-connection': 'no mTLS' };

/** The matrix as text: callers down, callees across, `*` on declared calls, `!CODE` on differences; then the findings. */
export function formatReachability(r: Reachability): string {
  const short = (to: string) => {
    const [ns, name] = to.split('/');
    return r.callers.every((c) => c.namespace === ns || c.ingress) ? name! : to;
  };
  const head = ['caller \\ callee', ...r.callees.map(short)];
  const rows = r.callers.map((c) => [
    `${c.name}${c.ingress ? ' (ingress)' : ''}`,
    ...r.callees.map((to) => {
      const cell = r.cells.find((x) => x.from === c && x.to === to)!;
      const base = cell.access === 'partial' ? cell.allowed.join(' ') : SYMBOL[cell.access];
      return `${base}${cell.declared ? ' *' : ''}${cell.findings.map((f) => ` !${f}`).join('')}`;
    }),
  ]);
  const out = [...columns(head, rows), ''];
  out.push(
    "allow: every request allowed; GET, GET /p*: only those; -: denied; no mTLS: the connection fails (the caller's TLS does not match the server's mode)",
  );
  return [...out, ...differences(r)].join('\n');
}

/** The legend of the declared-call marks and the differences with the declared call graph, a line each. */
function differences(r: Reachability): string[] {
  const out: string[] = [];
  if (r.hasCallGraph) {
    out.push(
      '*: a declared call (app.calls); !MESH506: declared but denied; !MESH507: allowed by principal, not declared',
    );
    const diffs = r.denied.length + r.undeclared.length;
    out.push(
      diffs
        ? `${diffs} difference(s) between the policies and the declared call graph:`
        : 'No difference between the policies and the declared call graph.',
    );
    for (const d of r.denied) out.push(`  MESH506 ${deniedCallMessage(d)}`);
    for (const u of r.undeclared)
      out.push(
        `  MESH507 ${u.policy.namespace}/${u.policy.name} rules[${u.rule}] allows ${u.principal}, but no declared call from it reaches ${u.callees.join(', ') || 'the selected workloads'}`,
      );
  } else {
    out.push(
      'No declared call graph (YAML or a cluster, without --calls or a *.calls.yaml file): nothing to compare.',
    );
  }
  return out;
}

/**
 * Who can call whom as a list, readable at any number of services: one line per caller and
 * Service it may reach (and per declared call the policies deny), with the port and protocol, what
 * is allowed, and why; then the differences with the declared call graph.
 */
export function formatReachabilityList(r: Reachability): string {
  const short = (to: string) => {
    const [ns, name] = to.split('/');
    return r.callers.every((c) => c.namespace === ns || c.ingress) ? name! : to;
  };
  const head = ['caller', 'service', 'port', 'protocol', 'why', 'may'];
  const rows: string[][] = [];
  let hidden = 0;
  for (const c of r.callers)
    for (const cell of r.cells.filter((x) => x.from === c)) {
      const open = cell.access === 'allow' || cell.access === 'partial';
      if (!open && !cell.declared && !cell.findings.length) {
        hidden++;
        continue;
      }
      const may =
        cell.access === 'partial'
          ? cell.allowed.join(' ')
          : cell.access === 'deny'
            ? 'denied'
            : SYMBOL[cell.access];
      rows.push([
        `${c.name}${c.ingress ? ' (ingress)' : ''}`,
        short(cell.to),
        cell.port === undefined ? '-' : String(cell.port),
        cell.protocol,
        cell.reason,
        `${may}${cell.declared ? ' *' : ''}${cell.findings.map((f) => ` !${f}`).join('')}`,
      ]);
    }
  const out = [...columns(head, rows), ''];
  out.push(
    `${rows.length} caller/service pair(s) listed; ${hidden} denied or without a connection, and not declared, are not (--matrix shows every pair)`,
  );
  out.push(
    "may: allow (every request), the requests allowed (GET, GET /api/*; gRPC: /pkg.Service/Method), denied, or no mTLS (the caller's TLS does not match the server's mode)",
  );
  return [...out, ...differences(r)].join('\n');
}

/** Plain-text columns: the header, a rule of dashes, then the rows, each column as wide as its widest cell. */
function columns(head: string[], rows: string[][]): string[] {
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((s, i) => s.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
