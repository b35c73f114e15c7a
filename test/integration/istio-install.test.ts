/**
 * The IstioOperator the constructs write goes through the real `istioctl manifest generate`
 * (offline), and every manifest it produces passes server-side dry-run on the real apiserver.
 */
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { IstioInstall } from '../../constructs/istio-install.js';
import { cluster, runTool } from '../harness/cluster.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iop-'));
  await cluster
    .kubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'istio-system' } } })
    .catch(() => undefined);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the reference install (demo, no egress, NodePort + Local) generates manifests the apiserver accepts', async () => {
  const chart = new Chart(Testing.app(), 'install');
  new IstioInstall(chart, 'istio', {
    profile: 'demo',
    egressGateway: { enabled: false },
    ingressGateway: { serviceType: 'NodePort', externalTrafficPolicy: 'Local' },
    mesh: { accessLogging: true, traceSampling: 100 },
  });
  const file = join(dir, 'iop.yaml');
  writeFileSync(file, stringify(Testing.synth(chart)[0]));

  const res = await runTool('istioctl', ['manifest', 'generate', '-f', file], { timeoutMs: 120_000 });
  expect(res.stderr).not.toMatch(/error/i);
  expect(res.code).toBe(0);
  // loadAllYaml gives client-node's typed objects: its serializer would drop CRD schema keys
  // (x-kubernetes-*) from plain objects.
  const objs = parseAllDocuments(res.stdout)
    .filter((d) => (d.toJS() as { kind?: string } | null)?.kind)
    .map((d) => k8s.loadYaml<k8s.KubernetesObject>(d.toString()));

  const byKind = (kind: string) => objs.filter((o) => o.kind === kind).map((o) => o.metadata?.name);
  expect(byKind('Deployment').sort()).toEqual(['istio-ingressgateway', 'istiod']);
  const svc = objs.find(
    (o) => o.kind === 'Service' && o.metadata?.name === 'istio-ingressgateway',
  ) as k8s.V1Service;
  expect(svc.spec?.type).toBe('NodePort');
  expect(svc.spec?.externalTrafficPolicy).toBe('Local');
  const meshConfig = objs.find(
    (o) => o.kind === 'ConfigMap' && o.metadata?.name === 'istio',
  ) as k8s.V1ConfigMap;
  expect(meshConfig.data?.mesh).toContain('accessLogFile: /dev/stdout');

  const client = k8s.KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
  const failures: string[] = [];
  for (const o of objs) {
    await client
      .patch(o, undefined, 'All', 'cdk8s-mesh-test', true, k8s.PatchStrategy.ServerSideApply)
      .catch((e: k8s.ApiException<string>) =>
        failures.push(`${o.kind}/${o.metadata?.name}: ${e.code} ${String(e.body).slice(0, 300)}`),
      );
  }
  expect(objs.length).toBeGreaterThan(20);
  expect(failures).toEqual([]);
});
