/**
 * The operator image (`npm run image`), run the way a kubelet runs the Deployment of
 * `CanaryOperator`: its root filesystem unpacked from the layers, its own entrypoint, user and
 * environment plus the container's env, the ServiceAccount token from the real apiserver's
 * TokenRequest API with the CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount, and
 * KUBERNETES_SERVICE_HOST/PORT — no kubeconfig anywhere, so it authenticates in-cluster and acts
 * only as its least-privilege RBAC allows. It drives a CanaryRelease to promotion against the real
 * Prometheus and the traffic simulator (a test stand-in for Envoy), answers its probes on the
 * Deployment's port, and stops on SIGTERM with its Lease released; once with a writable root
 * filesystem (a runtime's default) and once with the Deployment's `readOnlyRootFilesystem`.
 */
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanaryOperator, OPERATOR_NAME } from '../../constructs/index.js';
import { buildOperatorImage, cachedOperatorImage, type BuiltImage } from '../../image/build.js';
import { JEMALLOC, OPERATOR_ENV } from '../../image/node-flags.js';
import { LEASES } from '../../operator/adapters/kubernetes.js';
import type { LeaseRecord } from '../../operator/runtime/leader-election.js';
import { E2eEnv, must, transitions, waitFor } from '../e2e/env.js';
import { cluster, runTool } from '../harness/cluster.js';
import { freePort } from '../harness/processes.js';
import { runPod, unpackImage, type RunningPod } from '../harness/pod-runtime.js';

const statusOf = async (url: string) => (await fetch(url).catch(() => undefined))?.status;

let built: BuiltImage & { layout: string; tarball: string };
beforeAll(() => {
  built = cachedOperatorImage();
}, 600_000);

test('the same inputs build the same image digest', () => {
  expect(buildOperatorImage({ revision: 'test' }).digest).toBe(built.digest);
}, 300_000);

describe('pushed with crane (go-containerregistry) to a registry on loopback', () => {
  let registry: ReturnType<typeof spawn> | undefined;
  let host: string;
  beforeAll(async () => {
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    registry = spawn(join(cluster.bin, 'crane'), ['registry', 'serve', '--address', host], {
      stdio: 'ignore',
    });
    await waitFor('the registry to answer /v2/', async () =>
      (await statusOf(`http://${host}/v2/`)) === 200 ? true : undefined,
    );
  });
  afterAll(() => {
    registry?.kill('SIGTERM');
  });

  test('the OCI layout keeps its digest when pushed, and the registry and the tarball validate', async () => {
    const push = await runTool('crane', ['push', built.layout, `${host}/operator:0.1.0`], {
      timeoutMs: 120_000,
    });
    expect(push.stderr + push.stdout).toContain(built.digest);
    expect(push.code).toBe(0);
    const digest = await runTool('crane', ['digest', `${host}/operator:0.1.0`]);
    expect(digest.stdout.trim()).toBe(built.digest);
    const remote = await runTool('crane', ['validate', '--remote', `${host}/operator:0.1.0`], {
      timeoutMs: 120_000,
    });
    expect(remote.stdout.trim()).toBe(`PASS: ${host}/operator:0.1.0`);
    // The tarball's Docker manifest.json: what `docker load` reads, and crane's tarball reader.
    const tarball = await runTool('crane', ['validate', '--tarball', built.tarball], { timeoutMs: 120_000 });
    expect(tarball.stdout.trim()).toBe(`PASS: ${built.tarball}`);
    const config = JSON.parse((await runTool('crane', ['config', `${host}/operator:0.1.0`])).stdout) as {
      config: { User: string; Entrypoint: string[]; Env: string[] };
    };
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toStrictEqual([
      '/usr/local/bin/node',
      '--max-semi-space-size=1',
      '--optimize-for-size',
      '/app/operator/main.js',
    ]);
    expect(config.config.Env).toEqual(
      expect.arrayContaining([
        'LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
        'MALLOC_CONF=narenas:1,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0',
      ]),
    );
  }, 300_000);
});

