/**
 * `cdk8s-mesh status`, `promote`, `resume` and `abort` against the real kube-apiserver: CanaryReleases
 * are created with a status written through the /status subresource (as the operator writes
 * it), the commands run on the admin kubeconfig, and the annotations they write are read back.
 */
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ABORT_ANNOTATION,
  RESUME_ANNOTATION,
  type CanaryReleaseStatus,
} from '../../api/v1alpha1/canary-release.js';
import { EXIT, run } from '../../cli/main.js';
import { CANARY_RELEASES, KubeClient, type CanaryReleaseObject } from '../../operator/adapters/kubernetes.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { canaryRelease, must, sleep } from './operator-fixtures.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
let ns: { name: string; dispose: () => Promise<void> };
let client: KubeClient;

const spec = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v3', revision: '1.20.3' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }],
  promotion: { manualApproval: true },
  analysis: { interval: '5s', threshold: 2, successRate: { min: 99 }, latencyP99: { max: '500ms' } },
};

function status(s: Partial<CanaryReleaseStatus>): CanaryReleaseStatus {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    observedGeneration: 1,
    release: 'reviews/v1/v3/1.20.3',
    phase: 'Progressing',
    currentStep: 0,
    totalSteps: 3,
    canaryWeight: 10,
    stepStartedAt: now,
    consecutiveFailures: 0,
    successRate: 99.5,
    lastCheckAt: now,
    lastCheckPassed: true,
    lastMeasurements: [
      { name: 'request-success-rate', result: 'Pass', value: 99.5 },
      { name: 'request-duration-p99', result: 'Pass', value: 42 },
    ],
    conditions: [
      {
        type: 'Valid',
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: now,
        reason: 'SpecValid',
        message: 'the spec is valid and its route exists',
      },
    ],
    history: [
      {
        time: now,
        phase: 'Progressing',
        step: 0,
        canaryWeight: 10,
        reason: 'Started',
        message: 'the release starts',
      },
    ],
    ...s,
  };
}

/** Creates a release and writes its status as the operator would. */
async function create(name: string, st?: Partial<CanaryReleaseStatus>): Promise<void> {
  must(await client.create(CANARY_RELEASES, ns.name, canaryRelease(ns.name, name, spec)));
  if (st) await setStatus(name, st);
}
async function setStatus(name: string, st: Partial<CanaryReleaseStatus>): Promise<void> {
  must(
    await client.jsonPatch(
      CANARY_RELEASES,
      { namespace: ns.name, name },
      [{ op: 'add', path: '/status', value: status(st) }],
      {
        subresource: 'status',
      },
    ),
  );
}
const annotations = async (name: string) =>
  must(await client.get<CanaryReleaseObject>(CANARY_RELEASES, { namespace: ns.name, name })).metadata
    .annotations ?? {};

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run([...argv, '--kubeconfig', cluster.kubeconfigPath], {
    out: (s) => (out += s),
    err: (s) => (err += s),
  });
  return { code, out, err };
}

beforeAll(async () => {
  const kc = cluster.kubeConfig();
  client = new KubeClient(kc);
  ns = await testNamespace('cli-release');
  await create('running', {});
  await create('gated', {
    phase: 'Paused',
    currentStep: 1,
    message: 'step 1/3 (pause (manual gate)): waiting for approval',
  });
  await create('approval', { phase: 'Paused', currentStep: 3, canaryWeight: 50 });
  await create('done', { phase: 'Succeeded', currentStep: 3, canaryWeight: 100 });
  await create('fresh'); // no status yet
});
afterAll(async () => {
  await ns?.dispose();
});

