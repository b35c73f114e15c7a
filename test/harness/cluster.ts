/**
 * What an integration test uses to reach the shared control plane: clients on the admin
 * kubeconfig, a namespace of its own, scrape targets for Prometheus, and the provisioned binaries.
 */
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ENV = {
  kubeconfig: 'CDK8S_MESH_KUBECONFIG',
  prometheusUrl: 'CDK8S_MESH_PROMETHEUS_URL',
  prometheusTargets: 'CDK8S_MESH_PROMETHEUS_TARGETS',
  auditLog: 'CDK8S_MESH_AUDIT_LOG',
  bin: 'CDK8S_MESH_BIN',
  workDir: 'CDK8S_MESH_WORKDIR',
} as const;

function need(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: integration tests need the control plane that Jest's global setup starts; run them with \`npm test\``,
    );
  }
  return v;
}

export const cluster = {
  get kubeconfigPath(): string {
    return need(ENV.kubeconfig);
  },
  get prometheusUrl(): string {
    return need(ENV.prometheusUrl);
  },
  /** The apiserver's audit log (see `AUDIT_POLICY` in control-plane.ts and ./audit.ts). */
  get auditLogPath(): string {
    return need(ENV.auditLog);
  },
  get bin(): string {
    return need(ENV.bin);
  },
  kubeConfig(): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(need(ENV.kubeconfig));
    return kc;
  },
};

let counter = 0;

/**
 * Creates a namespace with a unique name for one test (or one file) and returns it with a
 * `dispose` that deletes it.
 */
export async function testNamespace(prefix: string): Promise<{ name: string; dispose: () => Promise<void> }> {
  const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
  const name = `${prefix}-${process.pid}-${++counter}-${Date.now().toString(36)}`.slice(0, 63);
  await core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    dispose: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

/** Adds a Prometheus scrape target (file_sd); returns a function that removes it. */
export function addScrapeTarget(
  name: string,
  hostPort: string,
  labels: Record<string, string> = {},
): () => void {
  const file = join(need(ENV.prometheusTargets), `${name}.json`);
  writeFileSync(file, JSON.stringify([{ targets: [hostPort], labels }]));
  return () => rmSync(file, { force: true });
}

const run = promisify(execFile);

/** Runs a provisioned binary (istioctl, …) and returns its exit code and output; never throws on exit code. */
export async function runTool(
  tool: string,
  args: string[],
  opts: { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(cluster.bin, tool), args, {
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
