/**
 * Runs the test control plane as its own process. Its parent (Jest's global setup) holds the
 * other end of stdin: when the parent exits for any reason (done, failed, Ctrl-C, killed), stdin
 * closes and this process stops every part and removes the temp dir, so nothing is left behind.
 *
 * Protocol on stdout: one line `READY <json endpoints>` or `FAILED <message as json string>`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './control-plane.js';

const bin = process.argv[2];
if (!bin) {
  process.stdout.write(`FAILED ${JSON.stringify('usage: supervisor.ts <bin dir>')}\n`);
  process.exit(2);
}

let plane: ControlPlane | undefined;
let stopping: Promise<void> | undefined;
const shutdown = (code: number) => {
  stopping ??= (async () => {
    await plane?.stop().catch((e: Error) => process.stderr.write(`[control-plane] stop: ${e.message}\n`));
    process.exit(code);
  })();
  return stopping;
};

process.stdin.on('end', () => void shutdown(0));
process.stdin.on('error', () => void shutdown(0));
process.stdin.resume();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown(0));

const workDir = mkdtempSync(join(tmpdir(), 'cdk8s-mesh-cp-'));
startControlPlane({ bin, workDir, log: (l) => process.stderr.write(`[control-plane] ${l}\n`) })
  .then((p) => {
    plane = p;
    const { stop: _stop, ...endpoints } = p;
    process.stdout.write(`READY ${JSON.stringify(endpoints)}\n`);
  })
  .catch((e: Error) => {
    process.stdout.write(`FAILED ${JSON.stringify(e.message)}\n`);
    void shutdown(1);
  });