describe('cli status', () => {
  test('a table of the namespace, sorted, with phase, step, bar, weights and SLOs', async () => {
    const r = await cli('status', '-n', ns.name);
    expect(r.code).toBe(EXIT.ok);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAME\s+PHASE\s+STEP\s+PROGRESS\s+WEIGHTS\s+SUCCESS\s+P99\s+LAST CHECK\s+AGE\s+MESSAGE$/,
    );
    expect(lines.slice(1).map((l) => l.split(/\s{3,}/).slice(0, 3))).toEqual([
      ['approval', 'Paused (approve: promote)', '3/3'],
      ['done', 'Succeeded', '3/3'],
      ['fresh', 'Pending', '0/3'],
      ['gated', 'Paused (gate: promote)', '1/3'],
      ['running', 'Progressing', '0/3'],
    ]);
    expect(lines.find((l) => l.startsWith('running'))).toMatch(
      /\[░░░░░░░░░░\]\s+v1 90% \/ v3 10%\s+99\.5%\s+42ms\s+pass \d+s ago/,
    );
  });

  test('-A adds the namespace column; an empty namespace says so', async () => {
    const all = await cli('status', '-A');
    expect(all.code).toBe(EXIT.ok);
    expect(all.out).toMatch(new RegExp(`^${ns.name}\\s+gated\\s+Paused`, 'm'));
    const empty = await testNamespace('cli-empty');
    try {
      const r = await cli('status', '-n', empty.name);
      expect(r).toEqual({
        code: EXIT.ok,
        out: `No CanaryReleases in namespace ${empty.name}. (Try -A for all namespaces.)\n`,
        err: '',
      });
    } finally {
      await empty.dispose();
    }
  });

  test('one release in detail, and as JSON', async () => {
    const r = await cli('status', 'gated', '-n', ns.name);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain(`CanaryRelease ${ns.name}/gated (generation 1)`);
    expect(r.out).toContain('  Phase       Paused (gate: promote), step 1/3: pause (manual gate)');
    expect(r.out).toContain(`  Waiting     for you: cdk8s-mesh promote gated -n ${ns.name}`);
    expect(r.out).toMatch(/History \(oldest first\)\n\s+TIME\s+PHASE/);

    const j = await cli('status', 'gated', '-n', ns.name, '-o', 'json');
    expect(JSON.parse(j.out)).toMatchObject({
      namespace: ns.name,
      name: 'gated',
      phase: 'Paused',
      currentStep: 1,
      totalSteps: 3,
      gate: 'manual',
      stable: { subset: 'v1', weight: 90 },
      canary: { subset: 'v3', weight: 10, revision: '1.20.3' },
      successRate: 99.5,
      latencyP99Ms: 42,
      latencyP99Max: '500ms',
    });
  });

  test('an unknown release: exit 4, naming what exists and what to do', async () => {
    const r = await cli('status', 'nope', '-n', ns.name);
    expect(r.code).toBe(EXIT.notFound);
    expect(r.err).toBe(
      `cdk8s-mesh status: CanaryRelease ${ns.name}/nope not found (in ${ns.name}: approval, done, fresh, gated, running); check the name and -n, or list them all with \`cdk8s-mesh status -A\`\n`,
    );
  });

  test('--watch of one release prints a line per change and exits 0 when it succeeds, 5 when it rolls back', async () => {
    await create('watched', { phase: 'Progressing', currentStep: 0 });
    const lines: string[] = [];
    let err = '';
    const watching = run(
      [
        'status',
        'watched',
        '-n',
        ns.name,
        '--watch',
        '--interval',
        '200ms',
        '--kubeconfig',
        cluster.kubeconfigPath,
      ],
      {
        out: (s) => lines.push(...s.trimEnd().split('\n')),
        err: (s) => (err += s),
      },
    );
    await sleep(700);
    await setStatus('watched', { phase: 'Progressing', currentStep: 2, canaryWeight: 50 });
    await sleep(700);
    await setStatus('watched', { phase: 'Succeeded', currentStep: 3, canaryWeight: 100 });
    expect(await watching).toBe(EXIT.ok);
    expect(lines.map((l) => l.split('  ').slice(1, 4).join(' | '))).toEqual([
      `${ns.name}/watched | Progressing | step 0/3 setWeight 10`,
      `${ns.name}/watched | Progressing | step 2/3 setWeight 50`,
      `${ns.name}/watched | Succeeded | step 3/3 promoted`,
    ]);
    expect(lines[2]).toContain('[████████████████████]  v1 0% / v3 100%');
    expect(err).toContain(`CanaryRelease ${ns.name}/watched ended Succeeded`);

    await create('doomed', { phase: 'Progressing' });
    const w2 = run(
      [
        'status',
        'doomed',
        '-n',
        ns.name,
        '-w',
        '--interval',
        '200ms',
        '-o',
        'json',
        '--kubeconfig',
        cluster.kubeconfigPath,
      ],
      {
        out: (s) => lines.push(s),
        err: () => undefined,
      },
    );
    await sleep(500);
    await setStatus('doomed', {
      phase: 'RolledBack',
      canaryWeight: 0,
      message: 'canary success rate 80% is below the minimum 99%',
    });
    expect(await w2).toBe(EXIT.releaseFailed);
    expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({ name: 'doomed', phase: 'RolledBack' });
  });

  test('--watch of a namespace ends on the signal', async () => {
    const ac = new AbortController();
    let out = '';
    const w = run(
      ['status', '-n', ns.name, '--watch', '--interval', '200ms', '--kubeconfig', cluster.kubeconfigPath],
      {
        out: (s) => (out += s),
        err: () => undefined,
        signal: ac.signal,
      },
    );
    await sleep(600);
    ac.abort();
    expect(await w).toBe(EXIT.ok);
    expect(out).toMatch(new RegExp(`/gated  Paused \\(gate: promote\\)  step 1/3`));
  });
});

