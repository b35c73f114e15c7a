/**
 * The oracle: Istio 1.30's own config generation (pilot/test/xds builds a fake istiod from the
 * objects, pilot/pkg/simulation walks the listeners it generates), built by provision.sh from
 * test/harness/go/oracle. One long-running process answers many meshes, one JSON line each.
 *
 * `oracleCase` turns a model and explain requests into what the oracle reads (Services, Pods and
 * EndpointSlices with made-up IPs; the Istio objects as loaded) and `compareWithOracle` reads its
 * answer against explain's, field by field.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { durationMs } from '../../api/duration.js';
import { explain, type ExplainRequest, type Explanation } from '../../mesh/explain/index.js';
import {
  containerPortOf,
  effectiveMtls,
  lookupHost,
  policiesFor,
  workloadsOf,
  type KubeObject,
  type MeshModel,
  type Workload,
} from '../../mesh/model/index.js';

/** The proxy a call is made from or to, as the oracle builds it. */
export interface OracleProxy {
  readonly type: 'sidecar' | 'router';
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface OracleCall {
  readonly proxy: OracleProxy;
  readonly mode: 'outbound' | 'inbound' | 'gateway';
  readonly address: string;
  readonly port: number;
  readonly host: string;
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: 'plaintext' | 'tls' | 'mtls';
}

/** One call's answer: what Envoy was given, as Istio generated it. */
export interface OracleResult {
  readonly error?: string;
  readonly listener?: string;
  readonly filterChain?: string;
  readonly routeConfig?: string;
  readonly virtualHost?: string;
  readonly route?: string;
  readonly routeIndex: number;
  /** `/apis/networking.istio.io/v1/namespaces/<ns>/virtual-service/<name>` of the route. */
  readonly config?: string;
  readonly clusters?: readonly { readonly name: string; readonly weight: number }[];
  readonly fault?: {
    readonly delayMs?: number;
    readonly delayPercent?: number;
    readonly abortStatus?: number;
    readonly abortPercent?: number;
  };
  readonly timeoutMs?: number;
  readonly retry?: { readonly attempts: number; readonly perTryTimeoutMs?: number; readonly retryOn: string };
  readonly mirrors?: readonly { readonly cluster: string; readonly percent: number }[];
  readonly redirect?: string;
  readonly directResponse?: number;
  readonly rbac?: readonly { readonly action: string; readonly policies: readonly string[] }[];
}

export interface OracleRequest {
  readonly kube: string;
  readonly config: string;
  readonly calls: readonly OracleCall[];
}

/** A running oracle process. */
export class Oracle {
  private readonly waiting = new Map<string, (a: { results?: OracleResult[]; error?: string }) => void>();
  private next = 0;
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  /** Starts the oracle binary (from provision.sh: `<bin>/oracle`) and waits until it reads requests. */
  static async start(binary: string): Promise<Oracle> {
    const child = spawn(binary, ['-test.run', '^TestOracle$', '-test.timeout', '0'], {
      env: { ...process.env, CDK8S_MESH_ORACLE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const o = new Oracle(child);
    let stderrTail = '';
    child.stderr.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4000);
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => {
        o.exited = `the oracle (${binary}) exited with code ${code}: ${stderrTail}`;
        reject(new Error(o.exited));
        for (const w of o.waiting.values()) w({ error: o.exited });
        o.waiting.clear();
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const msg = JSON.parse(line) as {
          ready?: boolean;
          id?: string;
          results?: OracleResult[];
          error?: string;
        };
        if (msg.ready) return resolve();
        const w = msg.id !== undefined ? o.waiting.get(msg.id) : undefined;
        if (w) {
          o.waiting.delete(msg.id!);
          w(msg);
        }
      });
    });
    await ready;
    return o;
  }

  /** Asks about one mesh; rejects when Istio's config generation fails for it. */
  async ask(req: OracleRequest): Promise<OracleResult[]> {
    if (this.exited) throw new Error(this.exited);
    const id = String(this.next++);
    const answer = new Promise<{ results?: OracleResult[]; error?: string }>((resolve) =>
      this.waiting.set(id, resolve),
    );
    this.child.stdin.write(`${JSON.stringify({ id, ...req })}\n`);
    const a = await answer;
    if (a.error || !a.results) throw new Error(a.error ?? 'the oracle gave no results');
    return a.results;
  }

