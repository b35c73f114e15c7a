/**
 * Writes a placed mesh picture as SVG: one `<g>` per box and per arrow, then a legend with a
 * sample of every kind of box and arrow the picture can hold (both drawn from the same style
 * tables, so a kind cannot be drawn without being explained).
 */
import { MTLS_COLOR, MTLS_OTHER_COLOR, type GraphEdgeKind, type GraphNodeKind } from './model.js';
import { BOX, ROW_STYLE, type GraphLayout, type PlacedText } from './layout.js';
import { textWidth } from './text-width.js';

const EDGE_LINE = BOX.edgeLine;

const EDGE_STYLE: Record<GraphEdgeKind, { color: string; dash?: string }> = {
  declared: { color: '#2b4c7e' },
  allowed: { color: '#2b4c7e', dash: '6 4' },
  ingress: { color: '#6b46c1' },
  denied: { color: '#c53030', dash: '3 3' },
  undeclared: { color: '#dd6b20', dash: '6 4' },
};

/** The legend's line for each kind of arrow, in the order it lists them. */
const EDGE_LEGEND: Record<GraphEdgeKind, string> = {
  ingress: 'ingress route (paths)',
  declared: 'declared call, allowed (methods · mTLS of the hop)',
  allowed: 'allowed by the policies, not a declared call (no call graph, or an open rule)',
  undeclared: 'allowed by principal, not declared (MESH507)',
  denied: 'declared, denied by the policies (MESH506)',
};

/** How each kind of box is drawn, and its line in the legend. */
const NODE_STYLE: Record<GraphNodeKind, { fill: string; dash?: string; legend: string }> = {
  service: { fill: '#f7fafc', legend: 'Service: a row per version (subset), its pods and route shares' },
  client: { fill: '#ebf8ff', legend: 'client: a workload with no Service that calls (a load generator)' },
  ingress: { fill: '#f3effc', legend: 'ingress gateway: the routes it sends in' },
  external: { fill: '#fffaf0', dash: '5 3', legend: 'external service (ServiceEntry), dashed' },
};

/** Height of the title band above the graph; the legend's line height and where its columns start. */
const TITLE = 56;
const LEGEND_LINE = 18;
const LEGEND_BOXES_X = 560;
const LEGEND_WIDTH = 1020;
/** Lines of the legend's right column: one per kind of box, the version rows, the mTLS badge. */
const LEGEND_BOX_LINES = Object.keys(NODE_STYLE).length + 2;
const LEGEND_HEIGHT = 24 + Math.max(Object.keys(EDGE_LEGEND).length, LEGEND_BOX_LINES) * LEGEND_LINE + 14;
const MTLS_LEGEND = `mTLS badge: ${Object.keys(MTLS_COLOR).join(', ')}; grey: mixed, no sidecar`;
const ROWS_LEGEND = 'version rows: with pods, and with none (dashed)';

export const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const n1 = (v: number) => String(Math.round(v * 10) / 10);

function textSvg(t: PlacedText): string {
  const [first] = t.runs;
  const single = t.runs.length === 1 && first;
  const body = single
    ? esc(first.text)
    : t.runs.map((r) => (r.bold ? `<tspan font-weight="bold">${esc(r.text)}</tspan>` : esc(r.text))).join('');
  const anchor = t.anchor === 'start' ? '' : ` text-anchor="${t.anchor}"`;
  const bold = single && first.bold ? ' font-weight="bold"' : '';
  return `<text x="${n1(t.x)}" y="${n1(t.y)}"${anchor} font-size="${t.size}"${bold} fill="${t.fill}">${body}</text>`;
}