describe('cli promote, resume and abort', () => {
  test('promote at a manual gate writes <observedGeneration>/<currentStep>; again is a no-op', async () => {
    const r = await cli('promote', 'gated', '-n', ns.name);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toBe(
      `CanaryRelease ${ns.name}/gated: opened the manual gate at step 1/3: the release advances once a check in this step passes.\n  wrote ${RESUME_ANNOTATION}=1/1; follow it with \`cdk8s-mesh status gated -n ${ns.name} --watch\`\n`,
    );
    expect((await annotations('gated'))[RESUME_ANNOTATION]).toBe('1/1');
    const again = await cli('promote', 'gated', '-n', ns.name);
    expect(again.code).toBe(EXIT.ok);
    expect(again.out).toContain('already done');
  });

  test('promote at the promotion approval (JSON output)', async () => {
    const r = await cli('promote', 'approval', '-n', ns.name, '-o', 'json');
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.out)).toMatchObject({
      name: 'approval',
      command: 'promote',
      written: true,
      annotation: { [RESUME_ANNOTATION]: '1/3' },
    });
    expect((await annotations('approval'))[RESUME_ANNOTATION]).toBe('1/3');
  });

  test('promote refuses a release that is not at a gate (exit 3) and writes nothing', async () => {
    for (const [name, message] of [
      [
        'running',
        /is not waiting at a gate: it is Progressing at step 0\/3 \(setWeight 10\) and advances by itself/,
      ],
      ['done', /has already finished \(Succeeded: v3 takes all traffic\): there is nothing to promote/],
      ['fresh', /has no status yet: the operator has not acted on it\. Check that the operator runs/],
    ] as const) {
      const r = await cli('promote', name, '-n', ns.name);
      expect(r.code).toBe(EXIT.refused);
      expect(r.err).toMatch(message);
      expect((await annotations(name))[RESUME_ANNOTATION]).toBeUndefined();
    }
  });

  test('a status for an older generation is refused: the operator has not seen the spec', async () => {
    await create('stale', { phase: 'Paused', currentStep: 1 });
    must(
      await client.mergePatch(
        CANARY_RELEASES,
        { namespace: ns.name, name: 'stale' },
        { spec: { analysis: { interval: '6s' } } },
      ),
    );
    const r = await cli('resume', 'stale', '-n', ns.name);
    expect(r.code).toBe(EXIT.refused);
    expect(r.err).toMatch(/is at generation 2 but its status is for generation 1/);
  });

  test('resume ends a drift hold; promote points at resume', async () => {
    await create('drifted', {
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          observedGeneration: 1,
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          reason: 'WeightsDrifted',
          message: 'someone else changed the VirtualService',
        },
      ],
    });
    const p = await cli('promote', 'drifted', '-n', ns.name);
    expect(p.code).toBe(EXIT.refused);
    expect(p.err).toContain(`run \`cdk8s-mesh resume drifted -n ${ns.name}\``);
    const r = await cli('resume', 'drifted', '-n', ns.name);
    expect(r.code).toBe(EXIT.ok);
    expect((await annotations('drifted'))[RESUME_ANNOTATION]).toBe('1/0');
  });

  test('abort writes the generation; a finished release is refused', async () => {
    const r = await cli('abort', 'running', '-n', ns.name);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('requested the abort of generation 1: the operator sends all traffic to v1');
    expect((await annotations('running'))[ABORT_ANNOTATION]).toBe('1');
    const done = await cli('abort', 'done', '-n', ns.name);
    expect(done.code).toBe(EXIT.refused);
    expect((await annotations('done'))[ABORT_ANNOTATION]).toBeUndefined();
  });

  test('the installed command: exit codes and streams of the real process', async () => {
    const exec = promisify(execFile);
    const bin = join(repo, 'cli/bin.ts');
    const go = (...args: string[]) =>
      exec(process.execPath, ['--import', 'tsx', bin, ...args, '--kubeconfig', cluster.kubeconfigPath], {
        cwd: repo,
        timeout: 60_000,
      }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const ok = await go('status', 'approval', '-n', ns.name);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`CanaryRelease ${ns.name}/approval`);
    const refused = await go('promote', 'running', '-n', ns.name);
    expect(refused.code).toBe(EXIT.refused);
    expect(refused.stderr).toMatch(/^cdk8s-mesh promote: CanaryRelease .*\/running is not waiting at a gate/);
    const missing = await go('abort', 'nope', '-n', ns.name);
    expect(missing.code).toBe(EXIT.notFound);
  });
});

