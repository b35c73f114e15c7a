/**
 * `npm run demo` run non-interactively (`--fast`, stdout a pipe): it starts its own control plane,
 * promotes a healthy release with `cli promote`, rolls back a release whose canary starts failing,
 * writes the timeline chart, and leaves no process or temp dir behind — also when interrupted
 * with Ctrl-C (SIGINT) halfway.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');

interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly ms: number;
}

/** Runs the demo; `onLine` may interrupt it. Bounded: killed (and failed) after `limitMs`. */
function runDemo(
  out: string,
  onLine?: (line: string, pid: number) => void,
  limitMs = 240_000,
): Promise<DemoRun> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repo, 'test/demo/main.ts'), '--fast', '--out', out],
    {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    text += d;
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) onLine?.(l, child.pid!);
  });
  child.stderr!.on('data', (d: Buffer) => (text += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out: text, ms: Date.now() - t0 });
    }),
  );
}

/** Processes whose command line mentions `text` (the control plane's temp dir). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(text)) found.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const workDirOf = (out: string) => /\[demo\] control plane in (\S+)/.exec(out)?.[1];

let out: string;
beforeEach(() => {
  out = mkdtempSync(join(tmpdir(), 'demo-out-'));
});
afterEach(() => rmSync(out, { recursive: true, force: true }));

test('the fast demo promotes release 1, rolls back release 2, writes the chart, and stops everything', async () => {
  const r = await runDemo(out);
  console.log(`demo wall time: ${(r.ms / 1000).toFixed(1)} s`);
  if (r.code !== 0) console.log(r.out);
  expect(r.code).toBe(0);

  // live progress lines: phase, step, progress bar, weights and both SLOs
  const progress = r.out.split('\n').filter((l) => l.startsWith('[progress] '));
  expect(progress.length).toBeGreaterThanOrEqual(6);
  expect(progress).toContainEqual(
    expect.stringMatching(
      /bookinfo\/reviews {2}Progressing {2}step 1\/4 setWeight 10 {2}\[█+░+\] {2}v1 90% \/ v3 10% {2}success [\d.]+% \(min 99%\) {2}p99 [\d.]+m?s \(max 300ms\)/,
    ),
  );
  expect(progress).toContainEqual(
    expect.stringMatching(/Paused \(approve: promote\) {2}step 4\/4 promotion/),
  );
  expect(progress).toContainEqual(
    expect.stringMatching(/Succeeded {2}step 4\/4 promoted {2}\[█{20}\] {2}v1 0% \/ v3 100%/),
  );
  expect(progress).toContainEqual(
    expect.stringMatching(/RolledBack {2}step \d\/3 rolled back .* v3 100% \/ v2 0%/),
  );

  // the story, in order
  const order = [
    'applied CanaryRelease bookinfo/reviews',
    '$ cdk8s-mesh promote reviews -n bookinfo',
    'wrote delivery.cdk8s-mesh.io/resume=1/4',
    'Succeeded: all 4 steps passed; v3 takes all traffic of route primary',
    'injecting a failure: reviews v2 now answers 30 % of requests with HTTP 503',
    'RolledBack: check failed 2/2 times in a row',
    'release 1 (v1 → v3): Succeeded',
    'release 2 (v3 → v2): RolledBack',
  ].map((s) => r.out.indexOf(s));
  expect(order.every((i) => i >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);

  // the chart
  const svg = readFileSync(join(out, 'rollout-timeline.svg'), 'utf8');
  expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const label of [
    'canary weight (%)',
    'canary success rate (%)',
    'canary p99 latency (ms)',
    'SLO 99',
    'SLO 300',
    'cli promote',
    'failure injected',
    'rolled back',
  ])
    expect(svg).toContain(label);
  expect((svg.match(/<polyline /g) ?? []).length).toBeGreaterThanOrEqual(4);
  expect(r.out).toContain(`rollout timeline chart: ${join(out, 'rollout-timeline.svg')}`);

  // nothing left behind
  const workDir = workDirOf(r.out);
  expect(workDir).toMatch(/cdk8s-mesh-cp-/);
  expect(existsSync(workDir!)).toBe(false);
  expect(processesMentioning(workDir!)).toEqual([]);
}, 300_000);

test('Ctrl-C halfway stops the operator, the simulator and the control plane, and exits 130', async () => {
  let sent = false;
  const r = await runDemo(out, (line, pid) => {
    if (!sent && line.startsWith('[progress] ') && /step 1\/4/.test(line)) {
      sent = true;
      process.kill(pid, 'SIGINT');
    }
  });
  if (r.code !== 130) console.log(r.out);
  expect(sent).toBe(true);
  expect(r.code).toBe(130);
  expect(r.out).toContain('[demo] interrupted: stopping everything');
  const workDir = workDirOf(r.out)!;
  expect(existsSync(workDir)).toBe(false);
  expect(processesMentioning(workDir)).toEqual([]);
}, 300_000);
