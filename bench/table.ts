/** The Markdown table every benchmark prints: a header row, then one row per measurement. */
export function markdownTable(rows: string[][], align: 'left' | 'right' = 'left'): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const pad = (c: string, w: number) => (align === 'right' ? c.padStart(w) : c.padEnd(w));
  const line = (r: string[]) => `| ${r.map((c, i) => pad(c, widths[i]!)).join(' | ')} |`;
  const rule = (w: number) => (align === 'right' ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2));
  return [line(rows[0]!), `|${widths.map(rule).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}
