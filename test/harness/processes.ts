/**
 * Process plumbing shared by the harness: free loopback ports, child processes with their logs in
 * files, readiness polling, and errors that name the part, the cause and what to do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync } from 'node:fs';
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
  for (const p of [...procs].reverse()) await stopProcess(p, 'SIGTERM', graceMs);
}

/** Sends `signal` to a running process, SIGKILL after `graceMs`, and waits for it to exit. */
export async function stopProcess(p: Managed, signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
  if (p.exited || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
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

/**
 * A part that can be stopped and started again with the same binary, arguments (so the same ports
 * and data dir) and readiness probe, as a restarted kube-apiserver or etcd would be. Its log file
 * is appended to, one `--- restart N ---` line between runs.
 */
export class RestartablePart {
  private proc: Managed;
  /** Completed restarts. */
  restarts = 0;

  private constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: string[],
    private readonly logDir: string,
    private readonly probe: () => Promise<boolean>,
    private readonly ready: { timeoutMs: number; port?: number },
  ) {
    this.proc = startProcess(name, bin, args, logDir);
  }

  /** Starts the part and waits until `probe` says it is ready. */
  static async start(
    name: string,
    bin: string,
    args: string[],
    logDir: string,
    probe: () => Promise<boolean>,
    ready: { timeoutMs: number; port?: number },
  ): Promise<RestartablePart> {
    const part = new RestartablePart(name, bin, args, logDir, probe, ready);
    try {
      await waitReady(part.proc, probe, ready);
    } catch (e) {
      await part.stop('SIGKILL');
      throw e;
    }
    return part;
  }

  /** The process of the current run. */
  get process(): Managed {
    return this.proc;
  }

  get running(): boolean {
    return !this.proc.exited && this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  /** Stops the current run: `signal` (SIGTERM: graceful; SIGKILL: a crash), SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    await stopProcess(this.proc, signal, graceMs);
  }

  /** Starts a stopped part again on the same ports and data; resolves when it is ready. */
  async start(): Promise<void> {
    if (this.running) throw new HarnessError(this.name, 'start() while it runs', 'stop() it first');
    this.restarts++;
    appendFileSync(this.proc.logFile, `--- restart ${this.restarts} ---\n`);
    this.proc = startProcess(this.name, this.bin, this.args, this.logDir);
    try {
      await waitReady(this.proc, this.probe, this.ready);
    } catch (e) {
      await this.stop('SIGKILL');
      throw e;
    }
  }

  /**
   * Stops the part, keeps it down for `downMs`, starts it again and waits until it is ready.
   * Returns how long it was unavailable (stop to ready).
   */
  async restart(opts: { signal?: NodeJS.Signals; downMs?: number } = {}): Promise<number> {
    const t0 = Date.now();
    await this.stop(opts.signal);
    if (opts.downMs) await sleep(opts.downMs);
    await this.start();
    return Date.now() - t0;
  }
}
