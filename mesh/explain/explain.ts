/**
 * The request simulator: where one HTTP request goes in the mesh and what happens to it, from
 * the model alone. Which VirtualService and route match, the destinations with their
 * probabilities, the subset's labels and workloads, fault, timeout, retries, mirror, the mTLS
 * mode of the hop, and the authorization decision.
 */
import { destinationWeights } from '../../api/route-weights.js';
import {
  containerPortOf,
  destinationRuleFor,
  effectiveMtls,
  hostMatches,
  indexOf,
  lookupHost,
  principalOf,
  resolveHost,
  selects,
  workloadsOf,
} from '../model/query.js';
import type {
  DestinationRule,
  Gateway,
  HttpMatchRequest,
  HttpRoute,
  Labels,
  MeshModel,
  MtlsMode,
  Service,
  StringMatch,
  TlsMode,
  VirtualService,
  Workload,
} from '../model/types.js';
import { authorize, type AuthzResult } from './authz.js';

/** One request to explain. */
export interface ExplainRequest {
  /**
   * The caller: a workload (`productpage`, `ns/productpage`, a Deployment name or an `app`
   * label), a SPIFFE principal, `ingress` for the ingress gateway, or `outside` for a client
   * without a sidecar.
   * @default 'outside'
   */
  readonly from?: string;
  /** The host called: a Service short name (resolved in the caller's namespace), an FQDN, or, from `ingress`, the Host header. */
  readonly host: string;
  /** Port called. @default - the Service's first port (the Gateway's first server from ingress) */
  readonly port?: number;
  /** @default 'GET' */
  readonly method?: string;
  /** @default '/' */
  readonly path?: string;
  /** Request headers (names are lower-cased). @default {} */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The caller as the simulator sees it. */
export interface Caller {
  readonly description: string;
  readonly namespace: string | undefined;
  readonly labels: Labels;
  readonly principal: string | undefined;
  readonly sidecar: boolean;
  readonly ingress: boolean;
}

/** The mTLS mode of one hop. */
export interface HopTls {
  /** What the client sends: `ISTIO_MUTUAL` (mesh mTLS), `DISABLE` (plain text), or a DestinationRule's SIMPLE/MUTUAL. */
  readonly client: TlsMode;
  /** Who decided the client side: `DestinationRule ns/name` or `auto mTLS`. */
  readonly clientDecidedBy: string;
  /** The server's effective PeerAuthentication mode. */
  readonly server: Exclude<MtlsMode, 'UNSET'>;
  readonly serverDecidedBy: string;
  /** Whether the hop is mutual TLS with Istio identities (principals available to policies). */
  readonly mutual: boolean;
  /** Whether the connection succeeds; false means the request fails (reset / 503). */
  readonly ok: boolean;
}

export interface ExplainedDestination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  /** Share of the matched traffic, in [0, 1]. */
  readonly probability: number;
  /** The subset's labels (from the DestinationRule). */
  readonly labels?: Labels;
  readonly destinationRule?: string;
  /** Names of the workloads the destination reaches. */
  readonly workloads: readonly string[];
  /** Undefined when the destination has no workload (or is outside the mesh). */
  readonly tls?: HopTls;
  readonly authorization?: AuthzResult;
  /** Why the destination cannot serve, if it cannot (unknown host or subset, no workload). */
  readonly problem?: string;
}

export interface ExplainedFault {
  readonly delay?: { readonly fixedDelay: string; readonly percentage: number };
  readonly abort?: { readonly httpStatus: number; readonly percentage: number };
}

export interface Explanation {
  readonly request: Required<Omit<ExplainRequest, 'port'>> & { readonly port?: number };
  readonly caller: Caller;
  /** The host after short-name resolution. */
  readonly host: string;
  /** `namespace/name` of the Gateway (from ingress). */
  readonly gateway?: string;
  /** `namespace/name` of the matched VirtualService; undefined when none applies (default routing). */
  readonly virtualService?: string;
  /** Where the VirtualService came from. */
  readonly virtualServiceWhere?: string;
  /** Index of the matched `http` rule, its name, and which of its `match` blocks matched. */
  readonly route?: { readonly index: number; readonly name?: string; readonly match?: number };
  /** True when no rule matched (Envoy answers 404). */
  readonly noRoute: boolean;
  readonly destinations: readonly ExplainedDestination[];
  readonly fault?: ExplainedFault;
  readonly timeout?: string;
  readonly retries?: {
    readonly attempts: number;
    readonly perTryTimeout?: string;
    readonly retryOn?: string;
  };
  readonly mirror?: { readonly host: string; readonly subset?: string; readonly percentage: number };
  readonly redirect?: Record<string, unknown>;
  readonly directResponse?: number;
  /** The mTLS of the hop to the most likely destination. */
  readonly tls?: HopTls;
  /** The authorization decision at the most likely destination. */
  readonly authorization?: AuthzResult;
  readonly notes: readonly string[];
}

