/**
 * The operator at a count of releases, on the real parts (the test harness's control plane,
 * started for the benchmark and stopped at the end). For each count N (`SCALE_SIZES`, default
 * `1,100,500`; add 2000 when the machine has the time): a fleet of N apps (`fleet.ts`: two
 * Deployments run by kwok, a VirtualService, a DestinationRule and a CanaryRelease with
 * `interval: 5s`, no traffic, so every release holds on missing data and is checked every interval),
 * then the compiled operator as its own process (as it ships: `operator/main.js`), and:
 * - time from its start to every release Progressing;
 * - over an idle window (`SCALE_WINDOW_S`, default 60) after that: RSS (max of samples from
 *   /proc, and how much of that sample was mapped files, mostly Node's own binary), CPU seconds
 *   per minute (/proc utime+stime), reconciles per minute and the reconcile p50 and p99 (its own
 *   `/metrics`), status writes per minute and single-object GETs per minute counted by the
 *   apiserver (audit log), Prometheus queries per minute and the real time between two checks
 *   of a release, median and p95 (a loopback proxy in front of Prometheus records each query and
 *   the workloads it names).
 *
 * Heap: the most `nodejs_heap_size_used_bytes` and `nodejs_heap_size_total_bytes` (what V8 holds
 * for its heap, used or not) seen on its `/metrics` during the window; with
 * `--heap-snapshot DIR`, a V8 heap snapshot of the operator at the end of each window is written
 * to DIR and summarized by constructor and retainer (`heap-snapshot.ts`).
 *
 * Run: `npm run bench -- scale [--sizes 1,100,500] [--window S] [--concurrency N]
 * [--heap-snapshot DIR] [--node-options='A;B']` (or SCALE_SIZES, SCALE_WINDOW_S; `--concurrency`
 * is the operator's flag, how many releases it reconciles at once; unset, the operator's default
 * for this machine).
 *
 * `--node-options` compares ways of running the operator on one fleet: each `;`-separated entry is
 * a list of Node options added after the image's own (`image/node-flags.ts`; `-` adds none), and
 * `NAME=value` words in it are environment variables (e.g. `MALLOC_ARENA_MAX=2`). The entries run
 * one after the other on the same fleet, each a new operator process measured over its own idle
 * window; after the first, the releases are already Progressing, so only the first entry's start
 * times mean anything.
 * Its log lines are kept in `$TMPDIR/cdk8s-mesh-scale-<N>.log`.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import globalSetup from '../test/harness/global-setup.js';
import globalTeardown from '../test/harness/global-teardown.js';
import { auditEntries, auditMark } from '../test/harness/audit.js';
import { cluster } from '../test/harness/cluster.js';
import { compiledOperator } from '../test/harness/compiled-cli.js';
import { spawnOperator, waitLeading, type OperatorProcess } from '../test/harness/operator-process.js';
import { SlowProxy } from '../test/harness/slow-proxy.js';
import { CANARY_RELEASES, KubeClient } from '../operator/adapters/kubernetes.js';
import { createFleet, waitAvailable, type Fleet } from './fleet.js';
import { markdownTable } from './table.js';
import { processUsage } from './process-usage.js';
import {
  listenAddress,
  reconcileQuantile,
  scrapeMetrics as scrape,
  sumMetric as sum,
} from './operator-metrics.js';
import { formatHeapSummary, summarizeHeapSnapshot } from './heap-snapshot.js';
import { defaultConcurrency, parseConcurrency } from '../operator/runtime/concurrency.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string' },
    window: { type: 'string' },
    concurrency: { type: 'string' },
    'heap-snapshot': { type: 'string' },
    'node-options': { type: 'string' },
  },
  strict: true,
});
const SIZES = (args.sizes ?? process.env.SCALE_SIZES ?? '1,100,500').split(',').map(Number);
const WINDOW_S = Number(args.window ?? process.env.SCALE_WINDOW_S ?? 60);
const CONCURRENCY = (() => {
  if (args.concurrency === undefined) return undefined;
  const c = parseConcurrency(args.concurrency, '--concurrency');
  if (!c.ok) {
    console.error(c.error);
    process.exit(2);
  }
  return c.value;
})();
/** One way of running the operator: Node options after the image's, and environment variables. */
interface Variant {
  readonly label: string;
  readonly nodeArgs: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}
