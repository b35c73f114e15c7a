/** Shared by the CLI tests: run the CLI in-process, and a fresh temp dir per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Io } from '../../../cli/main.js';

/** Runs the CLI with `argv`; resolves with its exit code and what it wrote. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWith({}, ...argv);
}

/** Runs the CLI with some of its Io given (cwd, env, nodeVersion). */
export async function cliWith(
  io: Omit<Io, 'out' | 'err'>,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { ...io, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** A temp dir created before and removed after each test of the file; call the result for its path. */
export function tempDirEach(prefix: string): () => string {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}