/** Thrown when the request names a caller the model does not have. */
export class ExplainError extends Error {
  override readonly name = 'ExplainError';
}

export interface ExplainOptions {
  /** Labels of the ingress gateway pods. @default { istio: 'ingressgateway' } */
  readonly ingressSelector?: Labels;
  /** Namespace of the ingress gateway. @default the root namespace */
  readonly ingressNamespace?: string;
  /** ServiceAccount of the ingress gateway. @default 'istio-ingressgateway-service-account' */
  readonly ingressServiceAccount?: string;
}

/** Workloads and Services by name and `app` label, first one first (built once per model). */
const byName = new WeakMap<
  MeshModel,
  { workloads: Map<string, Workload[]>; apps: Map<string, Workload[]>; services: Map<string, Service[]> }
>();

function namesOf(model: MeshModel) {
  let ix = byName.get(model);
  if (!ix) {
    const add = <T>(m: Map<string, T[]>, k: string | undefined, v: T) => {
      if (k === undefined) return;
      const list = m.get(k);
      if (list) list.push(v);
      else m.set(k, [v]);
    };
    ix = { workloads: new Map(), apps: new Map(), services: new Map() };
    for (const w of model.workloads) {
      add(ix.workloads, w.name, w);
      add(ix.apps, w.podLabels.app, w);
    }
    for (const s of model.services) add(ix.services, s.name, s);
    byName.set(model, ix);
  }
  return ix;
}

function findWorkload(model: MeshModel, from: string): Workload | undefined {
  const [ns, name] = from.includes('/') ? from.split('/', 2) : [undefined, from];
  const inNs = (x: { namespace: string }) => ns === undefined || x.namespace === ns;
  const ix = namesOf(model);
  return (
    ix.workloads.get(name!)?.find(inNs) ??
    ix.apps.get(name!)?.find(inNs) ??
    (() => {
      const svc = ix.services.get(name!)?.find(inNs);
      return svc ? workloadsOf(model, svc)[0] : undefined;
    })()
  );
}

