/**
 * Places the mesh picture with ELK's layered algorithm (elkjs): callers left of callees, a port per
 * arrow end on the boxes' sides, orthogonal routing, and arrow labels placed by ELK as part of the
 * layout, so neither boxes nor labels overlap. Each box is sized to its widest line first (see
 * ./text-width.ts), and every line of text is placed here, so a renderer only writes what it gets.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GraphEdge, GraphNode, MeshGraph } from './model.js';
import { clip, textWidth } from './text-width.js';

/** A line of text, in runs of regular or bold type. `y` is the baseline. */
export interface PlacedText {
  readonly x: number;
  readonly y: number;
  readonly size: number;
  readonly anchor: 'start' | 'middle' | 'end';
  readonly fill: string;
  readonly runs: readonly { readonly text: string; readonly bold?: boolean }[];
  /** The drawn width (estimated from the font's metrics). */
  readonly width: number;
}

/** A rectangle drawn inside a box (a version row, the mTLS badge). */
export interface PlacedShape {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly rx: number;
  readonly fill: string;
  readonly stroke?: string;
  readonly dashed?: boolean;
}

export interface PlacedNode extends GraphNode {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly shapes: readonly PlacedShape[];
  readonly texts: readonly PlacedText[];
}

export interface PlacedEdge extends GraphEdge {
  /** `e<index>`: stable for the same graph. */
  readonly id: string;
  /** The route, start to end (the arrowhead sits at the last point). */
  readonly points: readonly (readonly [number, number])[];
  /** The label's box, where ELK reserved room for it. */
  readonly labelBox: {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
  };
  readonly texts: readonly PlacedText[];
}

/** The placed picture; coordinates from the top-left corner of the graph area. */
export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
}

export interface GraphLayoutOptions {
  /**
   * Blank lines to reserve under each arrow's label (the dashboard writes live rates there).
   * @default 0
   */
  readonly extraEdgeLabelLines?: number;
}

/** Metrics of the boxes, in px. */
export const BOX = {
  minWidth: 200,
  pad: 12,
  head: 46,
  row: 20,
  note: 16,
  bottom: 10,
  title: 14,
  text: 12,
  small: 11,
  /** At most this many characters a line: a 200 kB name still gives a readable box. */
  maxChars: 90,
  edgeLine: 15,
  /** An arrow's label is cut shorter: it sits between two columns of boxes. */
  edgeChars: 64,
} as const;

/** A version row: grey with pods, white and dashed with none. */
export const ROW_STYLE = { fill: '#e2e8f0', emptyFill: '#ffffff', stroke: '#a0aec0' } as const;

const EDGE_COLOR: Record<GraphEdge['kind'], string> = {
  declared: '#2b4c7e',
  allowed: '#2b4c7e',
  ingress: '#6b46c1',
  denied: '#c53030',
  undeclared: '#dd6b20',
};

/** The text of a version row: `v1 2 pods`, and its route shares on the right. */
function rowTexts(r: GraphNode['rows'][number]): { left: PlacedText['runs']; right: string } {
  const empty = r.pods === 0;
  return {
    left: [
      { text: clip(r.name, 40), bold: true },
      { text: ` ${empty ? 'no pods' : `${r.pods} pod${r.pods === 1 ? '' : 's'}`}` },
    ],
    right: clip(r.routes.join(' · '), BOX.maxChars),
  };
}

const runsWidth = (runs: PlacedText['runs'], size: number) =>
  runs.reduce((w, r) => w + textWidth(r.text, size, r.bold), 0);

/** A box's size from its widest line. */
function nodeSize(n: GraphNode): { width: number; height: number; title: string; badgeWidth: number } {
  const title = clip(n.title, 60);
  const badgeWidth = n.badge ? textWidth(n.badge.text, BOX.small) + 12 : 0;
  const lines = [
    BOX.pad + textWidth(title, BOX.title, true) + (n.badge ? BOX.pad + badgeWidth + 8 : BOX.pad),
    2 * BOX.pad + textWidth(clip(n.subtitle, BOX.maxChars), BOX.small),
    ...n.rows.map((r) => {
      const t = rowTexts(r);
      return 14 + runsWidth(t.left, BOX.text) + (t.right ? 16 + textWidth(t.right, BOX.text) : 0) + 14;
    }),
    ...n.notes.map((x) => 2 * BOX.pad + textWidth(clip(x, BOX.maxChars), BOX.small)),
  ];
  return {
    width: Math.ceil(Math.max(BOX.minWidth, ...lines)),
    height: BOX.head + n.rows.length * BOX.row + n.notes.length * BOX.note + BOX.bottom,
    title,
    badgeWidth,
  };
}

function text(
  x: number,
  y: number,
  size: number,
  fill: string,
  runs: PlacedText['runs'],
  anchor: PlacedText['anchor'] = 'start',
): PlacedText {
  return { x, y, size, fill, runs, anchor, width: runsWidth(runs, size) };
}

