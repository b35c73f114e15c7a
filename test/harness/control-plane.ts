/**
 * Starts the real parts on loopback in one temp dir: etcd, kube-apiserver (RBAC on),
 * kube-controller-manager, kube-scheduler, kwok with fake nodes, the Istio and Gateway API CRDs, and
 * Prometheus.
 * Every port is a free port on 127.0.0.1; every process is stopped by `stop()`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { GROUP, PLURAL } from '../../api/v1alpha1/canary-release.js';
import { makeCerts, type Certs } from './certs.js';
import { fakeNode, fakeNodeName, INITIAL_FAKE_NODES } from './fake-nodes.js';
import {
  freePort,
  HarnessError,
  RestartablePart,
  startProcess,
  stopAll,
  tail,
  waitReady,
  type Managed,
} from './processes.js';

export interface ControlPlaneEndpoints {
  /** Temp dir holding certificates, data and the logs of every process. */
  readonly workDir: string;
  /** Admin kubeconfig (client certificate in `system:masters`). */
  readonly kubeconfig: string;
  readonly apiserverUrl: string;
  readonly prometheusUrl: string;
  /** Prometheus reads scrape targets from `*.json` files here (file_sd). */
  readonly prometheusTargetsDir: string;
  /**
   * The apiserver's audit log (JSON lines, level Metadata): get, create, update, patch and delete
   * of CanaryReleases, Istio networking objects and Deployments, so tests count the requests a
   * client made on the server side.
   */
  readonly auditLog: string;
  /** Names of the kwok-managed fake nodes it starts with (`ensurePodCapacity` in fake-nodes.ts adds more). */
  readonly nodes: readonly string[];
}

export interface ControlPlane extends ControlPlaneEndpoints {
  stop(): Promise<void>;
}

/**
 * etcd and kube-apiserver alone (no controllers, no nodes, no Prometheus): enough for tests of
 * the operator that restart one of the two. Each is a {@link RestartablePart}: stopped and started
 * again on the same ports and the same etcd data dir.
 */
export interface ApiCore {
  readonly kubeconfig: string;
  readonly apiserverUrl: string;
  /** The apiserver's audit log (see `AUDIT_POLICY`). */
  readonly auditLog: string;
  readonly etcdUrl: string;
  readonly etcd: RestartablePart;
  readonly apiserver: RestartablePart;
  /** Admin requests to the apiserver. */
  readonly api: AdminRequest;
  /** Stops both (apiserver first); the caller removes the work dir. */
  stop(): Promise<void>;
}

const FAKE_NODES = Array.from({ length: INITIAL_FAKE_NODES }, (_, i) => fakeNodeName(i));

/**
 * What the apiserver audits: single-object requests (not lists and watches) on the objects the
 * operator reads and writes, at level Metadata, once per request (at ResponseComplete).
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
    verbs: [get, create, update, patch, delete]
    resources:
      - group: ${GROUP}
      - group: networking.istio.io
      - group: gateway.networking.k8s.io
      - group: apps
        resources: [deployments, deployments/scale]
  - level: None
`;

function writeKubeconfig(file: string, server: string, certs: Certs): void {
  const yaml = `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    certificate-authority: ${certs.caCert}
users:
- name: admin
  user:
    client-certificate: ${certs.adminCert}
    client-key: ${certs.adminKey}
contexts:
- name: test
  context: { cluster: test, user: admin }
current-context: test
`;
  writeFileSync(file, yaml);
}

/** Requests to the apiserver as the admin; resolve with status and body. */
export type AdminRequest = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: string }>;

