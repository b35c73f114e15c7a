/**
 * Writes the generated files of `api/` (the CRD manifest and the zod-free types) (`npm run gen:crd`). With `--check`, writes
 * nothing and exits 1 when a committed file differs from what would be generated.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canaryReleaseTypes } from './types-generator.js';
import { canaryReleaseCrdYaml } from './v1alpha1/crd.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Generated files: path relative to `api/` → content. */
export const GENERATED: Record<string, () => string> = {
  'v1alpha1/crd.yaml': canaryReleaseCrdYaml,
  'v1alpha1/types.ts': canaryReleaseTypes,
};

function main(check: boolean): number {
  let stale = 0;
  for (const [file, render] of Object.entries(GENERATED)) {
    const path = join(here, file);
    const text = render();
    const shown = relative(process.cwd(), path);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // missing counts as stale
      }
      if (current !== text) {
        stale++;
        console.error(`${shown} is stale: run \`npm run gen:crd\` and commit it`);
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${shown}`);
    }
  }
  return stale === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.includes('--check'));
