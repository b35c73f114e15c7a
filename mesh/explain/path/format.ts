/** The path as text, the way `cdk8s-mesh explain --path` prints it. */
import { requestLine } from '../format.js';
import type { RequestPath } from './types.js';

/** The path as text, one hop a line with its decisions below (what `cli explain --path` prints). */
export function formatPath(p: RequestPath): string {
  const lines = [`${requestLine(p.explanation)}, hop by hop:`];
  const width = Math.max(...p.hops.map((h) => h.kind.length));
  p.hops.forEach((h, i) => {
    const mark = h.status === 'bypass' ? ' [bypass]' : h.status === 'stop' ? ' [stop]' : '';
    lines.push(`${String(i + 1).padStart(2)}. ${h.kind.padEnd(width)}  ${h.at}: ${h.summary}${mark}`);
    for (const d of h.details) lines.push(`${' '.repeat(width + 6)}${d}`);
  });
  const o = p.outcome;
  lines.push(
    `result: ${o.result}${o.status !== undefined ? ` ${o.status}` : ''}${o.responseFlags ? ` (${o.responseFlags})` : ''}: ${o.detail}`,
  );
  for (const b of p.bypasses) lines.push(`bypass (${b.side}, ${b.reason}): ${b.detail}`);
  return lines.join('\n');
}
