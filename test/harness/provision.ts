/** Runs test/harness/provision.sh (idempotent, cached) with its progress on stderr. */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Provisions `parts` (default: all) and returns the directory holding the binaries. */
export function provision(parts: string[] = []): string {
  const res = spawnSync('bash', [join(here, 'provision.sh'), ...parts], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (res.status !== 0) {
    throw new Error(
      `provisioning the real parts failed (see the [provision] lines above); exit code ${res.status}`,
    );
  }
  const lines = res.stdout.trim().split('\n');
  return lines[lines.length - 1]!;
}