  /** Ends the process (its stdin closes; it exits after the last answer). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.on('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  }
}

const INGRESS: OracleProxy = {
  type: 'router',
  name: 'istio-ingressgateway-0',
  namespace: 'istio-system',
  ip: '10.250.0.1',
  labels: { istio: 'ingressgateway' },
};

/** Made-up addresses for the model's Services and pods (the model has none). */
interface Addresses {
  readonly serviceIp: Map<string, string>;
  readonly podIp: Map<Workload, string>;
}

const ipOf = (prefix: string, i: number) => `${prefix}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const podName = (w: Workload) => `${w.name}-0`;

function kubeObjects(model: MeshModel): { objects: KubeObject[]; addr: Addresses } {
  const addr: Addresses = { serviceIp: new Map(), podIp: new Map() };
  model.services.forEach((s, i) => addr.serviceIp.set(s.fqdn, ipOf('10.96', i)));
  model.workloads.forEach((w, i) => addr.podIp.set(w, ipOf('10.1', i)));
  const objects: KubeObject[] = [];
  for (const n of model.namespaces)
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.name, labels: n.labels } });
  for (const s of model.services) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: s.namespace, labels: s.labels },
      spec: {
        clusterIP: addr.serviceIp.get(s.fqdn),
        ...(s.selector ? { selector: s.selector } : {}),
        ports: s.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: p.targetPort,
          protocol: p.protocol,
          ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
        })),
      },
    });
    const pods = workloadsOf(model, s);
    if (pods.length)
      objects.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${s.name}-slice`,
          namespace: s.namespace,
          labels: { 'kubernetes.io/service-name': s.name },
        },
        addressType: 'IPv4',
        endpoints: pods.map((w) => ({
          addresses: [addr.podIp.get(w)],
          conditions: { ready: true },
          targetRef: { kind: 'Pod', name: podName(w), namespace: w.namespace },
        })),
        ports: s.ports.map((p) => ({
          name: p.name,
          port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
          protocol: p.protocol,
        })),
      });
  }
  for (const w of model.workloads)
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName(w), namespace: w.namespace, labels: w.podLabels },
      spec: {
        serviceAccountName: w.serviceAccountName,
        containers: [
          { name: 'app', image: 'app', ports: w.containerPorts.map((containerPort) => ({ containerPort })) },
        ],
      },
      status: { podIP: addr.podIp.get(w), phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    });
  return { objects, addr };
}

function istioObjects(model: MeshModel): KubeObject[] {
  return [
    ...model.gateways,
    ...model.virtualServices,
    ...model.destinationRules,
    ...model.peerAuthentications,
    ...model.authorizationPolicies,
    ...model.serviceEntries,
  ].map((e) => ({ ...e.raw, metadata: { ...e.raw.metadata, name: e.name, namespace: e.namespace } }));
}

const yamlOf = (objects: readonly KubeObject[]) => objects.map((o) => stringify(o)).join('---\n');

/** What one explain request becomes: the calls to ask, and how to read their answers. */
export interface CaseCall {
  readonly request: ExplainRequest;
  readonly explanation: Explanation;
  /** Index of the outbound (or gateway) call in the request's calls; undefined when no proxy routes it. */
  readonly outbound?: number;
  /** The callee asked about on inbound: its workload, port and the two calls (plain text, mTLS). */
  readonly inbound?: {
    readonly workload: Workload;
    readonly port: number;
    readonly plaintext: number;
    readonly mtls: number;
  };
}

