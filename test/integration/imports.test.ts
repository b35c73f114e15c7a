/**
 * imports/ is generated: `npm run import` (scripts/import.sh) must reproduce the committed files
 * byte for byte from the pinned Istio module's CRDs, the Gateway API CRDs at the version that module
 * requires, and the committed cert-manager CRDs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('the committed imports/ equals what `npm run import` generates', () => {
  const out = mkdtempSync(join(tmpdir(), 'imports-'));
  try {
    execFileSync('bash', [join(root, 'scripts/import.sh'), out], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
    const committed = readdirSync(join(root, 'imports'))
      .filter((f) => f.endsWith('.ts'))
      .sort();
    const generated = readdirSync(out)
      .filter((f) => f.endsWith('.ts'))
      .sort();
    expect(generated).toEqual(committed);
    expect(committed).toEqual(
      expect.arrayContaining([
        'networking.istio.io.ts',
        'security.istio.io.ts',
        'gateway.networking.k8s.io.ts',
        'cert-manager.io.ts',
      ]),
    );
    const differing = committed.filter(
      (f) => readFileSync(join(out, f), 'utf8') !== readFileSync(join(root, 'imports', f), 'utf8'),
    );
    expect(differing).toEqual([]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
