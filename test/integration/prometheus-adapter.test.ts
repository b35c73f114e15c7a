/**
 * The Prometheus metrics provider against the real Prometheus, scraping Istio's standard metrics
 * from the traffic simulator (a test stand-in for Envoy) that routes by a VirtualService on the
 * real apiserver: success rate and p99 of canary and stable, "no data", and "query failed" for a
 * bad query, a Prometheus that hangs, and one that is stopped.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusProvider, type MetricResult } from '../../operator/adapters/prometheus.js';
import { cluster } from '../harness/cluster.js';
import { startPrometheus, type PrometheusInstance } from '../harness/control-plane.js';
import type { TrafficSimulator } from '../harness/traffic/index.js';
import { startScrapedSplit, value, type ScrapedSplit } from './scraped-split.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let split: ScrapedSplit;
let ns: string;
let sim: TrafficSimulator;

beforeAll(async () => {
  split = await startScrapedSplit({
    prefix: 'prom',
    seed: 7,
    service: {
      name: 'reviews',
      versions: [
        { version: 'v1', latencyMs: 12 },
        { version: 'v2', latencyMs: 150, errorRate: 0.2 },
      ],
    },
    subsets: [
      { name: 'stable', version: 'v1' },
      { name: 'canary', version: 'v2' },
    ],
  });
  ({ ns, sim } = split);
});

afterAll(async () => {
  await split?.dispose();
});

describe('against the shared Prometheus', () => {
  test('computes success rate and p99 of canary (20% 5xx, 150 ms) and stable (no errors, 12 ms)', async () => {
    const provider = new PrometheusProvider({ url: cluster.prometheusUrl, timeoutMs: 5000 });
    expect(await provider.isOnline()).toStrictEqual({ ok: true, value: true });
    const target = { namespace: ns, canary: 'reviews-v2', stable: 'reviews-v1', interval: '4s' };

    // before any traffic, the series do not exist: no data, not a failure
    const before = await provider.compare(target);
    expect(before.canary.successRate.ok || before.canary.successRate.error.kind).toBe('no-data');
    expect(before.stable.latencyP99Ms.ok || before.stable.latencyP99Ms.error.kind).toBe('no-data');

    const load = sim.startLoad({ host: 'reviews', rps: 200, durationMs: 12_000, concurrency: 64 });
    try {
      // let the 4 s window fill with this load only, then wait (bounded) for the scrape
      await sleep(6000);
      let res = await provider.compare(target);
      for (let i = 0; i < 20 && !(res.canary.successRate.ok && res.stable.latencyP99Ms.ok); i++) {
        await sleep(250);
        res = await provider.compare(target);
      }
      const canaryRate = value(res.canary.successRate);
      const stableRate = value(res.stable.successRate);
      const canaryP99 = value(res.canary.latencyP99Ms);
      const stableP99 = value(res.stable.latencyP99Ms);
      console.log(
        `canary: success ${canaryRate.toFixed(1)}%, p99 ${canaryP99.toFixed(1)} ms; ` +
          `stable: success ${stableRate.toFixed(1)}%, p99 ${stableP99.toFixed(1)} ms`,
      );
      expect(canaryRate).toBeGreaterThan(72);
      expect(canaryRate).toBeLessThan(88);
      expect(stableRate).toBe(100);
      // 150 ms lies above Istio's 100 ms bucket bound, 12 ms above 10 ms. Upper bounds are left out:
      // the simulator shares its process (and a 2-core CI machine) with Jest, and scheduling delays
      // under load add to both (stable's p99 was seen at 171 ms in a loaded run).
      expect(canaryP99).toBeGreaterThan(100);
      expect(stableP99).toBeGreaterThan(10);
      expect(stableP99).toBeLessThan(canaryP99);

      // The grouped query (one series per workload) gives each workload what its own query gives
      // on the same data (both evaluated at one instant), and no data for one without series. The
      // instant is taken again (bounded) while the single queries themselves have no data there:
      // on a loaded machine a delayed scrape can leave a window short of samples for a moment.
      const many = ['reviews-v2', 'reviews-v1', 'reviews-v9'].map((workload) => ({
        namespace: ns,
        workload,
        interval: '10s',
      }));
      for (const metric of ['request-success-rate', 'request-duration'] as const) {
        let grouped: MetricResult[] = [];
        let single: MetricResult[] = [];
        for (let attempt = 0; attempt < 10; attempt++) {
          const at = new PrometheusProvider({ url: cluster.prometheusUrl, at: new Date(Date.now() - 1000) });
          grouped = await at.builtinMany(metric, many);
          single = await Promise.all(many.map((v) => at.builtin(metric, v)));
          if (single[0]!.ok && single[1]!.ok) break;
          await sleep(300);
        }
        expect(value(single[0]!)).toBeGreaterThan(0);
        expect(value(grouped[0]!)).toBeCloseTo(value(single[0]!), 6);
        expect(value(grouped[1]!)).toBeCloseTo(value(single[1]!), 6);
        expect(grouped[2]!.ok || grouped[2]!.error.kind).toBe('no-data');
        expect(single[2]!.ok || single[2]!.error.kind).toBe('no-data');
      }

      // the backend recovers at run time; a window after that shows it
      sim.backend('reviews', 'v2').set({ errorRate: 0 });
      await sleep(5500);
      expect(
        value(await provider.builtin('request-success-rate', { ...target, workload: 'reviews-v2' })),
      ).toBe(100);
    } finally {
      await load.stop();
    }
  });

  test('a workload or namespace without series is no-data, not a failure', async () => {
    const provider = new PrometheusProvider({ url: cluster.prometheusUrl });
    const r = await provider.compare({
      namespace: ns,
      canary: 'reviews-v9',
      stable: 'ghost',
      interval: '1m',
    });
    for (const m of [
      r.canary.successRate,
      r.canary.latencyP99Ms,
      r.stable.successRate,
      r.stable.latencyP99Ms,
    ]) {
      expect(m.ok || m.error.kind).toBe('no-data');
    }
    const other = await provider.builtin('request-duration', {
      namespace: 'nowhere',
      workload: 'reviews-v1',
      interval: '1m',
    });
    expect(other.ok || other.error.kind).toBe('no-data');
  });

  test('fails with bad-query and Prometheus’ parse error for a malformed query', async () => {
    const r = await new PrometheusProvider({ url: cluster.prometheusUrl }).query(
      'sum(rate(istio_requests_total[1m])',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('bad-query');
    expect(r.error.message).toMatch(/^Prometheus refused the query \(HTTP 400, bad_data\): .*parse error/);
  });

  test('fails with bad-query when the query returns several series', async () => {
    const r = await new PrometheusProvider({ url: cluster.prometheusUrl }).query(
      `sum by (destination_version) (istio_requests_total{destination_workload_namespace="${ns}"})`,
    );
    expect(r.ok || r.error.kind).toBe('bad-query');
  });
});

describe('against a private Prometheus that hangs and then stops', () => {
  let prom: PrometheusInstance | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prom-adapter-'));
    prom = await startPrometheus(join(cluster.bin, 'prometheus'), dir, dir);
    writeFileSync(join(prom.targetsDir, 'sim.json'), JSON.stringify([{ targets: [sim.metricsAddress] }]));
  });
  afterAll(async () => {
    prom?.process.child.kill('SIGCONT');
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('online and answering; then timeout while it hangs; then unavailable once stopped, never no-data', async () => {
    const provider = new PrometheusProvider({ url: prom!.url, timeoutMs: 1000 });
    const q = `sum(istio_requests_total{destination_workload_namespace="${ns}"})`;
    await sim.runLoad({ host: 'reviews', rps: 100, requests: 50 });
    let r = await provider.query(q);
    for (let i = 0; i < 40 && !r.ok; i++) {
      await sleep(250);
      r = await provider.query(q);
    }
    expect(value(r)).toBeGreaterThan(0);
    expect(await provider.isOnline()).toStrictEqual({ ok: true, value: true });

    const child = prom!.process.child;
    child.kill('SIGSTOP');
    try {
      // the query must reach a stopped process, so wait (bounded) for the kernel to report it stopped
      const state = () => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.[0];
      for (let i = 0; i < 100 && state() !== 'T'; i++) await sleep(10);
      expect(state()).toBe('T');
      const started = Date.now();
      const hung = await provider.query(q);
      expect(hung).toMatchObject({ ok: false, error: { kind: 'timeout' } });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      child.kill('SIGCONT');
    }

    await prom!.stop();
    const down = await provider.query(q);
    expect(down.ok).toBe(false);
    if (down.ok) return;
    expect(down.error.kind).toBe('unavailable');
    expect(down.error.message).toContain('ECONNREFUSED');
    const online = await provider.isOnline();
    expect(online.ok || online.error.kind).toBe('unavailable');
  });
});