/** An admin client of `server`: the certificate files are read once, not per request. */
export function adminRequest(
  server: string,
  certs: Pick<Certs, 'caCert' | 'adminCert' | 'adminKey'>,
): AdminRequest {
  const tls = {
    ca: readFileSync(certs.caCert),
    cert: readFileSync(certs.adminCert),
    key: readFileSync(certs.adminKey),
  };
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        new URL(path, server),
        { method, ...tls, headers: payload ? { 'content-type': 'application/json' } : {}, timeout: 30_000 },
        (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout on ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

export interface PrometheusInstance {
  readonly url: string;
  readonly targetsDir: string;
  readonly process: Managed;
  stop(): Promise<void>;
}

/**
 * Starts a Prometheus on 127.0.0.1 with a 1 s scrape interval that scrapes every target listed in
 * `targetsDir/*.json` (file_sd). Exported so tests that stop Prometheus can run their own.
 */
export async function startPrometheus(bin: string, dir: string, logDir: string): Promise<PrometheusInstance> {
  const port = await freePort();
  const targetsDir = join(dir, 'targets');
  mkdirSync(targetsDir, { recursive: true });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: test
    file_sd_configs:
      - files: ['${targetsDir}/*.json']
        refresh_interval: 1s
`,
  );
  const proc = startProcess(
    'prometheus',
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--web.enable-lifecycle',
    ],
    logDir,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(proc, () => httpOk(`${url}/-/ready`), { timeoutMs: 30_000, port });
  return { url, targetsDir, process: proc, stop: () => stopAll([proc]) };
}

export interface StartOptions {
  /** Directory with the provisioned binaries (test/harness/provision.sh prints it). */
  readonly bin: string;
  /** Temp dir for this run; removed by `stop()`. */
  readonly workDir: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /**
   * Users (e.g. `system:serviceaccount:ns:name`) every write of whom is audited too, whatever the
   * resource (Events, Services, other controllers' resources), so a benchmark can count a
   * controller's writes on the server side. @default []
   */
  readonly auditAllWritesOf?: readonly string[];
  /** More CRD files to install next to the Istio, Gateway API, cert-manager and CanaryRelease ones. @default [] */
  readonly extraCrds?: readonly string[];
}

/** `AUDIT_POLICY`, with every write of `users` audited first. */
function policyFor(users: readonly string[]): string {
  if (users.length === 0) return AUDIT_POLICY;
  const rule = `  - level: Metadata
    users: [${users.map((u) => JSON.stringify(u)).join(', ')}]
    verbs: [create, update, patch, delete, deletecollection]
`;
  return AUDIT_POLICY.replace('rules:\n', `rules:\n${rule}`);
}

/**
 * Starts etcd and kube-apiserver (RBAC on, a client-certificate admin kubeconfig) in `workDir`,
 * each restartable on the same ports and data. `startControlPlane` starts the rest around them.
 */
export async function startApiCore(opts: StartOptions & { readonly certs?: Certs }): Promise<ApiCore> {
  const { bin, workDir } = opts;
  const log = opts.log ?? (() => undefined);
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const certs = opts.certs ?? makeCerts(join(workDir, 'pki'));
  const [etcdPort, peerPort, apiPort] = await Promise.all(Array.from({ length: 3 }, freePort));
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = await RestartablePart.start(
    'etcd',
    join(bin, 'etcd'),
    [
      '--name=test',
      `--data-dir=${join(workDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logDir,
    () => httpOk(`${etcdUrl}/health`),
    { timeoutMs: 30_000, port: etcdPort },
  );
  log(`etcd ready on ${etcdUrl}`);

  const server = `https://127.0.0.1:${apiPort}`;
  const api = adminRequest(server, certs);
  const auditLog = join(logDir, 'audit.log');
  const auditPolicy = join(workDir, 'audit-policy.yaml');
  writeFileSync(auditPolicy, policyFor(opts.auditAllWritesOf ?? []));
  let apiserver: RestartablePart;
  try {
    apiserver = await RestartablePart.start(
      'kube-apiserver',
      join(bin, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(workDir, 'apiserver-certs')}`,
        `--tls-cert-file=${certs.serverCert}`,
        `--tls-private-key-file=${certs.serverKey}`,
        `--client-ca-file=${certs.caCert}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${certs.saPub}`,
        `--service-account-signing-key-file=${certs.saKey}`,
        // 4,094 Service IPs: Flagger makes three Services per Canary (the delivery benchmark runs 500)
        '--service-cluster-ip-range=10.0.0.0/20',
        '--authorization-mode=Node,RBAC',
        '--allow-privileged=true',
        '--profiling=false',
        `--audit-policy-file=${auditPolicy}`,
        `--audit-log-path=${auditLog}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        '--v=1',
      ],
      logDir,
      async () => (await api('GET', '/readyz')).status === 200,
      { timeoutMs: 90_000, port: apiPort },
    );
  } catch (e) {
    await etcd.stop();
    throw e;
  }
  log(`kube-apiserver ready on ${server}`);

  const kubeconfig = join(workDir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, server, certs);
  return {
    kubeconfig,
    apiserverUrl: server,
    auditLog,
    etcdUrl,
    etcd,
    apiserver,
    api,
    stop: async () => {
      await apiserver.stop();
      await etcd.stop();
    },
  };
}

/**
 * Client rate limits of the controller-manager and the scheduler: high enough that the apiserver,
 * not client-go's token bucket, sets the pace of a fleet of thousands of Deployments.
 */
const CLIENT_QPS_FLAGS = ['--kube-api-qps=500', '--kube-api-burst=1000'];

export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const { bin, workDir } = opts;
  const log = opts.log ?? (() => undefined);
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const procs: Managed[] = [];
  const parts: RestartablePart[] = [];
  let prometheus: PrometheusInstance | undefined;
  const stop = async () => {
    await prometheus?.stop();
    await stopAll(procs);
    for (const part of [...parts].reverse()) await part.stop();
    rmSync(workDir, { recursive: true, force: true });
  };

  try {
    const t0 = Date.now();
    const certs = makeCerts(join(workDir, 'pki'));

    const core = await startApiCore({ ...opts, log, certs });
    parts.push(core.etcd, core.apiserver);
    const { api, kubeconfig } = core;
    const [kcmPort, schedPort, kwokPort] = await Promise.all(Array.from({ length: 3 }, freePort));
    // kwok plays each Pod's stages (Running, Ready, deleted) with 4 workers by default; each waits
    // on a PATCH, so a fleet of 4,000 Pods (with the previous fleet's being deleted) went Ready
    // at 5-10 a second on this machine. A configuration file is not defaulted, so it states kwok
    // v0.8.0's defaults for the rest; the flags below override what they name.
    const kwokConfig = join(workDir, 'kwok.yaml');
    writeFileSync(
      kwokConfig,
      [
        'apiVersion: config.kwok.x-k8s.io/v1alpha1',
        'kind: KwokConfiguration',
        'options:',
        '  cidr: 10.0.0.0/24',
        '  manageAllNodes: false',
        '  enableDebuggingHandlers: true',
        '  enableContentionProfiling: false',
        '  enableProfilingHandler: true',
        '  podPlayStageParallelism: 32',
        '  nodePlayStageParallelism: 4',
        '  nodeLeaseParallelism: 4',
        '  podsOnNodeSyncParallelism: 1',
        '  enablePodsOnNodeSyncListPager: true',
        '  enablePodsOnNodeSyncStreamWatch: false',
        '',
      ].join('\n'),
    );

    procs.push(
      startProcess(
        'kube-controller-manager',
        join(bin, 'kube-controller-manager'),
        [
          `--kubeconfig=${kubeconfig}`,
          `--authentication-kubeconfig=${kubeconfig}`,
          `--authorization-kubeconfig=${kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(workDir, 'kcm-certs')}`,
          '--leader-elect=false',
          `--service-account-private-key-file=${certs.saKey}`,
          `--root-ca-file=${certs.caCert}`,
          '--controllers=*,-nodeipam,-cloud-node-lifecycle',
          // A Deployment's sync waits on the apiserver (create its ReplicaSet, write its status):
          // with 10 workers, 4,000 new Deployments queued behind each other for minutes while the
          // kwok Pods were already Ready (3,000 Ready Pods, 2,100 Deployments available).
          '--concurrent-deployment-syncs=50',
          '--concurrent-replicaset-syncs=50',
          // client-go's defaults (20 requests/s, bursts of 30) are the bottleneck of a large fleet:
          // a Deployment costs the controller-manager about ten requests (ReplicaSet, Pod, their
          // status updates), so 4,000 Deployments took over ten minutes, and deleting the previous
          // fleet's namespace shares the same budget. kwok raises them the same way for its own
          // clusters (`--disable-qps-limits`); the apiserver's own limits still apply.
          ...CLIENT_QPS_FLAGS,
        ],
        logDir,
      ),
      startProcess(
        'kube-scheduler',
        join(bin, 'kube-scheduler'),
        [
          `--kubeconfig=${kubeconfig}`,
          `--authentication-kubeconfig=${kubeconfig}`,
          `--authorization-kubeconfig=${kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${schedPort}`,
          `--cert-dir=${join(workDir, 'scheduler-certs')}`,
          '--leader-elect=false',
          // Its default is 50 requests/s: one binding a Pod, 80 s for a fleet of 4,000 Pods alone.
          ...CLIENT_QPS_FLAGS,
        ],
        logDir,
      ),
      startProcess(
        'kwok',
        join(bin, 'kwok'),
        [
          `--kubeconfig=${kubeconfig}`,
          `--config=${join(bin, 'kwok-stages.yaml')}`,
          `--config=${kwokConfig}`,
          '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          `--server-address=127.0.0.1:${kwokPort}`,
          '--node-ip=127.0.0.1',
          // Renew a Lease per node (every 10 s). Without it kwok posts node status only about every
          // 50 s, the node lifecycle controller's grace period (50 s) runs out now and then, and it
          // marks the Pods on those nodes NotReady, for good (kwok's pod-ready stage does not run
          // again): a Deployment stops being available in the middle of a test.
          '--node-lease-duration-seconds=40',
        ],
        logDir,
      ),
    );
    for (const name of FAKE_NODES) {
      const res = await api('POST', '/api/v1/nodes', fakeNode(name));
      if (res.status !== 201)
        throw new HarnessError('kwok', `creating node ${name}: ${res.body}`, 'read the log');
    }

    // Istio CRDs from the pinned Istio module and the Gateway API CRDs at the version it requires
    // (provision.sh copies both next to the binaries), cert-manager's from the repo (what
    // imports/ is generated from), and our CanaryRelease CRD.
    const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
    const certManager = join(repo, 'imports/crds/cert-manager');
    await installCrds(api, [
      join(bin, 'istio-crds.yaml'),
      join(bin, 'gateway-api-crds.yaml'),
      // Our own CanaryRelease CRD, as generated from its schema.
      join(repo, 'api/v1alpha1/crd.yaml'),
      ...readdirSync(certManager)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(certManager, f)),
      ...(opts.extraCrds ?? []),
    ]);
    log('Istio, Gateway API, cert-manager and CanaryRelease CRDs installed');

    const promDir = join(workDir, 'prometheus');
    prometheus = await startPrometheus(join(bin, 'prometheus'), promDir, logDir);
    log(`prometheus ready on ${prometheus.url}`);

    // Wait for the fake nodes to be Ready and the default ServiceAccount controller to run.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await api('GET', '/api/v1/nodes');
      const nodes = JSON.parse(res.body) as {
        items: { status?: { conditions?: { type: string; status: string }[] } }[];
      };
      const ready = nodes.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length;
      const sa = await api('GET', '/api/v1/namespaces/default/serviceaccounts/default');
      if (ready === FAKE_NODES.length && sa.status === 200) break;
      const stuck = [...parts.map((p) => p.process), ...procs].find((p) => p.exited);
      if (stuck || Date.now() > deadline) {
        const p = stuck ?? procs.find((x) => x.name === 'kwok')!;
        throw new HarnessError(
          p.name,
          stuck
            ? `exited (code ${stuck.exited?.code})`
            : `${ready}/${FAKE_NODES.length} fake nodes Ready after 60 s`,
          `read ${p.logFile}`,
          tail(p.logFile),
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    log(
      `${FAKE_NODES.length} fake nodes Ready; control plane up in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );

    return {
      workDir,
      kubeconfig,
      apiserverUrl: core.apiserverUrl,
      prometheusUrl: prometheus.url,
      prometheusTargetsDir: prometheus.targetsDir,
      auditLog: core.auditLog,
      nodes: FAKE_NODES,
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

/**
 * etcd and kube-apiserver alone (`startApiCore`) with only the CRDs a release on a VirtualService
 * needs: the CanaryRelease CRD and Istio's VirtualService and DestinationRule. For test files
 * that need an apiserver of their own, to restart it or to install other CRDs later.
 */
export async function startReleaseApiCore(opts: StartOptions): Promise<ApiCore> {
  const core = await startApiCore(opts);
  const wanted = new Set([
    'virtualservices.networking.istio.io',
    'destinationrules.networking.istio.io',
    `${PLURAL}.${GROUP}`,
  ]);
  const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
  try {
    await installCrds(
      core.api,
      [join(opts.bin, 'istio-crds.yaml'), join(repo, 'api/v1alpha1/crd.yaml')],
      (name) => wanted.has(name),
    );
  } catch (e) {
    await core.stop();
    throw e;
  }
  return core;
}

/**
 * Installs the CRDs in `files` (only those `only` keeps, when given) and waits until every served
 * version lists.
 */
export async function installCrds(
  api: AdminRequest,
  files: string[],
  only: (name: string) => boolean = () => true,
): Promise<void> {
  const docs = files.flatMap((file) => {
    const found = parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => d.toJS() as Crd | null)
      .filter((d): d is Crd => d?.kind === 'CustomResourceDefinition' && only(d.metadata.name));
    if (found.length === 0)
      throw new HarnessError('crds', `no CRDs in ${file}`, 'rerun test/harness/provision.sh');
    return found;
  });
  for (const crd of docs) {
    const res = await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    if (res.status !== 201 && res.status !== 409) {
      throw new HarnessError(
        'crds',
        `installing ${crd.metadata.name}: HTTP ${res.status} ${res.body}`,
        'check the file',
      );
    }
  }
  const deadline = Date.now() + 60_000;
  for (const crd of docs) {
    for (;;) {
      const res = await api(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      const conds = (JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } })
        .status?.conditions;
      if (conds?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) {
        throw new HarnessError(
          'crds',
          `${crd.metadata.name} not Established after 60 s`,
          'read the apiserver log',
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Established is not served: the watch cache of a new resource answers 429 ("storage is
  // initializing") for a moment. Tests start only once every served version lists.
  for (const crd of docs) {
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      const path = `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}?limit=1`;
      for (;;) {
        const res = await api('GET', path);
        if (res.status === 200) break;
        if (Date.now() > deadline) {
          throw new HarnessError(
            'crds',
            `GET ${path} answers HTTP ${res.status} 60 s after install: ${res.body.slice(0, 300)}`,
            'read the apiserver log',
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

interface Crd {
  kind: string;
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
}
