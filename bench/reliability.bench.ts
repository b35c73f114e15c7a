/**
 * Reliability figures on the real parts (one control plane started for the benchmark, the test
 * harness's, stopped at the end):
 * - kill -9 of the operator process at random points while four releases run side by side, round
 *   after round, with every invariant read back from the apiserver after each kill
 *   (`test/e2e/kill-campaign.ts`);
 * - fuzzed CanaryRelease specs, derived from the zod schema, valid and mutated, through the
 *   apiserver and the running operator process in batches (`test/e2e/spec-fuzz.ts`).
 * `npm test` runs the same code with a few kills and 150 cases (`test/e2e/operator-kill.test.ts`,
 * `test/e2e/operator-fuzz.test.ts`);
 * - the control plane's and Prometheus' faults, each once, as their tests run them in `npm test`
 *   (kube-apiserver restarted, etcd restarted, kube-apiserver hung, Prometheus slow, a
 *   conflicting writer): Jest runs those test files first, on its own control plane, and each
 *   test reports its figures after its assertions held (`test/harness/figures.ts`).
 *
 * Run: `npm run bench -- reliability` (RELIABILITY_KILLS, default 200; RELIABILITY_FUZZ, default
 * 10000; RELIABILITY_SEED, default 1; RELIABILITY_FAULTS=0 skips the fault tests). Prints a
 * table; exits 1 when an invariant broke or a fault test failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIGURES_ENV, type FaultFigures } from '../test/harness/figures.js';
import globalSetup from '../test/harness/global-setup.js';
import globalTeardown from '../test/harness/global-teardown.js';
import { killCampaign, type KillCampaignResult } from '../test/e2e/kill-campaign.js';
import { fuzzCases, fuzzThroughOperator, type FuzzResult } from '../test/e2e/spec-fuzz.js';
import { markdownTable } from './table.js';

const KILLS = Number(process.env.RELIABILITY_KILLS ?? 200);
const FUZZ = Number(process.env.RELIABILITY_FUZZ ?? 10_000);
const SEED = Number(process.env.RELIABILITY_SEED ?? 1);
const FAULTS = process.env.RELIABILITY_FAULTS !== '0';
/** The tests of one fault each (or two: the restart file restarts kube-apiserver, then etcd). */
const FAULT_TESTS = [
  'test/e2e/control-plane-restart.test.ts',
  'test/integration/operator-request-timeout.test.ts',
  'test/e2e/prometheus-slow.test.ts',
  'test/e2e/conflicting-writer.test.ts',
];
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

interface FaultRun {
  readonly figures: FaultFigures[];
  /** `test title: first line of its failure`, for every test that failed. */
  readonly failed: string[];
  readonly ms: number;
}

