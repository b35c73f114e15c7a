/**
 * How wide a line of text is drawn, without a renderer: Helvetica's advance widths (Adobe's
 * core-font metrics, which Arial and Liberation Sans share), in thousandths of the font size, for
 * printable ASCII. Any other character counts as a full em, so an estimate is never short for the
 * fonts the SVG names.
 */
const REGULAR =
  '278,278,355,556,556,889,667,191,333,333,389,584,278,333,278,278,556,556,556,556,556,556,556,556,556,556,278,278,584,584,584,556,1015,667,667,722,722,667,611,778,722,278,500,667,556,833,722,778,667,778,722,667,611,722,667,944,667,667,611,278,278,278,469,556,333,556,556,500,556,556,278,556,556,222,222,500,222,833,556,556,556,556,333,500,278,556,500,722,500,500,500,334,260,334,584';
const BOLD =
  '278,333,474,556,556,889,722,238,333,333,389,584,278,333,278,278,556,556,556,556,556,556,556,556,556,556,333,333,584,584,584,611,975,722,722,722,722,667,611,778,722,278,556,722,611,833,722,778,667,778,722,667,611,722,667,944,667,667,611,333,278,333,584,556,333,556,611,556,611,556,333,611,611,278,278,556,278,889,611,611,611,611,389,556,333,611,556,778,556,556,500,389,280,389,584';
const table = (csv: string) => csv.split(',').map(Number);
const WIDTHS = { regular: table(REGULAR), bold: table(BOLD) };
/** Characters outside ASCII that the graph writes itself. */
const EXTRA: Record<string, number> = { '·': 278, '…': 1000, '→': 1000 };

/** The drawn width in pixels of `text` at `size` px, in the graph's sans-serif font. */
export function textWidth(text: string, size: number, bold = false): number {
  const w = bold ? WIDTHS.bold : WIDTHS.regular;
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    units += c >= 32 && c <= 126 ? w[c - 32]! : (EXTRA[ch] ?? 1000);
  }
  return (units * size) / 1000;
}

/** `text` cut to at most `max` characters, with an ellipsis when cut: a line of a box stays readable. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
