/**
 * Nothing is left behind: when the process that owns a control plane is killed outright
 * (SIGKILL, as when CI times out or a developer kills Jest), the supervisor notices its stdin
 * closing, stops every part and removes the temp dir.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cluster } from '../harness/cluster.js';
import type { ControlPlaneEndpoints } from '../harness/control-plane.js';

const harness = join(dirname(fileURLToPath(import.meta.url)), '../harness');

/** Pids of processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

test('a control plane whose owner is SIGKILLed stops every process and removes its temp dir', async () => {
  // The owner: a Node process that starts a supervisor the way Jest's global setup does.
  const owner = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { spawn } from 'node:child_process';
       const s = spawn(process.execPath, ['--import', 'tsx', ${JSON.stringify(join(harness, 'supervisor.ts'))}, ${JSON.stringify(cluster.bin)}],
         { stdio: ['pipe', 'inherit', 'ignore'], detached: true });
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const endpoints = await new Promise<ControlPlaneEndpoints>((resolve, reject) => {
    createInterface({ input: owner.stdout! }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)) as ControlPlaneEndpoints);
      if (line.startsWith('FAILED ')) reject(new Error(line));
    });
    owner.on('exit', () => reject(new Error('owner exited early')));
  });
  const before = processesMentioning(endpoints.workDir);
  // etcd, kube-apiserver, controller-manager, scheduler, kwok and Prometheus all run from it.
  expect(before.length).toBeGreaterThanOrEqual(6);
  expect(existsSync(endpoints.workDir)).toBe(true);

  owner.kill('SIGKILL');

  let left = before;
  for (let i = 0; i < 100 && (left.length > 0 || existsSync(endpoints.workDir)); i++) {
    await new Promise((r) => setTimeout(r, 200));
    left = processesMentioning(endpoints.workDir);
  }
  expect(left).toEqual([]);
  expect(existsSync(endpoints.workDir)).toBe(false);
});
