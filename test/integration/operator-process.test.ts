/**
 * `operator/main.ts` as a process against the real apiserver: flags, JSON logs, `/healthz`,
 * `/readyz`, `/metrics`, the Lease taken, and SIGTERM stopping it gracefully with the Lease
 * released and exit code 0. A bad flag exits 2 with a message that says what to do.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeClient, LEASES } from '../../operator/adapters/kubernetes.js';
import type { LeaseRecord } from '../../operator/runtime/leader-election.js';
import { freePort } from '../harness/processes.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { must, waitFor } from './operator-fixtures.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const tsx = join(root, 'node_modules/.bin/tsx');

let ns: { name: string; dispose: () => Promise<void> };
beforeAll(async () => {
  ns = await testNamespace('op-process');
});
afterAll(async () => ns?.dispose());

function run(args: string[]) {
  const child = spawn(tsx, [join(root, 'operator/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, KUBECONFIG: '', PROMETHEUS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, stderr: () => stderr };
}

describe('operator/main.ts', () => {
  test('serves health and metrics, takes the Lease, and on SIGTERM releases it and exits 0', async () => {
    const port = await freePort();
    const p = run([
      `--kubeconfig=${cluster.kubeconfigPath}`,
      `--prometheus-url=${cluster.prometheusUrl}`,
      `--namespace=${ns.name}`,
      `--lease-namespace=${ns.name}`,
      '--lease-name=op',
      `--listen=127.0.0.1:${port}`,
      '--identity=proc-1',
    ]);
    try {
      await waitFor(
        '/readyz to answer 200',
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        },
        60_000,
        200,
      );
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const client = new KubeClient(cluster.kubeConfig());
      await waitFor('the Lease to be held by proc-1', async () => {
        const l = await client.get<{ metadata: { name: string }; spec?: LeaseRecord }>(LEASES, {
          namespace: ns.name,
          name: 'op',
        });
        return l.ok && l.value.spec?.holderIdentity === 'proc-1' ? true : undefined;
      });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('canary_operator_leader 1');

      p.child.kill('SIGTERM');
      const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
      expect(code).toBe(0);
      const lease = must(
        await client.get<{ metadata: { name: string }; spec?: LeaseRecord }>(LEASES, {
          namespace: ns.name,
          name: 'op',
        }),
      );
      expect(lease.spec?.holderIdentity).toBe('');
      const lines = p
        .stderr()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { level: string; msg: string });
      expect(lines.map((l) => l.msg)).toEqual(
        expect.arrayContaining([
          'operator started',
          'leading: acting on releases',
          'SIGTERM: stopping gracefully',
          'stopped',
        ]),
      );
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('fails if --prometheus-url is missing, saying what to pass (exit 2)', async () => {
    const p = run([`--kubeconfig=${cluster.kubeconfigPath}`]);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('--prometheus-url (or PROMETHEUS_URL) is required');
  });

  test('fails if the lease timings break their rules, naming the flag or variable (exit 2)', async () => {
    const flag = run([
      `--kubeconfig=${cluster.kubeconfigPath}`,
      `--prometheus-url=${cluster.prometheusUrl}`,
      '--lease-duration=5s',
      '--renew-deadline=5s',
    ]);
    expect(await flag.exited).toBe(2);
    expect(flag.stderr()).toContain(
      '--renew-deadline (5s) must be shorter than --lease-duration (5s): a leader that cannot renew must stop acting before another replica may take over',
    );
    const child = spawn(tsx, [join(root, 'operator/main.ts'), `--prometheus-url=${cluster.prometheusUrl}`], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, RETRY_PERIOD: '10ms' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await new Promise((r) => child.on('exit', r))).toBe(2);
    expect(stderr).toContain('RETRY_PERIOD must be at least 100ms (got 10ms)');
  });

  test('fails if the request timeout is out of bounds, naming the flag (exit 2)', async () => {
    const p = run([
      `--kubeconfig=${cluster.kubeconfigPath}`,
      `--prometheus-url=${cluster.prometheusUrl}`,
      '--request-timeout=100ms',
    ]);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain('--request-timeout must be from 1s to 600s (got 100ms)');
  });
});
