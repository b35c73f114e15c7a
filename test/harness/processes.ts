/**
 * Process plumbing shared by the harness: free loopback ports, child processes with their logs in
 * files, readiness polling, and errors that name the part, the cause and what to do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A failure to provision or start one of the real parts. */
export class HarnessError extends Error {
  constructor(
    readonly part: string,
    why: string,
    whatToDo: string,
    logTail?: string,
  ) {
    super(
      `${part}: ${why}\n  what to do: ${whatToDo}${logTail ? `\n  --- last log lines ---\n${logTail}` : ''}`,
    );
    this.name = 'HarnessError';
  }
}

/** A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The last `lines` lines of a log file, indented, or a note when it cannot be read. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((l) => `    ${l}`)
      .join('\n');
  } catch {
    return `    (no log at ${file})`;
  }
}

/** A started child process whose output goes to `<logDir>/<name>.log`. */
export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Set once the process has exited. */
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export function startProcess(name: string, bin: string, args: string[], logDir: string): Managed {
  const logFile = join(logDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const managed: Managed = { name, child, logFile, exited: undefined };
  child.on('exit', (code, signal) => {
    managed.exited = { code, signal };
  });
  child.on('error', (err) => {
    out.write(`spawn error: ${err.message}\n`);
    managed.exited = { code: -1, signal: null };
  });
  return managed;
}

/** Stops processes in reverse start order: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(procs: Managed[], graceMs = 5000): Promise<void> {
  for (const p of [...procs].reverse()) {
    if (p.exited || p.child.exitCode !== null) continue;
    const gone = new Promise<void>((r) => p.child.once('exit', () => r()));
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns true, failing early if the process exits and with a clear error
 * (part, port, log tail) on timeout.
 */
export async function waitReady(
  p: Managed,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; port?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (p.exited) {
      const log = tail(p.logFile);
      const portTaken = /address already in use/i.test(log);
      throw new HarnessError(
        p.name,
        `exited during start (code ${p.exited.code}, signal ${p.exited.signal})` +
          (portTaken ? `: port ${opts.port ?? '?'} on 127.0.0.1 is taken` : ''),
        portTaken
          ? 'another process holds the port; rerun (ports are chosen afresh) or stop that process'
          : `read ${p.logFile}; rerun test/harness/provision.sh if the binary is damaged`,
        log,
      );
    }
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new HarnessError(
    p.name,
    `not ready after ${opts.timeoutMs / 1000} s`,
    `read ${p.logFile}; the machine may be overloaded`,
    tail(p.logFile),
  );
}