/** A mesh and explain requests as one oracle request. */
export function oracleCase(
  model: MeshModel,
  requests: readonly ExplainRequest[],
): { readonly request: OracleRequest; readonly calls: readonly CaseCall[] } {
  const { objects, addr } = kubeObjects(model);
  const calls: OracleCall[] = [];
  const cases: CaseCall[] = [];
  for (const request of requests) {
    const e = explain(model, request);
    const reg = e.caller.ingress ? undefined : lookupHost(model, e.host);
    const service = reg?.type === 'service' ? reg.service : undefined;
    let outbound: number | undefined;
    if (e.caller.ingress) {
      const port =
        request.port ??
        model.gateways.flatMap((g) => g.servers).find((s) => s.hosts.some((h) => h.endsWith(request.host)))
          ?.port.number;
      if (port !== undefined) {
        // An HTTPS (or TLS) server is reached with TLS, its SNI the host.
        const tls = model.gateways
          .flatMap((g) => g.servers)
          .some((s) => s.port.number === port && ['HTTPS', 'TLS'].includes(s.port.protocol ?? ''));
        outbound = calls.length;
        calls.push({
          proxy: INGRESS,
          mode: 'gateway',
          address: INGRESS.ip,
          port,
          ...http(request, request.host),
          ...(tls ? { tls: 'tls' as const } : {}),
        });
      }
    } else if (e.caller.sidecar && service) {
      const w = model.workloads.find((x) => `${x.kind} ${x.namespace}/${x.name}` === e.caller.description);
      if (w) {
        outbound = calls.length;
        calls.push({
          proxy: {
            type: 'sidecar',
            name: podName(w),
            namespace: w.namespace,
            ip: addr.podIp.get(w)!,
            labels: w.podLabels,
          },
          mode: 'outbound',
          address: addr.serviceIp.get(service.fqdn)!,
          port: request.port ?? service.ports[0]!.port,
          ...http(request, service.fqdn),
        });
      }
    }
    // Inbound: the most likely destination's first workload, on the container port.
    const dest = [...e.destinations].sort((a, b) => b.probability - a.probability)[0];
    const destReg = dest ? lookupHost(model, dest.host) : undefined;
    const destService = destReg?.type === 'service' ? destReg.service : undefined;
    const server = dest?.workloads[0]
      ? model.workloads.find((x) => x.name === dest.workloads[0] && x.namespace === destService?.namespace)
      : undefined;
    let inbound: CaseCall['inbound'];
    if (server && destService && server.sidecar) {
      const port = containerPortOf(destService, dest!.port ?? (e.caller.ingress ? undefined : request.port));
      if (port !== undefined) {
        const proxy: OracleProxy = {
          type: 'sidecar',
          name: podName(server),
          namespace: server.namespace,
          ip: addr.podIp.get(server)!,
          labels: server.podLabels,
        };
        const base = {
          proxy,
          mode: 'inbound' as const,
          address: proxy.ip,
          port,
          ...http(request, destService.fqdn),
        };
        inbound = { workload: server, port, plaintext: calls.length, mtls: calls.length + 1 };
        calls.push({ ...base, tls: 'plaintext' }, { ...base, tls: 'mtls' });
      }
    }
    cases.push({
      request,
      explanation: e,
      ...(outbound !== undefined ? { outbound } : {}),
      ...(inbound ? { inbound } : {}),
    });
  }
  return { request: { kube: yamlOf(objects), config: yamlOf(istioObjects(model)), calls }, calls: cases };
}

