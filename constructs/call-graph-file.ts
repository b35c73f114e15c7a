/**
 * `writeCallGraphs(app)`: the declared call graph of each Mesh of a cdk8s app, written next to the
 * YAML `app.synth()` wrote (`<outdir>/<mesh id>.calls.yaml`), so `cdk8s-mesh lint`, `reachability`
 * and `graph` on that directory compare the policies with the calls the program declared, with no
 * hand-written `--calls` file.
 */
import type { App } from 'cdk8s';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CALL_GRAPH_SUFFIX, formatCallGraph } from '../mesh/model/call-graph.js';
import { Mesh } from './mesh.js';

export interface WriteCallGraphsOptions {
  /** Directory to write to. @default - the app's `outdir` (where `app.synth()` writes) */
  readonly outdir?: string;
}

/**
 * Writes `<outdir>/<mesh id>.calls.yaml` for every Mesh of `app` that declares a call, and returns
 * the paths written. Call it after `app.synth()`. The files are not Kubernetes objects: apply the
 * `.k8s.yaml` files only (`kubectl apply -f dist/<chart>.k8s.yaml`), or write them elsewhere.
 */
export function writeCallGraphs(app: App, options: WriteCallGraphsOptions = {}): string[] {
  const outdir = options.outdir ?? app.outdir;
  const written: string[] = [];
  for (const chart of app.charts) {
    if (!(chart instanceof Mesh)) continue;
    const calls = chart.callGraph();
    if (!calls.length) continue;
    mkdirSync(outdir, { recursive: true });
    const file = join(outdir, `${chart.node.id}${CALL_GRAPH_SUFFIX}`);
    writeFileSync(file, formatCallGraph(calls, `Mesh ${chart.node.path} (namespace ${chart.namespace})`));
    written.push(file);
  }
  return written;
}