/** The shapes and lines of a box placed at (x, y). */
function placeNode(n: GraphNode, x: number, y: number): PlacedNode {
  const { width, height, title, badgeWidth } = nodeSize(n);
  const shapes: PlacedShape[] = [];
  const texts: PlacedText[] = [
    text(x + BOX.pad, y + 20, BOX.title, '#1a202c', [{ text: title, bold: true }]),
    text(x + BOX.pad, y + 36, BOX.small, '#4a5568', [{ text: clip(n.subtitle, BOX.maxChars) }]),
  ];
  if (n.badge) {
    const bx = x + width - badgeWidth - 8;
    shapes.push({ x: bx, y: y + 8, width: badgeWidth, height: 17, rx: 8, fill: n.badge.color });
    texts.push(text(bx + badgeWidth / 2, y + 20, BOX.small, '#ffffff', [{ text: n.badge.text }], 'middle'));
  }
  let ry = y + BOX.head;
  for (const r of n.rows) {
    const empty = r.pods === 0;
    shapes.push({
      x: x + 8,
      y: ry,
      width: width - 16,
      height: BOX.row - 3,
      rx: 4,
      fill: empty ? ROW_STYLE.emptyFill : ROW_STYLE.fill,
      stroke: ROW_STYLE.stroke,
      dashed: empty,
    });
    const t = rowTexts(r);
    texts.push(text(x + 14, ry + 13, BOX.text, empty ? '#718096' : '#1a202c', t.left));
    if (t.right) texts.push(text(x + width - 14, ry + 13, BOX.text, '#2b4c7e', [{ text: t.right }], 'end'));
    ry += BOX.row;
  }
  for (const note of n.notes) {
    texts.push(text(x + BOX.pad, ry + 12, BOX.small, '#4a5568', [{ text: clip(note, BOX.maxChars) }]));
    ry += BOX.note;
  }
  return { ...n, x, y, width, height, shapes, texts };
}

const ELK_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.edgeLabels.placement': 'CENTER',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.spacing.nodeNode': '36',
  'elk.spacing.edgeEdge': '12',
  'elk.spacing.edgeNode': '16',
  'elk.spacing.edgeLabel': '4',
  'elk.spacing.componentComponent': '48',
  'elk.layered.spacing.nodeNodeBetweenLayers': '70',
  'elk.layered.spacing.edgeNodeBetweenLayers': '24',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '12',
  'elk.padding': '[top=10,left=30,bottom=10,right=30]',
  'elk.randomSeed': '1',
};

interface Elk {
  layout(graph: ElkNode): Promise<ElkNode>;
}
let elk: Promise<Elk> | undefined;

/** ELK, loaded on first use (it is 1.5 MB of JavaScript that only the picture needs). */
function loadElk(): Promise<Elk> {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m: unknown) => {
    // The CommonJS module's export arrives as `default`; it also names itself `default`, which is
    // what TypeScript's view of the module under NodeNext expects.
    type Ctor = new () => Elk;
    const d = (m as { default: Ctor & { default?: Ctor } }).default;
    return new (d.default ?? d)();
  });
  return elk;
}

/** Places `graph`: sizes the boxes, lays them and the arrows out with ELK, places every text. */
export async function layoutMeshGraph(
  graph: MeshGraph,
  options: GraphLayoutOptions = {},
): Promise<GraphLayout> {
  const labelLines = 1 + (options.extraEdgeLabelLines ?? 0);
  const sizes = new Map(graph.nodes.map((n) => [n.key, nodeSize(n)]));
  type Port = NonNullable<ElkNode['ports']>[number];
  const ports = new Map<string, Port[]>(graph.nodes.map((n) => [n.key, []]));
  const port = (id: string, side: string): Port => ({
    id,
    width: 1,
    height: 1,
    layoutOptions: { 'elk.port.side': side },
  });
  graph.edges.forEach((e, j) => {
    ports.get(e.from)!.push(port(`e${j}.out`, 'EAST'));
    ports.get(e.to)!.push(port(`e${j}.in`, 'WEST'));
  });
  const edgeLabels = graph.edges.map((e) => clip(e.label, BOX.edgeChars));
  const root: ElkNode = {
    id: 'root',
    layoutOptions: ELK_OPTIONS,
    children: graph.nodes.map((n, i) => ({
      id: `n${i}`,
      width: sizes.get(n.key)!.width,
      height: sizes.get(n.key)!.height,
      layoutOptions: { 'elk.portConstraints': 'FIXED_SIDE' },
      ports: ports.get(n.key)!,
    })),
    edges: graph.edges.map((_, j): ElkExtendedEdge => ({
      id: `e${j}`,
      sources: [`e${j}.out`],
      targets: [`e${j}.in`],
      labels: [
        {
          text: edgeLabels[j]!,
          width: Math.ceil(textWidth(edgeLabels[j]!, BOX.small) + 8),
          height: labelLines * BOX.edgeLine,
        },
      ],
    })),
  };
  const placed = await (await loadElk()).layout(root);
  const placedNodes = new Map((placed.children ?? []).map((c) => [c.id, c]));
  const placedEdges = new Map((placed.edges ?? []).map((x) => [x.id, x as ElkExtendedEdge]));
  const nodes = graph.nodes.map((n, i) => {
    const c = placedNodes.get(`n${i}`)!;
    return placeNode(n, c.x ?? 0, c.y ?? 0);
  });
  const edges = graph.edges.map((e, j): PlacedEdge => {
    const pe = placedEdges.get(`e${j}`)!;
    const s = pe.sections?.[0];
    const points: [number, number][] = s
      ? [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => [p.x, p.y])
      : [];
    const l = pe.labels?.[0];
    const labelBox = { x: l?.x ?? 0, y: l?.y ?? 0, width: l?.width ?? 0, height: l?.height ?? 0 };
    const texts = [
      text(
        labelBox.x + labelBox.width / 2,
        labelBox.y + 11,
        BOX.small,
        EDGE_COLOR[e.kind],
        [{ text: edgeLabels[j]! }],
        'middle',
      ),
    ];
    return { ...e, id: `e${j}`, points, labelBox, texts };
  });
  return { width: Math.ceil(placed.width ?? 0), height: Math.ceil(placed.height ?? 0), nodes, edges };
}