function http(r: ExplainRequest, host: string) {
  return {
    host,
    method: r.method ?? 'GET',
    path: r.path ?? '/',
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

/** The fields compared, in the agreement table's order. */
export const FIELDS = [
  'route',
  'clusters',
  'fault',
  'timeout',
  'retries',
  'mirror',
  'redirect',
  'inbound-plaintext',
  'inbound-mtls',
  'authorization-policies',
] as const;
export type Field = (typeof FIELDS)[number];

/** One field of one call where explain and Istio disagree. */
export interface Disagreement {
  readonly field: Field;
  readonly explain: unknown;
  readonly istio: unknown;
}

/** The fields compared for one call (`compared`) and those that disagree. */
export interface Comparison {
  readonly compared: readonly Field[];
  readonly disagreements: readonly Disagreement[];
}

const ISTIO_DEFAULT_RETRIES = 2;
const round = (n: number) => Math.round(n * 100) / 100;

/** Compares explain's answer for one request with Istio's generated config. */
export function compareWithOracle(
  model: MeshModel,
  c: CaseCall,
  results: readonly OracleResult[],
): Comparison {
  const compared: Field[] = [];
  const out: Disagreement[] = [];
  const check = (field: Field, ex: unknown, istio: unknown) => {
    compared.push(field);
    if (JSON.stringify(ex) !== JSON.stringify(istio)) out.push({ field, explain: ex, istio });
  };
  const e = c.explanation;
  if (c.outbound !== undefined) {
    const r = results[c.outbound]!;
    const redirected =
      r.error === 'tls required, sending 301' || (r.redirect ?? '').includes('https_redirect:true');
    check(
      'redirect',
      Boolean(e.redirect && (e.redirect as { httpsRedirect?: boolean }).httpsRedirect),
      redirected,
    );
    const istioRoute = r.error ? (redirected ? 'redirect' : `error: ${r.error}`) : 'route';
    const explainRoute = e.noRoute ? 'error: no route matched' : e.redirect ? 'redirect' : 'route';
    const sameError =
      e.noRoute &&
      ['no route matched', 'no virtual host matched', 'no listener matched'].includes(r.error ?? '');
    check('route', explainRoute, sameError ? explainRoute : istioRoute);
    if (!r.error && !e.noRoute && !e.redirect) {
      const port = c.request.port;
      const ex = e.destinations
        .filter((d) => d.probability > 0)
        .map((d) => {
          const reg = lookupHost(model, d.host);
          // The Service port: the destination's, else the one called (the gateway's port is not a Service port).
          const called = e.caller.ingress ? undefined : port;
          const svcPort =
            d.port ?? (reg?.type === 'service' ? (called ?? reg.service.ports[0]?.port) : called);
          return `outbound|${svcPort ?? ''}|${d.subset ?? ''}|${d.host}=${round(d.probability * 100)}`;
        })
        .sort();
      const istio = (r.clusters ?? [])
        .filter((x) => x.weight > 0)
        .map((x) => `${x.name}=${x.weight}`)
        .sort();
      check('clusters', ex, istio);
      const f = e.fault;
      check(
        'fault',
        f
          ? {
              ...(f.delay
                ? { delayMs: durationMs(f.delay.fixedDelay), delayPercent: f.delay.percentage }
                : {}),
              ...(f.abort ? { abortStatus: f.abort.httpStatus, abortPercent: f.abort.percentage } : {}),
            }
          : null,
        r.fault ?? null,
      );
      check('timeout', e.timeout ? (durationMs(e.timeout) ?? e.timeout) : 0, r.timeoutMs ?? 0);
      check(
        'retries',
        e.retries
          ? {
              attempts: e.retries.attempts,
              ...(e.retries.perTryTimeout ? { perTryTimeoutMs: durationMs(e.retries.perTryTimeout) } : {}),
            }
          : { attempts: ISTIO_DEFAULT_RETRIES },
        r.retry
          ? {
              attempts: r.retry.attempts,
              ...(r.retry.perTryTimeoutMs ? { perTryTimeoutMs: r.retry.perTryTimeoutMs } : {}),
            }
          : { attempts: 0 },
      );
      check(
        'mirror',
        e.mirror && e.mirror.percentage > 0
          ? [
              `outbound|${(e.caller.ingress ? undefined : port) ?? svcPortOf(model, e.mirror.host) ?? ''}|${e.mirror.subset ?? ''}|${e.mirror.host}=${e.mirror.percentage}`,
            ]
          : [],
        (r.mirrors ?? []).map((m) => `${m.cluster}=${m.percent}`),
      );
    }
  }
  if (c.inbound) {
    const mode = effectiveMtls(model, c.inbound.workload, c.inbound.port).mode;
    const plain = results[c.inbound.plaintext]!;
    const mtls = results[c.inbound.mtls]!;
    check('inbound-plaintext', mode !== 'STRICT', !plain.error);
    check('inbound-mtls', mode !== 'DISABLE', !mtls.error);
    const ok = !mtls.error ? mtls : !plain.error ? plain : undefined;
    if (ok) {
      const mine = (action: string) =>
        policiesFor(model, c.inbound!.workload)
          .filter((p) => p.action === action)
          .map((p) => `${p.namespace}/${p.name}`)
          .sort();
      const theirs = (action: string) =>
        [
          ...new Set(
            (ok.rbac ?? [])
              .filter((x) => x.action === action)
              .flatMap((x) => x.policies)
              .map((n) => /^ns\[([^\]]+)\]-policy\[([^\]]+)\]/.exec(n))
              .filter((m): m is RegExpExecArray => m !== null)
              .map((m) => `${m[1]}/${m[2]}`),
          ),
        ].sort();
      check(
        'authorization-policies',
        { ALLOW: mine('ALLOW'), DENY: mine('DENY') },
        { ALLOW: theirs('ALLOW'), DENY: theirs('DENY') },
      );
    }
  }
  return { compared, disagreements: out };
}

