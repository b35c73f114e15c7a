/**
 * The operator as a whole process (the compiled `operator/main.js`, started with the image's Node
 * options, environment and allocator) against the test control plane, for tests that kill it: its
 * JSON log lines on stderr are watched for the moment it starts acting and for errors (an
 * unhandled rejection is logged at level error).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cluster } from './cluster.js';
import { compiledOperator } from './compiled-cli.js';
import { OPERATOR_ENV, OPERATOR_NODE_FLAGS } from '../../image/node-flags.js';
import { imageAllocator } from './image-allocator.js';

export interface OperatorProcess {
  readonly child: ChildProcess;
  /** Resolves when the process logs that it leads (acts on releases). */
  readonly leading: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Lines it logged at level error. */
  readonly errors: string[];
  /** Every line it logged. */
  readonly lines: string[];
  /** The library it was started with in LD_PRELOAD (the image's allocator unless overridden), if any. */
  readonly preload?: string;
}

export interface SpawnOptions {
  /** Watch and act in this namespace only. @default - every namespace */
  readonly namespace?: string;
  readonly identity: string;
  /** The Lease's namespace and name; without it, `--no-leader-election`. */
  readonly lease?: { readonly namespace: string; readonly name: string };
  /** Lease timings, as the flags take them (e.g. `5s`). @default - the operator's defaults (15s, 10s, 2s) */
  readonly leaseTimings?: {
    readonly leaseDuration: string;
    readonly renewDeadline: string;
    readonly retryPeriod: string;
  };
  /** Prometheus base URL. @default the test control plane's */
  readonly prometheusUrl?: string;
  /** kubeconfig the operator uses. @default the test control plane's admin kubeconfig */
  readonly kubeconfig?: string;
  /** More options for Node before the script (e.g. `--heapsnapshot-signal=SIGUSR2`), after the image's. @default none */
  readonly nodeArgs?: readonly string[];
  /** More operator flags (e.g. `--concurrency=16`). @default none */
  readonly args?: readonly string[];
  /** More environment variables for the process, over the image's (e.g. `MALLOC_CONF`). @default none */
  readonly env?: Readonly<Record<string, string>>;
}

export function spawnOperator(opts: SpawnOptions): OperatorProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...OPERATOR_ENV,
    // the image's allocator, from where this machine keeps it
    LD_PRELOAD: imageAllocator(),
    ...opts.env,
    KUBECONFIG: '',
    PROMETHEUS_URL: '',
  };
  const child = spawn(
    process.execPath,
    [
      ...OPERATOR_NODE_FLAGS,
      ...(opts.nodeArgs ?? []),
      compiledOperator(),
      `--kubeconfig=${opts.kubeconfig ?? cluster.kubeconfigPath}`,
      `--prometheus-url=${opts.prometheusUrl ?? cluster.prometheusUrl}`,
      ...(opts.namespace ? [`--namespace=${opts.namespace}`] : []),
      ...(opts.lease
        ? [`--lease-namespace=${opts.lease.namespace}`, `--lease-name=${opts.lease.name}`]
        : ['--no-leader-election']),
      ...(opts.leaseTimings
        ? [
            `--lease-duration=${opts.leaseTimings.leaseDuration}`,
            `--renew-deadline=${opts.leaseTimings.renewDeadline}`,
            `--retry-period=${opts.leaseTimings.retryPeriod}`,
          ]
        : []),
      '--listen=127.0.0.1:0',
      `--identity=${opts.identity}`,
      ...(opts.args ?? []),
    ],
    {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const errors: string[] = [];
  const lines: string[] = [];
  let buf = '';
  let onLeading: () => void = () => undefined;
  const leading = new Promise<void>((r) => (onLeading = r));
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      if (line.includes('"leading: acting on releases"')) onLeading();
      if (line.includes('"level":"error"')) errors.push(line);
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, leading, exited, errors, lines, ...(env.LD_PRELOAD ? { preload: env.LD_PRELOAD } : {}) };
}

/**
 * Waits until `p` leads; fails if it exits first or after `timeoutMs`, or if it runs without the
 * library it was given in LD_PRELOAD (the loader only warns and goes on without it).
 */
export async function waitLeading(p: OperatorProcess, what: string, timeoutMs = 120_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not start acting in ${timeoutMs} ms`)), timeoutMs);
  });
  const exitedEarly = p.exited.then(() => {
    throw new Error(`${what} exited before it acted:\n${p.lines.slice(-20).join('\n')}`);
  });
  try {
    await Promise.race([p.leading, exitedEarly, timeout]);
    if (p.preload && !readFileSync(`/proc/${p.child.pid}/maps`, 'utf8').includes(p.preload))
      throw new Error(`${what} runs without ${p.preload} (LD_PRELOAD):\n${p.lines.slice(0, 5).join('\n')}`);
  } finally {
    clearTimeout(timer);
    exitedEarly.catch(() => undefined);
  }
}

/** SIGKILLs `p` and waits for it to exit. */
export async function killHard(p: OperatorProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}
