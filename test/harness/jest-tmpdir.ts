// Each unit test file gets a temporary directory of its own, removed when the file ends: cdk8s's
// Testing.app() and the CLI tests make a directory in os.tmpdir() per app and never remove it, and
// over many runs those directories pile up by the ten thousand.
import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const previous = process.env.TMPDIR;
const dir = mkdtempSync(join(tmpdir(), 'cdk8s-mesh-unit-'));
process.env.TMPDIR = dir;

afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(dir, { recursive: true, force: true });
});
