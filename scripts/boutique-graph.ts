/**
 * Draws docs/boutique-graph.svg, the picture in docs/boutique.md, the way a user draws it: the
 * Online Boutique synthesized as `SCENARIO=boutique npm run synth` writes it (the YAML and the call
 * graph beside it, in a temp dir), then `cdk8s-mesh graph` on that directory.
 * `npx tsx scripts/boutique-graph.ts` rewrites it; a unit test keeps it current.
 */
import { App as CdkApp } from 'cdk8s';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from '../cli/main.js';
import { writeCallGraphs } from '../constructs/index.js';
import { boutiqueWithCanary } from '../examples/boutique/boutique.js';

export const BOUTIQUE_GRAPH_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '../docs/boutique-graph.svg',
);
export const BOUTIQUE_GRAPH_TITLE = 'Online Boutique: zero trust from the call graph, REGISTRY_ONLY egress';

/** The SVG `cdk8s-mesh graph dist/ --title …` draws of the synthesized Online Boutique. */
export async function boutiqueGraph(): Promise<string> {
  process.env.CDK8S_MESH_WARNINGS ??= 'off';
  const dist = mkdtempSync(join(tmpdir(), 'boutique-graph-'));
  try {
    const app = new CdkApp({ outdir: dist });
    boutiqueWithCanary(app, 'boutique');
    app.synth();
    writeCallGraphs(app);
    let svg = '';
    let err = '';
    const code = await run(['graph', dist, '--title', BOUTIQUE_GRAPH_TITLE], {
      out: (s) => (svg += s),
      err: (s) => (err += s),
    });
    if (code !== 0) throw new Error(`cdk8s-mesh graph exited ${code}: ${err}`);
    return svg;
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(BOUTIQUE_GRAPH_FILE, await boutiqueGraph());
  console.log(`wrote ${BOUTIQUE_GRAPH_FILE}`);
}
