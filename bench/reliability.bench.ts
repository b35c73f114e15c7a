/**
 * Reliability figures on the real parts (one control plane started for the benchmark, the test
 * harness's, stopped at the end):
 * - kill -9 of the operator process at random points while four releases run side by side, round
 *   after round, with every invariant read back from the apiserver after each kill
 *   (`test/e2e/kill-campaign.ts`);
 * - fuzzed CanaryRelease specs, derived from the zod schema, valid and mutated, through the
 *   apiserver and the running operator process in batches (`test/e2e/spec-fuzz.ts`).
 * `npm test` runs the same code with a few kills and 150 cases (`test/e2e/operator-kill.test.ts`,
 * `test/e2e/operator-fuzz.test.ts`).
 *
 * Run: `npm run bench -- reliability` (RELIABILITY_KILLS, default 200; RELIABILITY_FUZZ, default
 * 10000; RELIABILITY_SEED, default 1). Prints a table; exits 1 when an invariant broke.
 */
import globalSetup from '../test/harness/global-setup.js';
import globalTeardown from '../test/harness/global-teardown.js';
import { killCampaign, type KillCampaignResult } from '../test/e2e/kill-campaign.js';
import { fuzzCases, fuzzThroughOperator, type FuzzResult } from '../test/e2e/spec-fuzz.js';
import { markdownTable } from './table.js';

const KILLS = Number(process.env.RELIABILITY_KILLS ?? 200);
const FUZZ = Number(process.env.RELIABILITY_FUZZ ?? 10_000);
const SEED = Number(process.env.RELIABILITY_SEED ?? 1);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const progress = (l: string) => process.stderr.write(`[bench] ${l}\n`);

async function main(): Promise<number> {
  await globalSetup();
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
    console.log(`Reliability on the real apiserver, etcd and Prometheus (seed ${SEED})\n`);
    console.log(markdownTable(rows));
    const breaks = [...(kills?.breaks ?? []), ...(fuzz?.breaks ?? [])];
    const errors = [...(kills?.operatorErrors ?? []), ...(fuzz?.operatorErrors ?? [])];
    if (breaks.length || errors.length || (fuzz && !fuzz.operatorAlive)) {
      console.log(
        `\ninvariant breaks:\n${breaks.slice(0, 50).join('\n')}\noperator errors:\n${errors.slice(0, 20).join('\n')}`,
      );
      return 1;
    }
    console.log('\ninvariant breaks: 0');
    return 0;
  } finally {
    await globalTeardown();
  }
}

process.exitCode = await main();
