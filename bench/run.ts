/**
 * Runs the benchmarks: every `bench/*.bench.ts` (or those whose name contains an argument), each
 * in its own process so one does not warm the heap or JIT for the next. Each prints its table.
 * Benchmarks are never part of `npm test`: this machine is shared, so they report ratios
 * measured within one run rather than pass/fail on wall time.
 *
 * `npm run bench -- [names…] [--option value…]`: the arguments before the first one that starts
 * with `--` choose the benchmarks; that one and the rest are passed to each chosen benchmark
 * (e.g. `npm run bench -- scale --concurrency 32`).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith('--'));
const filters = firstOption < 0 ? argv : argv.slice(0, firstOption);
const options = firstOption < 0 ? [] : argv.slice(firstOption);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(
    `no benchmark matches ${filters.join(' ')}; available: ${readdirSync(here)
      .filter((f) => f.endsWith('.bench.ts'))
      .join(', ')}`,
  );
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f}\n`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, f), ...options], {
    stdio: 'inherit',
  });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