const ENV_WORD = /^[A-Za-z_][A-Za-z0-9_]*=/;
const VARIANTS: readonly Variant[] = (args['node-options'] ?? '-').split(';').map((entry) => {
  const words = entry
    .trim()
    .split(/\s+/)
    .filter((w) => w && w !== '-');
  const env = Object.fromEntries(
    words
      .filter((w) => ENV_WORD.test(w))
      .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
  );
  const nodeArgs = words.filter((w) => !ENV_WORD.test(w));
  const bad = nodeArgs.find((w) => !w.startsWith('--'));
  if (bad) {
    console.error(
      `--node-options: "${bad}" is neither a Node option (--…) nor NAME=value; entries are separated by ;`,
    );
    process.exit(2);
  }
  return { label: words.length ? words.join(' ') : 'as the image ships it', nodeArgs, env };
});
const SNAPSHOT_DIR = args['heap-snapshot'] === undefined ? undefined : resolve(args['heap-snapshot']);
const progress = (l: string) => process.stderr.write(`[bench] ${l}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/**
 * Waits until every release of the fleet is Progressing (with `holding`: and has made its first
 * check, which records since when data is missing, its one status write while it holds); returns
 * the time it took from `t0`.
 */
async function allProgressing(
  client: KubeClient,
  fleet: Fleet,
  t0: number,
  timeoutMs: number,
  holding = false,
): Promise<number> {
  let last = 0;
  for (let i = 0; i < Math.ceil(timeoutMs / 1000) + 1; i++) {
    const list = await client.list(CANARY_RELEASES, fleet.namespace);
    if (list.ok) {
      last = list.value.items.filter((r) => {
        const st = r.status as { phase?: string; missingDataSince?: string } | undefined;
        return st?.phase === 'Progressing' && (!holding || st.missingDataSince !== undefined);
      }).length;
      if (last >= fleet.apps.length) return Date.now() - t0;
    }
    if (Date.now() - t0 > timeoutMs) break;
    await sleep(500);
  }
  throw new Error(`${last}/${fleet.apps.length} releases Progressing after ${timeoutMs} ms`);
}

interface Row {
  readonly releases: number;
  readonly variant: string;
  readonly progressingS: number;
  readonly rssMb: number;
  /** Of the RSS at its peak, what was mapped files. */
  readonly rssFileMb: number;
  readonly heapMb: number;
  /** The most V8 held for its heap (`nodejs_heap_size_total_bytes`), used or not. */
  readonly heapCommittedMb: number;
  readonly cpuPerMin: number;
  readonly reconcilesPerMin: number;
  readonly p50: string;
  readonly p99: string;
  readonly statusWritesPerMin: number;
  readonly getsPerMin: number;
  readonly queriesPerMin: number;
  readonly betweenChecks: { median: number; p95: number; n: number };
}

/** A fleet of `size` releases, then one operator process per variant on it, one after the other. */
async function measure(size: number, onRow: (r: Row) => void): Promise<void> {
  const kc = cluster.kubeConfig();
  const client = new KubeClient(kc);
  const fleet = await createFleet({
    kubeConfig: kc,
    size,
    prefix: `scale-${size}`,
    parallel: 32,
    log: progress,
  });
  const proxy = await SlowProxy.start(cluster.prometheusUrl);
  try {
    // 10 minutes, or 0.6 s a release for the largest fleets (creating 2,000 took 9 minutes at load 25)
    const availableMs = await waitAvailable(kc, fleet, Math.max(600_000, size * 600));
    progress(`${size}: Deployments available in ${(availableMs / 1000).toFixed(1)} s`);
    /** Per canary workload, the times it was queried for. */
    const checks = new Map<string, number[]>();
    let queries = 0;
    proxy.onRequest = (body, path) => {
      if (!path.startsWith('/api/v1/query')) return;
      queries++;
      const q = new URLSearchParams(body.toString()).get('query') ?? '';
      const now = Date.now();
      // A workload is named twice by a ratio query (numerator and denominator): count it once.
      const named = new Set(
        [...q.matchAll(/destination_workload=~?"([^"]+)"/g)].flatMap((m) => m[1]!.split('|')),
      );
      for (const w of named) if (w.endsWith('-v2')) (checks.get(w) ?? checks.set(w, []).get(w)!).push(now);
    };
    for (const [index, variant] of VARIANTS.entries()) {
      const name = VARIANTS.length > 1 ? `${size}-${index + 1}` : `${size}`;
      let op: OperatorProcess | undefined;
      try {
        const t0 = Date.now();
        const snapshotDir = SNAPSHOT_DIR && join(SNAPSHOT_DIR, `scale-${name}`);
        if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
        op = spawnOperator({
          namespace: fleet.namespace,
          identity: `scale-${name}`,
          prometheusUrl: proxy.url,
          nodeArgs: [
            ...variant.nodeArgs,
            ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : []),
          ],
          env: variant.env,
          args: CONCURRENCY === undefined ? [] : [`--concurrency=${CONCURRENCY}`],
        });
        await waitLeading(op, `the operator at ${size} releases (${variant.label})`);
        const progressingMs = await allProgressing(client, fleet, t0, 900_000);
        progress(`${name}: all Progressing in ${(progressingMs / 1000).toFixed(1)} s`);
        const address = await listenAddress(op.lines);

        // Idle: every release has made its first check and holds; then one more interval.
        const holdingMs = await allProgressing(client, fleet, t0, 900_000, true);
        progress(`${name}: all holding on missing data ${(holdingMs / 1000).toFixed(1)} s after start`);
        await sleep(5_000);
        const pid = op.child.pid!;
        const m0 = await scrape(address);
        const p0 = processUsage(pid);
        const mark = auditMark();
        const w0 = Date.now();
        checks.clear();
        queries = 0;
        let peak = p0;
        let heap = sum(m0, 'nodejs_heap_size_used_bytes');
        let committed = sum(m0, 'nodejs_heap_size_total_bytes');
        const heaps = (m: Map<string, number>) => {
          heap = Math.max(heap, sum(m, 'nodejs_heap_size_used_bytes'));
          committed = Math.max(committed, sum(m, 'nodejs_heap_size_total_bytes'));
        };
        for (let i = 1; Date.now() - w0 < WINDOW_S * 1000; i++) {
          await sleep(1000);
          const p = processUsage(pid);
          if (p.rssMiB > peak.rssMiB) peak = p;
          if (i % 5 === 0) heaps(await scrape(address));
        }
        const minutes = (Date.now() - w0) / 60_000;
        const p1 = processUsage(pid);
        const m1 = await scrape(address);
        heaps(m1);
        const audited = auditEntries(mark, { namespace: fleet.namespace });
        if (snapshotDir) await heapSnapshot(pid, snapshotDir, name);
        const gaps: number[] = [];
        for (const times of checks.values())
          for (let i = 1; i < times.length; i++) gaps.push((times[i]! - times[i - 1]!) / 1000);
        const delta = (prefix: string) => sum(m1, prefix) - sum(m0, prefix);
        onRow({
          releases: size,
          variant: variant.label,
          // After the first variant the releases were already Progressing: no start time to show.
          progressingS: index === 0 ? progressingMs / 1000 : NaN,
          rssMb: peak.rssMiB,
          rssFileMb: peak.fileMiB,
          heapMb: heap / 2 ** 20,
          heapCommittedMb: committed / 2 ** 20,
          cpuPerMin: (p1.cpuS - p0.cpuS) / minutes,
          reconcilesPerMin: delta('canary_operator_reconcile_total') / minutes,
          p50: reconcileQuantile(m0, m1, 0.5),
          p99: reconcileQuantile(m0, m1, 0.99),
          statusWritesPerMin:
            audited.filter(
              (e) => e.verb === 'patch' && e.resource === 'canaryreleases' && e.subresource === 'status',
            ).length / minutes,
          getsPerMin: audited.filter((e) => e.verb === 'get').length / minutes,
          queriesPerMin: queries / minutes,
          betweenChecks: { median: quantile(gaps, 0.5), p95: quantile(gaps, 0.95), n: gaps.length },
        });
      } finally {
        if (op) {
          const file = join(tmpdir(), `cdk8s-mesh-scale-${name}.log`);
          writeFileSync(file, op.lines.join('\n') + '\n');
          progress(`${name}: the operator's log is in ${file}`);
        }
        if (op && op.child.exitCode === null) {
          op.child.kill('SIGTERM');
          await Promise.race([op.exited, sleep(30_000)]);
          if (op.child.exitCode === null && op.child.signalCode === null) op.child.kill('SIGKILL');
        }
      }
    }
  } finally {
    await proxy.stop();
    await fleet.dispose();
  }
}

