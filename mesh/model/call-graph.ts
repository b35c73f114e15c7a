/**
 * The declared call graph as a file: what `writeCallGraphs` writes next to the synthesized YAML
 * (`<chart>.calls.yaml`) and what `lint`, `reachability` and `graph` read back, from a directory
 * or from `--calls`. One entry per declared call: `from` and `to` as `namespace/app`, the caller's
 * SPIFFE `principal` (so the caller need not be among the files read), and the `methods`, `paths`
 * and container `ports` it was declared with (gRPC methods are paths). A hand-written file may leave out the
 * principal and the namespaces; `from: ingress` is the ingress gateway.
 */
import { stringify } from 'yaml';
import type { DeclaredCall } from './types.js';

/** The name a call graph file ends with, which the readers recognize in a directory. */
export const CALL_GRAPH_SUFFIX = '.calls.yaml';

/** Whether a file name is a call graph's (`*.calls.yaml`, `*.calls.yml`, `*.calls.json`), not Kubernetes objects. */
export function isCallGraphFile(name: string): boolean {
  return /\.calls\.(ya?ml|json)$/.test(name);
}

/** One call as the file holds it. */
export interface CallGraphEntry {
  /** `namespace/app`, `app`, or `ingress`. */
  readonly from: string;
  /** The caller's SPIFFE principal. @default - looked up from the caller's workloads */
  readonly principal?: string;
  /** `namespace/app` or `app`. */
  readonly to: string;
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
  /** Container ports of the callee it connects to. @default - the Service's first port */
  readonly ports?: readonly number[];
}

/** The file's entries for `calls`, each call once, in declaration order. */
export function callGraphEntries(calls: readonly DeclaredCall[]): CallGraphEntry[] {
  const seen = new Set<string>();
  const out: CallGraphEntry[] = [];
  for (const c of calls) {
    const e: CallGraphEntry = {
      from: `${c.from.namespace}/${c.from.name}`,
      principal: c.from.principal,
      to: `${c.to.namespace}/${c.to.name}`,
      ...(c.methods ? { methods: [...c.methods] } : {}),
      ...(c.paths ? { paths: [...c.paths] } : {}),
      ...(c.ports ? { ports: [...c.ports] } : {}),
    };
    const key = JSON.stringify(e);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/** The call graph file's text: a comment saying what it is, then `calls:`. */
export function formatCallGraph(calls: readonly DeclaredCall[], of: string): string {
  return (
    `# The declared call graph (app.calls) of ${of}, written by cdk8s synth for\n` +
    '# cdk8s-mesh lint, reachability and graph. Not a Kubernetes object: apply only the .k8s.yaml files.\n' +
    stringify({ calls: callGraphEntries(calls) })
  );
}
