/** Who sends the request: a workload, a principal, the ingress gateway or a client outside the mesh. */
import { principalOf, workloadsOf } from '../model/query.js';
import type { MeshModel, Service, Workload } from '../model/types.js';
import { ExplainError, type Caller, type ExplainOptions } from './types.js';

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
    ...(w.ambient ? { ambient: true } : {}),
    ingress: false,
  };
}
