/**
 * Jest global setup for the integration project: provisions the real parts (cached), starts one
 * control plane for the whole run in a supervisor process, and hands its endpoints to the test
 * workers through environment variables (see ./cluster.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ControlPlaneEndpoints } from './control-plane.js';
import { provision } from './provision.js';
import { ENV } from './cluster.js';

const here = dirname(fileURLToPath(import.meta.url));

declare global {
  var __cdk8sMeshSupervisor: ChildProcess | undefined;
}

export default async function globalSetup(): Promise<void> {
  const bin = provision();
  process.stderr.write(
    '\n[control-plane] starting etcd, kube-apiserver, controller-manager, scheduler, kwok, Prometheus\n',
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'supervisor.ts'), bin], {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  globalThis.__cdk8sMeshSupervisor = child;
  const endpoints = await new Promise<ControlPlaneEndpoints>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)) as ControlPlaneEndpoints);
      else if (line.startsWith('FAILED '))
        reject(new Error(`the test control plane did not start:\n${JSON.parse(line.slice(7))}`));
    });
    child.on('exit', (code) =>
      reject(new Error(`the control-plane supervisor exited (code ${code}) before it was ready`)),
    );
  });
  process.env[ENV.kubeconfig] = endpoints.kubeconfig;
  process.env[ENV.prometheusUrl] = endpoints.prometheusUrl;
  process.env[ENV.prometheusTargets] = endpoints.prometheusTargetsDir;
  process.env[ENV.auditLog] = endpoints.auditLog;
  process.env[ENV.bin] = bin;
  process.env[ENV.workDir] = endpoints.workDir;
}
