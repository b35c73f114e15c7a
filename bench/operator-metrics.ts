/**
 * The operator's own `/metrics`, as the benchmarks read them: scraped, summed and turned into
 * reconcile latency quantiles between two scrapes.
 */

/** Scrapes the operator's `/metrics` at `address` (host:port): `name{labels}` → value. */
export async function scrapeMetrics(address: string): Promise<Map<string, number>> {
  const text = await (
    await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The sum of every series whose `name{labels}` starts with `prefix`. */
export const sumMetric = (m: Map<string, number>, prefix: string) =>
  [...m].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

/**
 * A quantile `q` of the successful reconciles between two scrapes, from the histogram's buckets:
 * "≤ <bucket> ms" (the bucket it falls in), "> 10 s" past the last, "n/a" without reconciles.
 */
export function reconcileQuantile(
  before: Map<string, number>,
  after: Map<string, number>,
  q: number,
): string {
  const name = 'canary_operator_reconcile_duration_seconds_bucket{le="';
  const buckets = [...after]
    .filter(([k]) => k.startsWith(name) && k.includes('result="ok"'))
    .map(([k, v]) => ({ le: k.slice(name.length, k.indexOf('"', name.length)), n: v - (before.get(k) ?? 0) }))
    .sort((a, b) => (a.le === '+Inf' ? 1 : b.le === '+Inf' ? -1 : Number(a.le) - Number(b.le)));
  const total = buckets.find((b) => b.le === '+Inf')?.n ?? 0;
  if (total === 0) return 'n/a';
  const b = buckets.find((x) => x.n >= q * total)!;
  return b.le === '+Inf' ? '> 10 s' : `≤ ${Number(b.le) * 1000} ms`;
}

/**
 * The address the operator serves `/metrics` on, from its "operator started" log line. That line
 * comes just after the operator begins to lead, so it is waited for (up to `timeoutMs`).
 */
export async function listenAddress(lines: readonly string[], timeoutMs = 30_000): Promise<string> {
  for (const until = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 100))) {
    const line = lines.find((l) => l.includes('"operator started"'));
    const address = line && (JSON.parse(line) as { listen?: string }).listen;
    if (address) return address;
    if (Date.now() > until)
      throw new Error(`the operator did not log its listen address within ${timeoutMs / 1000} s`);
  }
}
