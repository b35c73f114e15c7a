/**
 * Fuzzed CanaryRelease specs (derived from the zod schema, valid and mutated; see `spec-fuzz.ts`)
 * through the real apiserver and the running operator process: no crash, nothing logged as an
 * error, every spec the apiserver accepts and zod refuses gets phase Invalid and a condition
 * naming the field, the VirtualService is never touched, and the apiserver and zod agree on every
 * valid spec. `npm run bench -- reliability` runs 10,000 cases.
 */
import { fuzzCases, fuzzThroughOperator } from './spec-fuzz.js';

const CASES = Number(process.env.FUZZ_TEST_CASES ?? 150);

test(`${CASES} fuzzed specs: no crash, Invalid with the field named, the VirtualService untouched`, async () => {
  const r = await fuzzThroughOperator(fuzzCases(CASES, 16), { batch: 75, log: (l) => console.log(l) });
  console.log(
    `${r.cases} cases in ${r.ms} ms: refused by the apiserver ${r.refusedByApiserver}, Invalid by the operator ${r.invalidByOperator}, valid ${r.valid}`,
  );
  expect(r.breaks).toStrictEqual([]);
  expect(r.operatorErrors).toStrictEqual([]);
  expect(r.operatorAlive).toBe(true);
  expect(r.refusedByApiserver + r.invalidByOperator + r.valid).toBe(CASES);
  // each kind of case occurs, so no path of the check goes untried
  expect(r.refusedByApiserver).toBeGreaterThan(0);
  expect(r.invalidByOperator).toBeGreaterThan(0);
  expect(r.valid).toBeGreaterThan(0);
}, 300_000);