interface Container {
  name: string;
  image: string;
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  readinessProbe: { httpGet: { path: string; port: number } };
  livenessProbe: { httpGet: { path: string; port: number } };
  securityContext: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean };
}
type Manifest = k8s.KubernetesObject & {
  spec?: { template?: { spec?: { serviceAccountName?: string; containers?: Container[] } } };
};

/** The install manifests for this test: the operator in `opNs`, watching `watched`, its probes on `port`. */
function installManifests(opNs: string, watched: string, port: number): Manifest[] {
  const chart = new Chart(Testing.app(), 'operator', { disableResourceNameHashes: true });
  new CanaryOperator(chart, 'operator', {
    image: `${built.image.reference.replace(/:[^:/]+$/, '')}@${built.digest}`,
    namespace: opNs,
    watchNamespace: watched,
    prometheusUrl: cluster.prometheusUrl,
    installCrd: false, // the harness installed it
    replicas: 1,
    port,
  });
  return Testing.synth(chart) as Manifest[];
}

/** The container env as the kubelet resolves it (values and the Pod's own fieldRefs). */
function resolveEnv(c: Container, pod: { name: string; namespace: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env) {
    const ref = e.valueFrom?.fieldRef?.fieldPath;
    out[e.name] =
      ref === 'metadata.name' ? pod.name : ref === 'metadata.namespace' ? pod.namespace : e.value!;
  }
  return out;
}

