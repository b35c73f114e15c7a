/**
 * The mesh as a picture: an SVG drawn from the model alone, with no network and no renderer.
 * Services are boxes with a row per version (subset), the share of each route that reaches it,
 * faults and mirrors, and the mTLS mode of its workloads; arrows are the calls the policies allow
 * (declared ones solid, differences in red or orange) and the ingress gateway's routes. ELK's
 * layered algorithm places boxes and arrow labels (./graph/layout.ts).
 */
import type { MeshModel } from '../model/types.js';
import { layoutMeshGraph } from './graph/layout.js';
import { meshGraph } from './graph/model.js';
import { graphSvg } from './graph/svg.js';

export { meshGraph } from './graph/model.js';
export type { GraphEdge, GraphEdgeKind, GraphNode, GraphVersionRow, MeshGraph } from './graph/model.js';
export { layoutMeshGraph } from './graph/layout.js';
export type {
  GraphLayout,
  GraphLayoutOptions,
  PlacedEdge,
  PlacedNode,
  PlacedShape,
  PlacedText,
} from './graph/layout.js';
export { graphSvg } from './graph/svg.js';

/** The SVG of the mesh. Deterministic: the same model gives the same bytes. */
export async function meshGraphSvg(
  model: MeshModel,
  options: { readonly title?: string } = {},
): Promise<string> {
  return graphSvg(await layoutMeshGraph(meshGraph(model)), options);
}
