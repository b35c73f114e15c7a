/**
 * The mesh picture's legend explains every kind of box and arrow the picture draws: each drawn
 * box (`<g data-node data-kind>`) and arrow (`<path data-edge data-kind>`) has a sample in the
 * legend (`<g data-legend="node:KIND">`, `"edge:KIND"`), on pictures that together draw every
 * kind there is.
 */
import { Testing } from 'cdk8s';
import { buildScenario } from '../../../examples/bookinfo/bookinfo.js';
import { boutiqueWithCanary } from '../../../examples/boutique/boutique.js';
import { meshGraphSvg, type GraphEdgeKind } from '../../../mesh/explain/graph.js';
import type { GraphNodeKind } from '../../../mesh/explain/graph/model.js';
import { textWidth } from '../../../mesh/explain/graph/text-width.js';
import type { MeshModel } from '../../../mesh/model/index.js';

/** Every kind of box and arrow (the compiler holds these lists to the types). */
const NODE_KINDS = Object.keys({
  service: 0,
  ingress: 0,
  external: 0,
  client: 0,
} satisfies Record<GraphNodeKind, 0>).map((k) => `node:${k}`);
const EDGE_KINDS = Object.keys({
  declared: 0,
  allowed: 0,
  denied: 0,
  undeclared: 0,
  ingress: 0,
} satisfies Record<GraphEdgeKind, 0>).map((k) => `edge:${k}`);

/** The kinds of box and arrow an SVG draws, as `node:KIND` / `edge:KIND`. */
function drawnKinds(svg: string): string[] {
  const nodes = [...svg.matchAll(/<g data-node="[^"]*" data-kind="([^"]+)">/g)].map((m) => `node:${m[1]}`);
  const edges = [...svg.matchAll(/<path data-edge="[^"]*" data-kind="([^"]+)"/g)].map((m) => `edge:${m[1]}`);
  return [...new Set([...nodes, ...edges])].sort();
}

/** The kinds the legend explains. */
const legendKinds = (svg: string) =>
  [...svg.matchAll(/<g data-legend="((?:node|edge):[^"]+)">/g)].map((m) => m[1]!);

/** Drawn kinds the legend does not explain. */
const missingFromLegend = (svg: string) => drawnKinds(svg).filter((k) => !legendKinds(svg).includes(k));

/** Bookinfo whose declared call graph differs from its policies: one call denied, one principal undeclared. */
function bookinfoWithDifferences(): MeshModel {
  const { mesh, reviews, details } = buildScenario(Testing.app(), 'zero-trust');
  details.calls(reviews, { methods: ['GET'] });
  const m = mesh.model();
  return {
    ...m,
    calls: [
      ...(m.calls ?? []).filter((c) => c.from.name !== 'details'),
      {
        from: {
          name: 'reviews',
          namespace: 'default',
          principal: mesh.principalOf('default', 'bookinfo-reviews'),
        },
        to: { name: 'ratings', namespace: 'default' },
        methods: ['GET'],
      },
    ],
  };
}

describe('the legend', () => {
  let pictures: Record<string, string>;
  beforeAll(async () => {
    pictures = {
      // Services, the load generator (a client box), the ingress gateway, external services
      boutique: await meshGraphSvg(boutiqueWithCanary(Testing.app(), 'boutique').mesh.model()),
      // an open rule: allowed arrows that are not declared calls
      'bookinfo zero-trust': await meshGraphSvg(buildScenario(Testing.app(), 'zero-trust').mesh.model()),
      // denied (MESH506) and undeclared (MESH507) arrows
      'bookinfo with differences': await meshGraphSvg(bookinfoWithDifferences()),
    };
  }, 60_000);

  test('shows a sample of every kind of box and arrow there is', () => {
    for (const svg of Object.values(pictures))
      expect([...legendKinds(svg)].sort()).toStrictEqual([...NODE_KINDS, ...EDGE_KINDS].sort());
  });

  test('explains every kind each picture draws, and the pictures draw every kind', () => {
    for (const [name, svg] of Object.entries(pictures))
      expect({ name, missing: missingFromLegend(svg) }).toStrictEqual({ name, missing: [] });
    expect(drawnKinds(pictures.boutique!)).toEqual(
      expect.arrayContaining(['node:client', 'node:external', 'node:ingress', 'node:service']),
    );
    const drawn = new Set(Object.values(pictures).flatMap(drawnKinds));
    expect([...drawn].sort()).toStrictEqual([...NODE_KINDS, ...EDGE_KINDS].sort());
  });

  test('fails the check when a drawn kind is left out of the legend', () => {
    const svg = pictures.boutique!;
    const withoutClient = svg.replace(/<g data-legend="node:client">[\s\S]*?<\/g>\n/, '');
    expect(withoutClient).not.toBe(svg);
    expect(missingFromLegend(withoutClient)).toStrictEqual(['node:client']);
  });

  test('its lines fit the picture: every legend line ends inside the width', () => {
    const svg = pictures['bookinfo zero-trust']!;
    const width = Number(/<svg [^>]*width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1]);
    const lines = [...svg.matchAll(/<g data-legend="[^"]+">[\s\S]*?<text x="(\d+)"[^>]*>([^<]*)<\/text>/g)];
    expect(lines.length).toBe(NODE_KINDS.length + EDGE_KINDS.length + 2);
    for (const [, x, text] of lines) expect(Number(x) + textWidth(text!, 11)).toBeLessThanOrEqual(width);
  });
});