describe.each([
  ['a writable root filesystem (a runtime default)', false],
  ["the Deployment's readOnlyRootFilesystem", true],
])('the operator image, run as a Pod with %s', (_what, honourReadOnly) => {
  let env: E2eEnv;
  let opNs: string;
  let pod: RunningPod | undefined;
  let work: string;
  const kc = () => cluster.kubeConfig();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'operator-pod-'));
    env = await E2eEnv.start({
      prefix: 'image',
      services: [
        {
          name: 'reviews',
          versions: [
            { version: 'v1', latencyMs: 4 },
            { version: 'v3', latencyMs: 6 },
          ],
        },
      ],
    });
    opNs = `${env.ns.slice(0, 55)}-system`;
  });

  afterAll(async () => {
    await pod?.stop(5_000);
    await env?.dispose();
    await kc()
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespace({ name: opNs })
      .catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  test('authenticates with its own ServiceAccount token, promotes a release, serves its probes, stops on SIGTERM', async () => {
    const port = await freePort();
    const manifests = installManifests(opNs, env.ns, port);
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc());
    for (const obj of manifests)
      await objects.patch(
        obj,
        undefined,
        undefined,
        'cdk8s-mesh-test',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );

    const deployment = manifests.find((o) => o.kind === 'Deployment')!;
    const podSpec = deployment.spec!.template!.spec!;
    const container = podSpec.containers![0]!;
    expect(container.image).toBe(`ghcr.io/cdk8s-mesh/operator@${built.digest}`);
    expect(container.readinessProbe.httpGet).toStrictEqual({ path: '/readyz', port, scheme: 'HTTP' });
    expect(container.livenessProbe.httpGet).toStrictEqual({ path: '/healthz', port, scheme: 'HTTP' });
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);

    // What the kubelet gives the Pod: a token for its ServiceAccount from the TokenRequest API.
    const core = kc().makeApiClient(k8s.CoreV1Api);
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: podSpec.serviceAccountName!,
      namespace: opNs,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const token = tokenRequest.status?.token ?? '';
    expect(token).not.toBe('');
    const review = await kc()
      .makeApiClient(k8s.AuthenticationV1Api)
      .createTokenReview({ body: { spec: { token } } });
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${opNs}:${OPERATOR_NAME}`);
    const server = kc().getCurrentCluster()!;
    const caCrt = server.caData
      ? Buffer.from(server.caData, 'base64').toString()
      : readFileSync(server.caFile!, 'utf8');

    const podName = `${OPERATOR_NAME}-0`;
    const containerEnv = resolveEnv(container, { name: podName, namespace: opNs });
    expect(containerEnv.LISTEN_ADDRESS).toBe(`:${port}`);
    // The Pod would listen on its own network namespace; this one shares the host's: loopback only.
    containerEnv.LISTEN_ADDRESS = `127.0.0.1:${port}`;

    const rootfs = join(work, 'rootfs');
    const image = unpackImage(built.layout, rootfs);
    pod = runPod({
      rootfs,
      image,
      env: containerEnv,
      hostname: podName,
      serviceAccount: { token, caCrt, namespace: opNs },
      apiServer: server.server!,
      readOnlyRootFilesystem: honourReadOnly && container.securityContext.readOnlyRootFilesystem === true,
      runAsNonRoot: container.securityContext.runAsNonRoot === true,
      stateDir: join(work, 'state'),
    });
    const explain = () => `pod stderr (tail):\n${pod!.stderr().split('\n').slice(-30).join('\n')}`;
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      `/readyz on :${port} to answer 200\n${explain()}`,
      async () =>
        (await statusOf(`${base}/readyz`)) === 200
          ? true
          : pod!.child.exitCode !== null
            ? Promise.reject(new Error(`the Pod exited ${pod!.child.exitCode}\n${explain()}`))
            : undefined,
      60_000,
      200,
    );
    expect(await statusOf(`${base}/healthz`)).toBe(200);

    // The process is PID 1 of its Pod, runs as 65532, and its root is read-only when asked.
    const pid = pod.pid()!;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('65532');
    expect(/^NSpid:\s+\d+\s+(\d+)/m.exec(status)?.[1]).toBe('1');
    // with the image's environment (image/node-flags.ts) and its jemalloc loaded from the image
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    for (const [name, value] of Object.entries(OPERATOR_ENV)) expect(environ).toContain(`${name}=${value}`);
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n');
    expect(maps.some((l) => l.endsWith(`rootfs/${JEMALLOC.path}`))).toBe(true);
    const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4] === '/')
      .pop()!;
    expect(rootMount[5]!.split(',')[0]).toBe(honourReadOnly ? 'ro' : 'rw');

    // It leads through a Lease in its own namespace (the Role there allows it).
    await waitFor('the Lease to be held by the Pod', async () => {
      const l = await env.client.get<{ metadata: { name: string }; spec?: LeaseRecord }>(LEASES, {
        namespace: opNs,
        name: 'cdk8s-mesh-canary-operator',
      });
      return l.ok && l.value.spec?.holderIdentity === podName ? true : undefined;
    });

    env.load({ host: 'reviews', rps: 40, durationMs: 90_000 });
    await env.createRelease('reviews-v3', {
      service: 'reviews',
      stable: { subset: 'v1', deployment: 'reviews-v1' },
      canary: { subset: 'v3', deployment: 'reviews-v3', revision: '1.17.0' },
      virtualService: { name: 'reviews', route: 'primary' },
      steps: [{ setWeight: 20 }, { setWeight: 50 }],
      analysis: {
        interval: '3s',
        threshold: 2,
        successRate: { min: 95 },
        latencyP99: { max: '500ms' },
        missingData: { policy: 'Hold' },
      },
    });
    let final;
    try {
      ({ final } = await env.traceUntilFinished('reviews-v3', 'reviews', 90_000));
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${explain()}`, { cause: e });
    }
    expect(final.phase).toBe('Succeeded');
    expect(transitions(final.history).map((h) => [h.reason, h.canaryWeight])).toStrictEqual([
      ['Started', 20],
      ['StepAdvanced', 50],
      ['Promoted', 100],
    ]);
    expect(await env.weights('reviews')).toStrictEqual(['v1=0', 'v3=100']);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('canary_operator_leader 1');
    expect(metrics).toMatch(/canary_operator_releases_finished_total\{outcome="Promoted"\} 1/);

    // Its log says where its configuration came from: the Pod's service account, no kubeconfig.
    const started = pod
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; cluster?: string })
      .find((l) => l.msg === 'operator started');
    expect(started?.cluster).toBe(server.server);

    // SIGTERM, as the kubelet stops a Pod: exit 0 and the Lease given up.
    expect(await pod.stop(20_000)).toBe(0);
    const lease = must(
      await env.client.get<{ metadata: { name: string }; spec?: LeaseRecord }>(LEASES, {
        namespace: opNs,
        name: 'cdk8s-mesh-canary-operator',
      }),
    );
    expect(lease.spec?.holderIdentity).toBe('');
  }, 300_000);
});