/** The SVG of a placed picture. Deterministic: the same layout gives the same bytes. */
export function graphSvg(layout: GraphLayout, options: { readonly title?: string } = {}): string {
  const width = Math.max(LEGEND_WIDTH, layout.width, legendRight());
  const height = TITLE + layout.height + LEGEND_HEIGHT;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, 'Liberation Sans', sans-serif" font-size="12">`,
    '<defs>',
    ...Object.entries(EDGE_STYLE).map(
      ([k, s]) =>
        `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${s.color}"/></marker>`,
    ),
    '</defs>',
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="30" y="36" font-size="18" font-weight="bold" fill="#1a202c">${esc(options.title ?? 'mesh')}</text>`,
    `<g transform="translate(0,${TITLE})">`,
  ];
  // Arrows first, so boxes sit on top; then the arrows' labels, where ELK kept room for them.
  for (const e of layout.edges) {
    const s = EDGE_STYLE[e.kind];
    const d = e.points.map(([x, y], i) => `${i ? 'L' : 'M'}${n1(x)},${n1(y)}`).join(' ');
    out.push(
      `<path data-edge="${e.id}" data-kind="${e.kind}" d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} marker-end="url(#arrow-${e.kind})"/>`,
    );
  }
  for (const n of layout.nodes) {
    const style = NODE_STYLE[n.kind];
    out.push(
      `<g data-node="${esc(n.key)}" data-kind="${n.kind}">`,
      `<rect x="${n1(n.x)}" y="${n1(n.y)}" width="${n.width}" height="${n.height}" rx="8" fill="${style.fill}" stroke="#4a5568" stroke-width="1.2"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`,
      ...n.shapes.map(
        (r) =>
          `<rect x="${n1(r.x)}" y="${n1(r.y)}" width="${n1(r.width)}" height="${n1(r.height)}" rx="${r.rx}" fill="${r.fill}"${r.stroke ? ` stroke="${r.stroke}"` : ''}${r.dashed ? ' stroke-dasharray="3 2"' : ''}/>`,
      ),
      ...n.texts.map((t) => textSvg(t)),
      '</g>',
    );
  }
  for (const e of layout.edges) {
    const b = e.labelBox;
    out.push(
      `<g data-edge-label="${e.id}">`,
      `<title>${esc(`${e.from} → ${e.to}: ${e.label}`)}</title>`,
      `<rect x="${n1(b.x)}" y="${n1(b.y)}" width="${n1(b.width)}" height="${n1(b.height)}" rx="3" fill="#ffffff" fill-opacity="0.9"/>`,
      ...e.texts.map((t) => textSvg(t)),
      // Lines ELK kept below the label (GraphLayoutOptions.extraEdgeLabelLines): empty, for a live view to fill.
      ...Array.from(
        { length: Math.max(0, Math.round(b.height / EDGE_LINE) - e.texts.length) },
        (_, i) =>
          `<text data-edge-line="${e.id}" x="${n1(b.x + b.width / 2)}" y="${n1(b.y + 11 + (e.texts.length + i) * EDGE_LINE)}" text-anchor="middle" font-size="11" fill="${EDGE_STYLE[e.kind].color}"></text>`,
      ),
      '</g>',
    );
  }
  out.push('</g>');
  out.push(...legend(TITLE + layout.height + 24), '</svg>');
  return `${out.join('\n')}\n`;
}

/** Where the legend's widest line ends. */
function legendRight(): number {
  const texts = [...Object.values(NODE_STYLE).map((s) => s.legend), ROWS_LEGEND, MTLS_LEGEND];
  return LEGEND_BOXES_X + 44 + Math.max(...texts.map((t) => textWidth(t, 11))) + 30;
}

/**
 * The legend at `ly`: on the left a sample arrow of every kind, on the right a sample box of every
 * kind, the two kinds of version row and the mTLS badge's colours. Each sample is a
 * `<g data-legend="edge:KIND">` or `<g data-legend="node:KIND">`.
 */
function legend(ly: number): string[] {
  const out: string[] = [];
  const label = (x: number, y: number, text: string) =>
    `<text x="${x}" y="${y + 4}" font-size="11" fill="#1a202c">${esc(text)}</text>`;
  (Object.entries(EDGE_LEGEND) as [GraphEdgeKind, string][]).forEach(([k, text], i) => {
    const s = EDGE_STYLE[k];
    const y = ly + i * LEGEND_LINE;
    out.push(
      `<g data-legend="edge:${k}">`,
      `<line x1="30" y1="${y}" x2="80" y2="${y}" stroke="${s.color}" stroke-width="1.6"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} marker-end="url(#arrow-${k})"/>`,
      label(90, y, text),
      '</g>',
    );
  });
  const x = LEGEND_BOXES_X;
  const tx = x + 44;
  let y = ly;
  for (const [k, s] of Object.entries(NODE_STYLE) as [GraphNodeKind, (typeof NODE_STYLE)[GraphNodeKind]][]) {
    out.push(
      `<g data-legend="node:${k}">`,
      `<rect x="${x}" y="${y - 7}" width="34" height="14" rx="4" fill="${s.fill}" stroke="#4a5568" stroke-width="1.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      label(tx, y, s.legend),
      '</g>',
    );
    y += LEGEND_LINE;
  }
  out.push(
    '<g data-legend="rows">',
    `<rect x="${x}" y="${y - 6}" width="15" height="12" rx="3" fill="${ROW_STYLE.fill}" stroke="${ROW_STYLE.stroke}"/>`,
    `<rect x="${x + 19}" y="${y - 6}" width="15" height="12" rx="3" fill="${ROW_STYLE.emptyFill}" stroke="${ROW_STYLE.stroke}" stroke-dasharray="3 2"/>`,
    label(tx, y, ROWS_LEGEND),
    '</g>',
  );
  y += LEGEND_LINE;
  const colors = [...Object.values(MTLS_COLOR), MTLS_OTHER_COLOR];
  out.push(
    '<g data-legend="badge">',
    ...colors.map((c, i) => `<rect x="${x + i * 9}" y="${y - 5}" width="7" height="10" rx="3" fill="${c}"/>`),
    label(tx, y, MTLS_LEGEND),
    '</g>',
  );
  return out;
}
