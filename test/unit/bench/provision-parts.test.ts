import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../../../test/harness/provision.sh'),
  'utf8',
);

describe('the harness parts npm test provisions', () => {
  it('builds Flagger only when asked by name (the delivery benchmark), never by default', () => {
    const defaults = /\[ \$\{#parts\[@\]\} -gt 0 \] \|\| parts=\(([^)]*)\)/.exec(script);
    expect(defaults).not.toBeNull();
    const parts = defaults![1]!.trim().split(/\s+/);
    expect(parts).toContain('kubernetes');
    expect(parts).not.toContain('flagger');
    // …and the part exists, pinned to the version the Go module proxy serves.
    expect(script).toMatch(/^FLAGGER_VERSION=v1\.36\.1$/m);
    expect(script).toContain('build flagger "$FLAGGER_VERSION"');
  });
});