describe('errors that say what and what to do', () => {
  /** A kubeconfig for the real apiserver that authenticates as `user` with `token`. */
  function kubeconfigAs(token: string, server: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'cli-kubeconfig-'));
    dirs.push(dir);
    const path = join(dir, 'config');
    const admin = cluster.kubeConfig().getCurrentCluster()!;
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server,
              ...(admin.caData ? { 'certificate-authority-data': admin.caData } : {}),
              ...(admin.caFile ? { 'certificate-authority': admin.caFile } : {}),
            },
          },
        ],
        users: [{ name: 'u', user: { token } }],
        contexts: [{ name: 'viewer', context: { cluster: 'c', user: 'u', namespace: ns.name } }],
        'current-context': 'viewer',
      }),
    );
    return path;
  }
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const runWith = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await run(argv, { out: (x) => (out += x), err: (x) => (err += x) });
    return { code, out, err };
  };

  test('a user without RBAC on CanaryReleases is told which permission to ask for (real RBAC, a ServiceAccount token)', async () => {
    const kc = cluster.kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'nobody' } } });
    const tr = await core.createNamespacedServiceAccountToken({
      namespace: ns.name,
      name: 'nobody',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tr.status?.token;
    if (!token) throw new Error('the apiserver issued no token for ServiceAccount nobody');
    const path = kubeconfigAs(token, kc.getCurrentCluster()!.server);
    const r = await runWith('status', 'running', '--kubeconfig', path);
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toContain("the kubeconfig's user may not do this on https://127.0.0.1:");
    expect(r.err).toContain(
      'ask for RBAC on canaryreleases.delivery.cdk8s-mesh.io (get, list, patch) or use another --context',
    );
  });

  test('an apiserver that does not answer, and a context that is not in the kubeconfig', async () => {
    const down = kubeconfigAs('x', 'https://127.0.0.1:1');
    const r = await runWith('status', '--kubeconfig', down);
    expect(r.code).toBe(EXIT.toolFailure);
    expect(r.err).toContain('cannot reach the apiserver at https://127.0.0.1:1');
    expect(r.err).toContain('check that the cluster is up and that --kubeconfig/--context point at it');
    const wrong = await runWith('status', '--kubeconfig', down, '--context', 'prod');
    expect(wrong.code).toBe(EXIT.toolFailure);
    expect(wrong.err).toContain(`context "prod" is not in the kubeconfig ${down} (contexts: viewer)`);
  });
});