function svcPortOf(model: MeshModel, fqdn: string): number | undefined {
  const reg = lookupHost(model, fqdn);
  return reg?.type === 'service' ? reg.service.ports[0]?.port : undefined;
}

/** The provisioned oracle binary. */
export function oracleBinary(bin: string): string {
  return `${bin}/oracle`;
}

/** Explain's and Istio's answers for one mesh, request by request. */
export async function compareMesh(
  oracle: Oracle,
  model: MeshModel,
  requests: readonly ExplainRequest[],
): Promise<{ readonly call: CaseCall; readonly comparison: Comparison }[]> {
  const { request, calls } = oracleCase(model, requests);
  const results = await oracle.ask(request);
  return calls.map((call) => ({ call, comparison: compareWithOracle(model, call, results) }));
}

const ISTIO_KINDS = new Set([
  'VirtualService',
  'DestinationRule',
  'Gateway',
  'PeerAuthentication',
  'AuthorizationPolicy',
]);

/**
 * The smallest set of objects (dropping whole Istio objects, then `http` rules) for which `request`
 * still disagrees on `field`: what a failing differential test prints.
 */
export async function minimalCase(
  oracle: Oracle,
  objects: readonly KubeObject[],
  request: ExplainRequest,
  field: Field,
  load: (objects: readonly KubeObject[]) => MeshModel,
): Promise<{ readonly objects: KubeObject[]; readonly disagreement: Disagreement | undefined }> {
  const disagreement = async (objs: readonly KubeObject[]) => {
    try {
      const [r] = await compareMesh(oracle, load(objs), [request]);
      return r?.comparison.disagreements.find((d) => d.field === field);
    } catch {
      return undefined;
    }
  };
  let current = [...objects];
  for (let i = current.length - 1; i >= 0; i--) {
    if (!ISTIO_KINDS.has(current[i]!.kind ?? '')) continue;
    const without = current.filter((_, j) => j !== i);
    if (await disagreement(without)) current = without;
  }
  for (let i = 0; i < current.length; i++) {
    const spec = current[i]!.spec as { http?: unknown[] } | undefined;
    if (current[i]!.kind !== 'VirtualService' || !spec?.http) continue;
    for (let k = spec.http.length - 1; k >= 0 && spec.http.length > 1; k--) {
      const http = spec.http.filter((_, j) => j !== k);
      const candidate = current.map((o, j) => (j === i ? { ...o, spec: { ...spec, http } } : o));
      if (await disagreement(candidate)) current = candidate;
    }
  }
  return { objects: current, disagreement: await disagreement(current) };
}

/** A disagreement as a reader reproduces it: the Istio objects, the request, both answers. */
export function formatCase(
  objects: readonly KubeObject[],
  request: ExplainRequest,
  d: Disagreement | undefined,
): string {
  return [
    `request: ${JSON.stringify(request)}`,
    d
      ? `field ${d.field}: explain ${JSON.stringify(d.explain)}, Istio ${JSON.stringify(d.istio)}`
      : 'no longer disagrees',
    '--- the Istio objects of the case (Services: productpage, reviews v1-v3; namespace default, injected) ---',
    yamlOf(objects.filter((o) => ISTIO_KINDS.has(o.kind ?? ''))),
  ].join('\n');
}
