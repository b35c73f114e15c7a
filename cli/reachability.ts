/**
 * `cli reachability`: who can call whom, from the policies, as a table; and, given the declared
 * call graph (`--calls`), the differences, which are the validator's MESH506 and MESH507.
 * `cli graph` (./graph.ts) loads its input the same way.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { formatReachability, reachability } from '../mesh/explain/reachability.js';
import { buildModel } from '../mesh/model/load.js';
import { principalOf } from '../mesh/model/query.js';
import type { DeclaredCall, MeshModel, SourcedObject } from '../mesh/model/types.js';
import type { ParseProblem } from '../mesh/model/yaml.js';
import { collectFiles, loadFiles } from './files.js';
import { loadFromCluster } from './kube.js';

/** The subset of the CLI's options these commands read. */
export interface MeshInputOptions {
  readonly kubeconfig?: string;
  readonly namespace?: string;
  /** A YAML/JSON file of declared calls. */
  readonly calls?: string;
}

export interface MeshInput {
  readonly model: MeshModel;
  readonly problems: readonly ParseProblem[];
  readonly notes: readonly string[];
}

/** One declared call as written in a `--calls` file: `from`/`to` are `app` or `namespace/app`; `from` may be `ingress`. */
interface CallEntry {
  readonly from: string;
  readonly to: string;
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
}

/**
 * The declared calls of a `--calls` file (a list, or `{ calls: [...] }`), each caller's principal
 * taken from its workloads' ServiceAccount in the model.
 */
export function readCalls(
  model: MeshModel,
  text: string,
  file: string,
  defaultNs = 'default',
): DeclaredCall[] {
  const doc = parse(text) as unknown;
  const list = Array.isArray(doc) ? doc : (doc as { calls?: unknown })?.calls;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a list of { from, to, methods?, paths? }`);
  return list.map((raw, i) => {
    const c = raw as CallEntry;
    if (typeof c?.from !== 'string' || typeof c?.to !== 'string')
      throw new Error(`${file}: calls[${i}] needs from and to (app or namespace/app)`);
    const split = (s: string) => (s.includes('/') ? (s.split('/', 2) as [string, string]) : [defaultNs, s]);
    const [toNs, to] = split(c.to);
    if (c.from === 'ingress' || c.from === 'istio-ingressgateway') {
      const ns = model.rootNamespace;
      return {
        from: {
          name: 'istio-ingressgateway',
          namespace: ns,
          principal: principalOf(model, ns, 'istio-ingressgateway-service-account'),
        },
        to: { name: to!, namespace: toNs! },
        ...(c.methods ? { methods: c.methods } : {}),
        ...(c.paths ? { paths: c.paths } : {}),
      };
    }
    const [fromNs, from] = split(c.from);
    const w = model.workloads.find(
      (x) => x.namespace === fromNs && (x.podLabels.app === from || x.name === from),
    );
    if (!w) throw new Error(`${file}: calls[${i}]: no workload ${fromNs}/${from} in the mesh`);
    return {
      from: { name: from!, namespace: fromNs!, principal: principalOf(model, fromNs!, w.serviceAccountName) },
      to: { name: to!, namespace: toNs! },
      ...(c.methods ? { methods: c.methods } : {}),
      ...(c.paths ? { paths: c.paths } : {}),
    };
  });
}

/** Reads files and directories, or a cluster, into the model (with `--calls` as its call graph). */
export async function loadMesh(paths: readonly string[], o: MeshInputOptions): Promise<MeshInput> {
  let objects: SourcedObject[];
  let problems: ParseProblem[] = [];
  let notes: string[] = [];
  if (o.kubeconfig) {
    if (paths.length) throw new Error('give files or --kubeconfig, not both');
    ({ objects, notes } = await loadFromCluster(o.kubeconfig, o.namespace?.split(',').filter(Boolean)));
  } else {
    if (!paths.length) throw new Error('no files or directories given');
    ({ objects, problems } = loadFiles(collectFiles(paths)));
  }
  let model = buildModel(objects);
  if (o.calls) {
    const ns = model.services[0]?.namespace ?? 'default';
    model = buildModel(objects, { calls: readCalls(model, readFileSync(o.calls, 'utf8'), o.calls, ns) });
  }
  return { model, problems, notes };
}

/** `cli reachability`: prints the matrix; exit 79 when a declared call is denied (MESH506, an error). */
export async function reachabilityCommand(
  paths: readonly string[],
  o: MeshInputOptions & { readonly json: boolean },
  io: { readonly out: (s: string) => void; readonly err: (s: string) => void },
): Promise<number> {
  const { model, problems } = await loadMesh(paths, o);
  for (const p of problems) io.err(`Error [parse] ${p.file}:${p.line}: ${p.message} - skipping\n`);
  const r = reachability(model);
  if (o.json) {
    io.out(
      `${JSON.stringify(
        {
          callers: r.callers,
          callees: r.callees,
          cells: r.cells.map(({ tls, ...c }) => ({ ...c, from: c.from.name, mutual: tls?.mutual })),
          differences: [
            ...r.denied.map((d) => ({
              code: 'MESH506',
              from: d.call.from.name,
              to: d.call.to.name,
              request: `${d.method} ${d.path}`,
              reason: d.result.reason,
            })),
            ...r.undeclared.map((u) => ({
              code: 'MESH507',
              policy: `${u.policy.namespace}/${u.policy.name}`,
              principal: u.principal,
              callees: u.callees,
            })),
          ],
        },
        null,
        2,
      )}\n`,
    );
  } else io.out(`${formatReachability(r)}\n`);
  if (r.denied.length) return 79;
  return problems.length ? 65 : 0;
}
