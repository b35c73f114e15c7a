/** `cli graph`: the mesh as an SVG (services, versions, routes with weights, allowed calls, mTLS), drawn locally. */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { meshGraphSvg } from '../mesh/explain/graph.js';
import { loadMesh, type MeshInputOptions } from './reachability.js';

export async function graphCommand(
  paths: readonly string[],
  o: MeshInputOptions & { readonly out?: string; readonly title?: string },
  io: { readonly out: (s: string) => void; readonly err: (s: string) => void },
): Promise<number> {
  const { model, problems } = await loadMesh(paths, o);
  for (const p of problems) io.err(`Error [parse] ${p.file}:${p.line}: ${p.message} - skipping\n`);
  const svg = meshGraphSvg(model, {
    title: o.title ?? (paths.map((p) => basename(p)).join(', ') || 'cluster'),
  });
  if (o.out) {
    writeFileSync(o.out, svg);
    io.err(`wrote ${o.out}\n`);
  } else io.out(svg);
  return problems.length ? 65 : 0;
}