/** Runs the fault tests in one Jest process and collects what they reported. */
function faultTests(): FaultRun {
  const dir = mkdtempSync(join(tmpdir(), 'reliability-faults-'));
  try {
    const figuresFile = join(dir, 'figures.jsonl');
    const resultFile = join(dir, 'jest.json');
    const t0 = Date.now();
    const run = spawnSync(
      process.execPath,
      [
        '--experimental-vm-modules',
        join(repo, 'node_modules/jest/bin/jest.js'),
        '--runInBand',
        '--forceExit', // a failed test may leave its operator or watches behind
        '--json',
        `--outputFile=${resultFile}`,
        '--testPathPatterns',
        FAULT_TESTS.map((f) => f.replace(/[.]/g, '\\.')).join('|'),
      ],
      {
        cwd: repo,
        env: { ...process.env, [FIGURES_ENV]: figuresFile },
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 1_200_000,
      },
    );
    const ms = Date.now() - t0;
    let figures: FaultFigures[] = [];
    try {
      figures = readFileSync(figuresFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as FaultFigures);
    } catch {
      // no test reported
    }
    const failed: string[] = [];
    try {
      const result = JSON.parse(readFileSync(resultFile, 'utf8')) as {
        testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
      };
      for (const file of result.testResults)
        for (const a of file.assertionResults)
          if (a.status === 'failed')
            failed.push(`${a.title}: ${(a.failureMessages[0] ?? '').split('\n')[0]}`);
    } catch {
      failed.push(`jest ended with ${run.status ?? run.signal} and no results`);
    }
    if (run.status !== 0 && failed.length === 0) failed.push(`jest ended with ${run.status ?? run.signal}`);
    return { figures, failed, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const progress = (l: string) => process.stderr.write(`[bench] ${l}\n`);

async function main(): Promise<number> {
  // the fault tests first, on Jest's own control plane, so that two never run at once
  let faults: FaultRun | undefined;
  if (FAULTS) {
    progress(`fault tests: ${FAULT_TESTS.join(', ')}`);
    faults = faultTests();
    progress(`fault tests done in ${(faults.ms / 1000).toFixed(0)} s, ${faults.failed.length} failed`);
  }
  const campaigns = KILLS > 0 || FUZZ > 0;
  if (campaigns) await globalSetup();
  let kills: KillCampaignResult | undefined;
  let fuzz: FuzzResult | undefined;
  const t0 = Date.now();
  try {
    if (KILLS > 0) kills = await killCampaign({ kills: KILLS, seed: SEED, log: progress });
    const killMs = Date.now() - t0;
    if (FUZZ > 0) {
      const t1 = Date.now();
      const cases = fuzzCases(FUZZ, SEED);
      progress(`${cases.length} fuzz cases generated in ${Date.now() - t1} ms`);
      fuzz = await fuzzThroughOperator(cases, { batch: 200, log: progress });
    }
    const rows = [['fault', 'count', 'outcome', 'invariant breaks', 'time']];
    if (kills) {
      const unexpected = kills.outcomes.filter(
        (o) => !/(steady|header|short): Succeeded$|failing: RolledBack$/.test(o),
      );
      rows.push(
        [
          'operator kill -9 at random points',
          `${kills.kills} kills, ${kills.rounds} rounds of 4 concurrent releases (${kills.releases})`,
          `${kills.outcomes.length - unexpected.length}/${kills.outcomes.length} releases ended as without kills`,
          String(kills.breaks.length),
          `${(killMs / 1000).toFixed(0)} s`,
        ],
        [
          'operator restarts',
          `${kills.startMs.length} starts`,
          `start to acting: median ${median(kills.startMs)} ms, max ${Math.max(...kills.startMs)} ms`,
          `${kills.operatorErrors.length} error lines`,
          '',
        ],
      );
    }
    if (fuzz) {
      rows.push([
        'fuzzed CanaryRelease specs (apiserver + operator)',
        `${fuzz.cases} cases`,
        `refused by the apiserver ${fuzz.refusedByApiserver}, Invalid with the field named ${fuzz.invalidByOperator}, valid ${fuzz.valid}; operator ${fuzz.operatorAlive ? 'alive' : 'DIED'}, ${fuzz.operatorErrors.length} error lines`,
        String(fuzz.breaks.length),
        `${(fuzz.ms / 1000).toFixed(0)} s (${((fuzz.ms / fuzz.cases) * 1000).toFixed(0)} µs/case)`,
      ]);
    }
    for (const f of faults?.figures ?? []) rows.push([f.fault, f.count, f.outcome, '0', '']);
    for (const f of faults?.failed ?? []) rows.push([f, '', 'TEST FAILED', 'see the test', '']);
    console.log(`Reliability on the real apiserver, etcd and Prometheus (seed ${SEED})\n`);
    console.log(markdownTable(rows));
    const breaks = [...(kills?.breaks ?? []), ...(fuzz?.breaks ?? [])];
    const errors = [...(kills?.operatorErrors ?? []), ...(fuzz?.operatorErrors ?? [])];
    if (faults)
      console.log(`fault tests: ${FAULT_TESTS.length} files in ${(faults.ms / 1000).toFixed(0)} s\n`);
    if (breaks.length || errors.length || (fuzz && !fuzz.operatorAlive) || faults?.failed.length) {
      console.log(
        `\ninvariant breaks:\n${breaks.slice(0, 50).join('\n')}\noperator errors:\n${errors.slice(0, 20).join('\n')}`,
      );
      return 1;
    }
    console.log('\ninvariant breaks: 0');
    return 0;
  } finally {
    if (campaigns) await globalTeardown();
  }
}

process.exitCode = await main();