/** Asks the operator for a heap snapshot (SIGUSR2), waits until it is written, prints its summary. */
async function heapSnapshot(pid: number, dir: string, size: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  let last = -1;
  for (let i = 0; i < 240; i++) {
    await sleep(1000);
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const bytes = statSync(join(dir, file)).size;
    // Written in one go; done when its size stops changing and the JSON is closed.
    if (bytes === last && bytes > 0 && readFileSync(join(dir, file)).subarray(-2).toString().includes('}'))
      break;
    last = bytes;
  }
  if (!file) throw new Error(`the operator wrote no heap snapshot into ${dir} in 240 s`);
  progress(
    `${size}: heap snapshot ${join(dir, file)}\n${formatHeapSummary(summarizeHeapSnapshot(join(dir, file)))}`,
  );
}

async function main(): Promise<number> {
  compiledOperator(); // built here (when the sources are newer), not inside a measurement
  await globalSetup();
  const rows: Row[] = [];
  const stopped: string[] = [];
  try {
    for (const size of SIZES) {
      try {
        await measure(size, (row) => {
          rows.push(row);
          progress(`${size}: ${JSON.stringify(row)}`);
        });
      } catch (e) {
        stopped.push(`${size} releases: ${(e as Error).message}`);
        progress(`${size}: stopped: ${(e as Error).message}`);
        break;
      }
    }
  } finally {
    await globalTeardown();
  }
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  console.log(
    `The operator at N releases (interval 5s, no traffic: every release holds on missing data), idle window ${WINDOW_S} s, concurrency ${CONCURRENCY ?? `${defaultConcurrency()} (the operator's default here)`}\n`,
  );
  console.log(
    markdownTable(
      [
        [
          'releases',
          ...(VARIANTS.length > 1 ? ["Node options and environment (after the image's)"] : []),
          'all Progressing',
          'RSS (of it files)',
          'heap used / committed',
          'CPU s/min',
          'reconciles/min',
          'reconcile p50 / p99',
          'status writes/min idle',
          'GETs/min idle',
          'Prometheus queries/min',
          'between checks median / p95',
        ],
        ...rows.map((r) => [
          String(r.releases),
          ...(VARIANTS.length > 1 ? [r.variant] : []),
          Number.isFinite(r.progressingS) ? `${f(r.progressingS)} s` : 'n/a',
          `${f(r.rssMb, 0)} MB (${f(r.rssFileMb, 0)})`,
          `${f(r.heapMb, 0)} / ${f(r.heapCommittedMb, 0)} MB`,
          f(r.cpuPerMin),
          f(r.reconcilesPerMin, 0),
          `${r.p50} / ${r.p99}`,
          f(r.statusWritesPerMin, 0),
          f(r.getsPerMin, 0),
          f(r.queriesPerMin, 0),
          `${f(r.betweenChecks.median)} / ${f(r.betweenChecks.p95)} s`,
        ]),
      ],
      'right',
    ),
  );
  if (stopped.length) console.log(`\nstopped: ${stopped.join('; ')}`);
  return stopped.length ? 1 : 0;
}

process.exitCode = await main();
