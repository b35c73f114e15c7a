/**
 * Draws docs/bookinfo-graph.svg, the picture of Bookinfo in docs/explain.md: the `zero-trust-call-graph`
 * scenario (the gateway, the call graph, STRICT mTLS and the ALLOW policies derived from it) with
 * the short example's reviews routes (jason to v2, everyone else 80% v1 / 20% v3) and the 7 s delay on
 * ratings for jason. `npx tsx scripts/bookinfo-graph.ts` rewrites it; a unit test keeps it current.
 */
import { App as CdkApp, Duration } from 'cdk8s';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { meshGraphSvg } from '../mesh/explain/graph.js';
import { bookinfo, SCENARIOS } from '../examples/bookinfo/bookinfo.js';

export const GRAPH_FILE = join(dirname(fileURLToPath(import.meta.url)), '../docs/bookinfo-graph.svg');

/** The SVG of the Bookinfo pictured in docs/explain.md. */
export async function bookinfoGraph(): Promise<string> {
  process.env.CDK8S_MESH_WARNINGS ??= 'off';
  const b = bookinfo(new CdkApp({ outdir: '/nonexistent' }), 'bookinfo');
  SCENARIOS['zero-trust-call-graph'].build(b);
  const jason = [{ headers: { 'end-user': { exact: 'jason' } } }];
  b.reviews.addRoute({ match: jason, to: [{ subset: 'v2' }] });
  b.reviews.addRoute({
    to: [
      { subset: 'v1', weight: 80 },
      { subset: 'v3', weight: 20 },
    ],
  });
  b.ratings.addRoute({
    match: jason,
    fault: { delay: { fixedDelay: Duration.seconds(7), percentage: 100 } },
    to: [{ subset: 'v1' }],
  });
  b.ratings.addRoute({ to: [{ subset: 'v1' }] });
  return meshGraphSvg(b.mesh.model(), {
    title: 'Bookinfo: zero trust from the call graph, reviews 80/20, jason to v2',
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(GRAPH_FILE, await bookinfoGraph());
  console.log(`wrote ${GRAPH_FILE}`);
}
