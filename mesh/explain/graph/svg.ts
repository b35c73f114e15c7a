/** Writes a placed mesh picture as SVG: one `<g>` per box and per arrow, then a legend. */
import type { GraphEdgeKind } from './model.js';
import { BOX, type GraphLayout, type PlacedText } from './layout.js';

const EDGE_LINE = BOX.edgeLine;

const EDGE_STYLE: Record<GraphEdgeKind, { color: string; dash?: string }> = {
  declared: { color: '#2b4c7e' },
  allowed: { color: '#2b4c7e', dash: '6 4' },
  ingress: { color: '#6b46c1' },
  denied: { color: '#c53030', dash: '3 3' },
  undeclared: { color: '#dd6b20', dash: '6 4' },
};

const LEGEND: [GraphEdgeKind, string][] = [
  ['ingress', 'ingress route (paths)'],
  ['declared', 'declared call, allowed (methods · mTLS of the hop)'],
  ['allowed', 'allowed by the policies, not a declared call (no call graph, or an open rule)'],
  ['undeclared', 'allowed by principal, not declared (MESH507)'],
  ['denied', 'declared, denied by the policies (MESH506)'],
];

/** Height of the title band above the graph, and of the legend below it. */
const TITLE = 56;
const LEGEND_HEIGHT = 110;
const LEGEND_WIDTH = 1020;

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
  const width = Math.max(LEGEND_WIDTH, layout.width);
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
      `<path data-edge="${e.id}" d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} marker-end="url(#arrow-${e.kind})"/>`,
    );
  }
  for (const n of layout.nodes) {
    const fill =
      n.kind === 'ingress'
        ? '#f3effc'
        : n.kind === 'external'
          ? '#fffaf0'
          : n.kind === 'client'
            ? '#ebf8ff'
            : '#f7fafc';
    out.push(
      `<g data-node="${esc(n.key)}">`,
      `<rect x="${n1(n.x)}" y="${n1(n.y)}" width="${n.width}" height="${n.height}" rx="8" fill="${fill}" stroke="#4a5568" stroke-width="1.2"${n.kind === 'external' ? ' stroke-dasharray="5 3"' : ''}/>`,
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
  const ly = TITLE + layout.height + 24;
  LEGEND.forEach(([k, text], i) => {
    const s = EDGE_STYLE[k];
    const y = ly + i * 18;
    out.push(
      `<line x1="30" y1="${y}" x2="80" y2="${y}" stroke="${s.color}" stroke-width="1.6"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} marker-end="url(#arrow-${k})"/>`,
      `<text x="90" y="${y + 4}" font-size="11" fill="#1a202c">${esc(text)}</text>`,
    );
  });
  out.push(
    `<text x="560" y="${ly + 4}" font-size="11" fill="#1a202c">Boxes: a Service, a row per version (subset): its pods and the share</text>`,
    `<text x="560" y="${ly + 20}" font-size="11" fill="#1a202c">of each route; dashed: no pods. Badge: the mTLS mode its workloads</text>`,
    `<text x="560" y="${ly + 36}" font-size="11" fill="#1a202c">accept (PeerAuthentication).</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
