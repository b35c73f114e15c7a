/**
 * api/v1alpha1/types.ts is the zod-free print of the CanaryRelease types: the committed file equals
 * what `npm run gen:crd` generates, and each printed type is the inferred one, both ways.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as inferred from '../../../api/v1alpha1/canary-release.js';
import { canaryReleaseTypes } from '../../../api/types-generator.js';
import type * as printed from '../../../api/v1alpha1/types.js';

const here = dirname(fileURLToPath(import.meta.url));

/** True only when A and B are the same type (not merely assignable one way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

test('the committed api/v1alpha1/types.ts equals what `npm run gen:crd` generates', () => {
  // stale: run `npm run gen:crd` and commit api/v1alpha1/types.ts
  expect(readFileSync(join(here, '../../../api/v1alpha1/types.ts'), 'utf8')).toBe(canaryReleaseTypes());
});

test('the printed types are the inferred ones and never mention zod', () => {
  const same: [
    Equal<printed.CanaryReleaseSpec, inferred.CanaryReleaseSpec>,
    Equal<printed.CanaryReleaseSpecInput, inferred.CanaryReleaseSpecInput>,
    Equal<printed.CanaryReleaseStatus, inferred.CanaryReleaseStatus>,
    Equal<printed.Step, inferred.Step>,
    Equal<printed.Phase, inferred.Phase>,
  ] = [true, true, true, true, true];
  expect(same).toEqual([true, true, true, true, true]);
  const code = canaryReleaseTypes()
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\/\*\*|\*)/.test(l));
  expect(code.length).toBeGreaterThan(100);
  expect(code.filter((l) => /\bzod\b|\bz\.|\$Zod|import\(/.test(l))).toEqual([]);
});
