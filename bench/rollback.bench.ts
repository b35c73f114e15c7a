/**
 * Rollback latency on the real parts: the time from a breach being visible in Prometheus to the
 * rollback being written, over several runs. Target: one analysis interval + 2 s.
 *
 * Each run gets a namespace, a traffic simulator (a test stand-in for Envoy) and an operator of its
 * own, on one control plane started for the benchmark (the test harness's, stopped at the end).
 * A canary at 50% passes its checks; after a random wait within one interval (so the breach lands
 * anywhere in the check schedule) it starts answering 20% 5xx. With `threshold: 1`, the first
 * check that sees the breach rolls back.
 * - breach visible: the operator's own success-rate query (destination reporter, rate over one
 *   interval), polled every 50 ms on the same Prometheus, first answers below the minimum;
 * - rollback written: the status, polled every 25 ms, first reads RolledBack (the route was
 *   written before it: the reconciler writes the VirtualService first).
 * The decision time the operator recorded (`status.history[].time`) is shown beside it.
 *
 * Run: `npm run bench -- rollback` (ROLLBACK_RUNS, default 5; ROLLBACK_INTERVAL_S, default 5).
 * Not part of `npm test`; it prints a table and never fails on the numbers.
 */
import globalSetup from '../test/harness/global-setup.js';
import globalTeardown from '../test/harness/global-teardown.js';
import { E2eEnv, queryNumber, sleep, successRateQuery, waitFor } from '../test/e2e/env.js';
import { markdownTable } from './table.js';

const RUNS = Number(process.env.ROLLBACK_RUNS ?? 5);
const INTERVAL_S = Number(process.env.ROLLBACK_INTERVAL_S ?? 5);
const MIN_SUCCESS = 95;
const TARGET_MS = INTERVAL_S * 1000 + 2000;

interface Run {
  readonly run: number;
  readonly injectedAfterCheckMs: number;
  readonly visibleMs: number;
  readonly decidedMs: number;
  readonly writtenMs: number;
  readonly visibleValue: number;
}

async function oneRun(run: number): Promise<Run> {
  const env = await E2eEnv.start({
    prefix: `bench-rollback-${run}`,
    seed: run,
    services: [
      {
        name: 'reviews',
        versions: [
          { version: 'v1', latencyMs: 3 },
          { version: 'v3', latencyMs: 3 },
        ],
      },
    ],
  });
  try {
    await env.startOperator(`bench-operator-${run}`);
    env.load({ host: 'reviews', rps: 60, durationMs: 120_000 });
    await env.createRelease('reviews-v3', {
      service: 'reviews',
      stable: { subset: 'v1', deployment: 'reviews-v1' },
      canary: { subset: 'v3', deployment: 'reviews-v3' },
      virtualService: { name: 'reviews', route: 'primary' },
      steps: [{ setWeight: 50 }, { pause: { duration: '10m' } }],
      analysis: {
        interval: `${INTERVAL_S}s`,
        threshold: 1,
        successRate: { min: MIN_SUCCESS },
        missingData: { policy: 'Hold' },
      },
    });
    const passed = await env.waitStatus(
      'reviews-v3',
      'a passing check',
      (s) => s.lastCheckPassed === true,
      60_000,
    );
    await sleep(Math.random() * INTERVAL_S * 1000);
    const injectedAt = Date.now();
    env.sim.backend('reviews', 'v3').set({ errorRate: 0.2 });

    const query = successRateQuery(env.ns, 'reviews-v3', `${INTERVAL_S}s`);
    const visible = await waitFor(
      'the breach to be visible in Prometheus',
      async () => {
        const v = await queryNumber(env.prometheusUrl, query);
        return v !== undefined && v < MIN_SUCCESS ? { at: Date.now(), value: v } : undefined;
      },
      4 * INTERVAL_S * 1000,
      50,
    );
    const written = await waitFor(
      'the rollback',
      async () => {
        const s = await env.status('reviews-v3');
        return s?.phase === 'RolledBack' ? { at: Date.now(), status: s } : undefined;
      },
      4 * INTERVAL_S * 1000,
      25,
    );
    const decidedAt = Date.parse(written.status.history!.at(-1)!.time);
    return {
      run,
      injectedAfterCheckMs: injectedAt - Date.parse(passed.lastCheckAt!),
      visibleMs: visible.at - injectedAt,
      decidedMs: decidedAt - visible.at,
      writtenMs: written.at - visible.at,
      visibleValue: visible.value,
    };
  } finally {
    await env.dispose();
  }
}

async function main(): Promise<void> {
  await globalSetup();
  const runs: Run[] = [];
  try {
    for (let i = 1; i <= RUNS; i++) {
      const r = await oneRun(i);
      runs.push(r);
      process.stderr.write(`[bench] run ${i}/${RUNS}: breach visible → rollback written ${r.writtenMs} ms\n`);
    }
  } finally {
    await globalTeardown();
  }
  const rows = [
    [
      'run',
      'errors injected (after last check)',
      'visible in Prometheus after',
      'success rate seen',
      'visible → decided',
      'visible → rollback written',
      `target (${INTERVAL_S} s + 2 s)`,
    ],
    ...runs.map((r) => [
      String(r.run),
      `${r.injectedAfterCheckMs} ms`,
      `${r.visibleMs} ms`,
      `${r.visibleValue.toFixed(1)}%`,
      `${r.decidedMs} ms`,
      `${r.writtenMs} ms`,
      r.writtenMs <= TARGET_MS ? 'met' : 'MISSED',
    ]),
  ];
  const sorted = runs.map((r) => r.writtenMs).sort((a, b) => a - b);
  console.log(
    `Rollback latency: breach visible in Prometheus → rollback written (interval ${INTERVAL_S} s, threshold 1, 20% 5xx, 60 rps, 1 s scrape)\n`,
  );
  console.log(markdownTable(rows));
  console.log(
    `\nmedian ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms; target ${TARGET_MS} ms; met in ${runs.filter((r) => r.writtenMs <= TARGET_MS).length}/${runs.length} runs`,
  );
}

await main();