/** Resolves the `from` of a request. */
export function resolveCaller(
  model: MeshModel,
  from: string | undefined,
  options: ExplainOptions = {},
): Caller {
  if (from === undefined || from === 'outside') {
    return {
      description: 'a client outside the mesh',
      namespace: undefined,
      labels: {},
      principal: undefined,
      sidecar: false,
      ingress: false,
    };
  }
  if (from === 'ingress' || from === 'istio-ingressgateway') {
    const ns = options.ingressNamespace ?? model.rootNamespace;
    const sa = options.ingressServiceAccount ?? 'istio-ingressgateway-service-account';
    return {
      description: 'the ingress gateway',
      namespace: ns,
      labels: options.ingressSelector ?? { istio: 'ingressgateway' },
      principal: principalOf(model, ns, sa),
      sidecar: true,
      ingress: true,
    };
  }
  const spiffe = /^(?:spiffe:\/\/)?[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(from);
  if (spiffe) {
    const w = model.workloads.find((x) => x.namespace === spiffe[1] && x.serviceAccountName === spiffe[2]);
    return {
      description: `principal ${from}`,
      namespace: spiffe[1],
      labels: w?.podLabels ?? {},
      principal: from.replace(/^spiffe:\/\//, ''),
      sidecar: true,
      ingress: false,
    };
  }
  const w = findWorkload(model, from);
  if (!w) {
    const names = [...new Set(model.workloads.map((x) => x.podLabels.app ?? x.name))].slice(0, 20);
    throw new ExplainError(
      `explain: no workload '${from}' in the mesh; use a workload or app name (${names.join(', ') || 'none'}), a principal, 'ingress' or 'outside'`,
    );
  }
  return {
    description: `${w.kind} ${w.namespace}/${w.name}`,
    namespace: w.namespace,
    labels: w.podLabels,
    principal: principalOf(model, w.namespace, w.serviceAccountName),
    sidecar: w.sidecar,
    ingress: false,
  };
}

/** Whether an Istio StringMatch holds for `value`. */
export function stringMatches(m: StringMatch, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  const v = ignoreCase ? value.toLowerCase() : value;
  if (m.exact !== undefined) return (ignoreCase ? m.exact.toLowerCase() : m.exact) === v;
  if (m.prefix !== undefined) return v.startsWith(ignoreCase ? m.prefix.toLowerCase() : m.prefix);
  if (m.regex !== undefined) {
    try {
      return new RegExp(`^(?:${m.regex})$`).test(value);
    } catch {
      return false;
    }
  }
  return true; // `{}`: presence
}

interface MatchContext {
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
    if (!stringMatches(sm, c.headers[k.toLowerCase()])) return false;
  for (const [k, sm] of Object.entries(m.withoutHeaders ?? {}))
    if (stringMatches(sm, c.headers[k.toLowerCase()])) return false;
  for (const [k, sm] of Object.entries(m.queryParams ?? {})) if (!stringMatches(sm, c.query[k])) return false;
  if (m.port !== undefined && c.port !== undefined && m.port !== c.port) return false;
  if (m.sourceLabels && (c.caller.ingress || !selects(m.sourceLabels, c.caller.labels))) return false;
  if (m.sourceNamespace && m.sourceNamespace !== c.caller.namespace) return false;
  if (m.gateways?.length && !m.gateways.some((g) => gatewayRef(g, vsNamespace) === c.gateway)) return false;
  return true;
}

function gatewayRef(g: string, vsNamespace: string): string {
  if (g === 'mesh') return 'mesh';
  const short = g.split('.')[0]!;
  return g.includes('/') ? g : g.includes('.') ? `${g.split('.')[1]}/${short}` : `${vsNamespace}/${g}`;
}

const pct = (p: { value?: number } | undefined, legacy?: number) => p?.value ?? legacy ?? 100;

function subsetPolicyTls(
  dr: DestinationRule | undefined,
  subset: string | undefined,
  port: number | undefined,
): TlsMode | undefined {
  if (!dr) return undefined;
  const portTls = (tp: DestinationRule['trafficPolicy']) =>
    tp?.portLevelSettings?.find((s) => s.port?.number === port)?.tls?.mode;
  const s = subset ? dr.subsets.find((x) => x.name === subset) : undefined;
  return (
    portTls(s?.trafficPolicy) ??
    s?.trafficPolicy?.tls?.mode ??
    portTls(dr.trafficPolicy) ??
    dr.trafficPolicy?.tls?.mode
  );
}

/** The mTLS of a hop from `caller` to `server` (a workload) through DestinationRule `dr`. */
export function hopTls(
  model: MeshModel,
  caller: Caller,
  server: Workload,
  dr: DestinationRule | undefined,
  subset: string | undefined,
  servicePort: number | undefined,
  containerPort: number | undefined,
): HopTls {
  const srv = effectiveMtls(model, server, containerPort);
  const serverDecidedBy = srv.decidedBy
    ? `PeerAuthentication ${srv.decidedBy} (${srv.scope}${srv.scope === 'port' ? ` ${containerPort}` : ''})`
    : 'Istio default (PERMISSIVE)';
  const serverMode = server.sidecar ? srv.mode : 'DISABLE';
  let client: TlsMode;
  let clientDecidedBy: string;
  const drMode = caller.sidecar ? subsetPolicyTls(dr, subset, servicePort) : undefined;
  if (!caller.sidecar) {
    client = 'DISABLE';
    clientDecidedBy = 'caller has no sidecar';
  } else if (drMode) {
    client = drMode;
    clientDecidedBy = `DestinationRule ${dr!.namespace}/${dr!.name}`;
  } else {
    client = server.sidecar && srv.mode !== 'DISABLE' ? 'ISTIO_MUTUAL' : 'DISABLE';
    clientDecidedBy = 'auto mTLS';
  }
  const mtls = client === 'ISTIO_MUTUAL';
  const ok = !server.sidecar
    ? !mtls
    : serverMode === 'STRICT'
      ? mtls
      : serverMode === 'DISABLE'
        ? client === 'DISABLE'
        : client === 'DISABLE' || mtls;
  return {
    client,
    clientDecidedBy,
    server: serverMode,
    serverDecidedBy: server.sidecar ? serverDecidedBy : `${server.name} has no sidecar`,
    mutual: mtls && ok,
    ok,
  };
}

function matchingGateways(
  model: MeshModel,
  caller: Caller,
  host: string,
  port: number | undefined,
): Gateway[] {
  return model.gateways.filter(
    (g) =>
      selects(g.selector, caller.labels) &&
      g.servers.some(
        (s) =>
          (port === undefined || s.port.number === port) &&
          s.hosts.some((h) => hostMatches(h.includes('/') ? h.split('/')[1]! : h, host)),
      ),
  );
}

/** Explains one request. Throws {@link ExplainError} only for a caller the model does not have. */
export function explain(
  model: MeshModel,
  request: ExplainRequest,
  options: ExplainOptions = {},
): Explanation {
  const caller = resolveCaller(model, request.from, options);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
  const rawPath = request.path ?? '/';
  const [path, qs = ''] = rawPath.split('?', 2) as [string, string?];
  const query = Object.fromEntries(new URLSearchParams(qs));
  const method = (request.method ?? 'GET').toUpperCase();
  const notes: string[] = [];
  const req = {
    from: request.from ?? 'outside',
    host: request.host,
    method,
    path: rawPath,
    headers,
    ...(request.port !== undefined ? { port: request.port } : {}),
  };

  const clientNs =
    caller.namespace ?? model.services.find((s) => s.name === request.host)?.namespace ?? 'default';
  let host: string;
  let gateway = 'mesh';
  let candidates: VirtualService[];
  if (caller.ingress) {
    host = request.host;
    const gws = matchingGateways(model, caller, host, request.port);
    if (!gws.length) {
      notes.push(
        `no Gateway selecting the ingress gateway has a server for ${host}${request.port ? `:${request.port}` : ''}`,
      );
      return { request: req, caller, host, noRoute: true, destinations: [], notes };
    }
    const refs = new Set(gws.map((g) => `${g.namespace}/${g.name}`));
    candidates = model.virtualServices.filter(
      (vs) =>
        vs.gateways.some((g) => {
          const r = gatewayRef(g, vs.namespace);
          if (refs.has(r)) gateway = r;
          return refs.has(r);
        }) && vs.hosts.some((h) => hostMatches(h, host) || hostMatches(host, h)),
    );
  } else {
    host = resolveHost(request.host, clientNs, model.clusterDomain);
    const byHost = indexOf(model).virtualServicesByHost;
    candidates = [...new Set([...(byHost.get(host) ?? []), ...(byHost.get('*') ?? [])])].filter(
      (vs) =>
        (!vs.gateways.length || vs.gateways.includes('mesh')) &&
        vs.hosts.some((h) => hostMatches(resolveHost(h, vs.namespace, model.clusterDomain), host)),
    );
  }
  const serviceNs = host.split('.')[1];
  const order = (vs: VirtualService) => (vs.namespace === clientNs ? 0 : vs.namespace === serviceNs ? 1 : 2);
  const vs = [...candidates].sort((a, b) => order(a) - order(b))[0];
  if (candidates.length > 1)
    notes.push(`${candidates.length} VirtualServices match ${host}; Istio uses ${vs!.namespace}/${vs!.name}`);
  if (caller.ingress && !vs) {
    // A gateway has routes only from the VirtualServices bound to it: no default route to a Service.
    notes.push(`no VirtualService bound to a Gateway of the ingress gateway serves ${host}: 404`);
    return { request: req, caller, host, noRoute: true, destinations: [], notes };
  }

  let route: HttpRoute | undefined;
  let routeInfo: Explanation['route'];
  if (vs) {
    const ctx: MatchContext = {
      method,
      path,
      query,
      headers,
      authority: request.host,
      port: request.port,
      caller,
      gateway,
    };
    for (const [i, r] of vs.http.entries()) {
      if (!r.match?.length) {
        route = r;
        routeInfo = { index: i, ...(r.name ? { name: r.name } : {}) };
        break;
      }
      const mi = r.match.findIndex((m) => matchHolds(m, ctx, vs.namespace));
      if (mi >= 0) {
        route = r;
        routeInfo = { index: i, ...(r.name ? { name: r.name } : {}), match: mi };
        break;
      }
    }
    if (!route) {
      notes.push(`no http rule of VirtualService ${vs.namespace}/${vs.name} matches: Envoy answers 404`);
      return {
        request: req,
        caller,
        host,
        gateway: caller.ingress ? gateway : undefined,
        virtualService: `${vs.namespace}/${vs.name}`,
        virtualServiceWhere: vs.where,
        noRoute: true,
        destinations: [],
        notes,
      } as Explanation;
    }
  }

  const vsNs = vs?.namespace ?? clientNs;
  const targets = route
    ? (route.route ?? []).map((d) => ({ ...d.destination, weight: d.weight }))
    : [
        {
          host,
          subset: undefined,
          port: request.port ? { number: request.port } : undefined,
          weight: undefined,
        },
      ];
  const weights = destinationWeights(targets);
  const total = weights.reduce((a, b) => a + b, 0) || 1;

  const destinations: ExplainedDestination[] = targets.map((t, i) => {
    const fqdn = resolveHost(t.host, vsNs, model.clusterDomain);
    const port = t.port?.number ?? (caller.ingress ? undefined : request.port);
    const base = {
      host: fqdn,
      ...(t.subset ? { subset: t.subset } : {}),
      ...(port !== undefined ? { port } : {}),
      probability: weights[i]! / total,
    };
    const reg = lookupHost(model, fqdn);
    if (!reg) return { ...base, workloads: [], problem: `no Service or ServiceEntry for ${fqdn} (503 NR)` };
    if (reg.type === 'serviceEntry') return { ...base, workloads: [], problem: undefined };
    const svc = reg.service;
    const dr = destinationRuleFor(model, fqdn, caller.namespace ?? clientNs);
    let labels: Labels | undefined;
    if (t.subset) {
      const s = dr?.subsets.find((x) => x.name === t.subset);
      if (!s)
        return {
          ...base,
          workloads: [],
          problem: `subset ${t.subset} is not defined in a DestinationRule for ${fqdn} (503 NR)`,
        };
      labels = s.labels;
    }
    const ws = workloadsOf(model, svc).filter((w) => selects(labels, w.podLabels));
    const drRef = dr ? `${dr.namespace}/${dr.name}` : undefined;
    const common = {
      ...base,
      ...(labels ? { labels } : {}),
      ...(drRef ? { destinationRule: drRef } : {}),
      workloads: ws.map((w) => w.name),
    };
    if (!ws.length)
      return {
        ...common,
        problem: `no workload behind ${fqdn}${t.subset ? ` subset ${t.subset}` : ''} (503 UH)`,
      };
    const server = ws[0]!;
    const cport = containerPortOf(svc, port);
    const tls = hopTls(model, caller, server, dr, t.subset, port ?? svc.ports[0]?.port, cport);
    const authorization = authorize(model, server, {
      ...(tls.mutual ? { principal: caller.principal, sourceNamespace: caller.namespace } : {}),
      method,
      path,
      host: request.host,
      ...(cport !== undefined ? { port: cport } : {}),
      headers,
    });
    return { ...common, tls, authorization };
  });

  const f = route?.fault;
  const fault: ExplainedFault | undefined = f
    ? {
        ...(f.delay
          ? {
              delay: {
                fixedDelay: f.delay.fixedDelay ?? '?',
                percentage: pct(f.delay.percentage, f.delay.percent),
              },
            }
          : {}),
        ...(f.abort?.httpStatus !== undefined
          ? { abort: { httpStatus: f.abort.httpStatus, percentage: pct(f.abort.percentage) } }
          : {}),
      }
    : undefined;
  const primary = [...destinations].sort((a, b) => b.probability - a.probability)[0];
  const rt = route?.retries;
  const mirror = route?.mirror;
  return {
    request: req,
    caller,
    host,
    ...(caller.ingress ? { gateway } : {}),
    ...(vs ? { virtualService: `${vs.namespace}/${vs.name}`, virtualServiceWhere: vs.where } : {}),
    ...(routeInfo ? { route: routeInfo } : {}),
    noRoute: false,
    destinations,
    ...(fault ? { fault } : {}),
    ...(route?.timeout ? { timeout: route.timeout } : {}),
    ...(rt
      ? {
          retries: {
            attempts: rt.attempts ?? 0,
            ...(rt.perTryTimeout ? { perTryTimeout: rt.perTryTimeout } : {}),
            ...(rt.retryOn ? { retryOn: rt.retryOn } : {}),
          },
        }
      : {}),
    ...(mirror
      ? {
          mirror: {
            host: resolveHost(mirror.host, vsNs, model.clusterDomain),
            ...(mirror.subset ? { subset: mirror.subset } : {}),
            percentage: pct(route?.mirrorPercentage),
          },
        }
      : {}),
    ...(route?.redirect ? { redirect: route.redirect } : {}),
    ...(route?.directResponse ? { directResponse: route.directResponse.status } : {}),
    ...(primary?.tls ? { tls: primary.tls } : {}),
    ...(primary?.authorization ? { authorization: primary.authorization } : {}),
    notes,
  };
}

const percent = (p: number) => `${Math.round(p * 1000) / 10}%`;

/** The explanation as text, one fact per line (what `cli explain` prints). */
export function formatExplanation(e: Explanation): string {
  const r = e.request;
  const hdrs = Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const lines = [
    `${r.method} ${r.host}${r.port ? `:${r.port}` : ''}${r.path}${hdrs ? ` [${hdrs}]` : ''} from ${e.caller.description}`,
  ];
  if (e.gateway) lines.push(`  gateway:         ${e.gateway}`);
  lines.push(`  host:            ${e.host}`);
  lines.push(
    `  VirtualService:  ${e.virtualService ? `${e.virtualService} (${e.virtualServiceWhere})` : 'none (default route to the Service)'}`,
  );
  if (e.route)
    lines.push(
      `  rule:            http[${e.route.index}]${e.route.name ? ` '${e.route.name}'` : ''}${e.route.match !== undefined ? ` match[${e.route.match}]` : ' (no match: catch-all)'}`,
    );
  if (e.noRoute) lines.push('  result:          404 no route');
  for (const d of e.destinations) {
    lines.push(
      `  → ${percent(d.probability)} ${d.host}${d.subset ? ` subset ${d.subset}` : ''}${d.labels ? ` ${JSON.stringify(d.labels)}` : ''}${d.workloads.length ? ` → ${d.workloads.join(', ')}` : ''}`,
    );
    if (d.problem) lines.push(`      problem:     ${d.problem}`);
    if (d.tls)
      lines.push(
        `      mTLS:        client ${d.tls.client} (${d.tls.clientDecidedBy}), server ${d.tls.server} (${d.tls.serverDecidedBy})${d.tls.ok ? '' : ' → connection fails'}`,
      );
    if (d.authorization)
      lines.push(`      authz:       ${d.authorization.decision}: ${d.authorization.reason}`);
  }
  if (e.fault?.delay)
    lines.push(`  fault delay:     ${e.fault.delay.fixedDelay} on ${e.fault.delay.percentage}% of requests`);
  if (e.fault?.abort)
    lines.push(
      `  fault abort:     HTTP ${e.fault.abort.httpStatus} on ${e.fault.abort.percentage}% of requests`,
    );
  if (e.timeout) lines.push(`  timeout:         ${e.timeout}`);
  if (e.retries)
    lines.push(
      `  retries:         ${e.retries.attempts}${e.retries.perTryTimeout ? ` × ${e.retries.perTryTimeout}` : ''}${e.retries.retryOn ? ` on ${e.retries.retryOn}` : ''}`,
    );
  if (e.mirror)
    lines.push(
      `  mirror:          ${e.mirror.percentage}% to ${e.mirror.host}${e.mirror.subset ? ` subset ${e.mirror.subset}` : ''}`,
    );
  if (e.directResponse) lines.push(`  direct response: ${e.directResponse}`);
  for (const n of e.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
