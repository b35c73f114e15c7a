/**
 * The operator's install manifests, as `npm run synth` writes them, apply on the real apiserver,
 * and the RBAC they grant is what the operator needs and no more (checked with
 * SubjectAccessReviews against the real authorizer).
 */
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { CanaryOperator, OPERATOR_NAME } from '../../constructs/index.js';
import { cluster } from '../harness/cluster.js';

const NS = 'cdk8s-mesh-system';
const SA = `system:serviceaccount:${NS}:${OPERATOR_NAME}`;
let kc: k8s.KubeConfig;

beforeAll(async () => {
  kc = cluster.kubeConfig();
  const chart = new Chart(Testing.app(), 'operator');
  new CanaryOperator(chart, 'operator', {
    image: 'registry.invalid/cdk8s-mesh-operator:test',
    watchNamespace: 'shop',
  });
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name: 'shop' } } })
    .catch(() => undefined);
  for (const obj of Testing.synth(chart) as k8s.KubernetesObject[]) {
    await client.patch(obj, undefined, undefined, 'cdk8s-mesh-test', true, k8s.PatchStrategy.ServerSideApply);
  }
});

async function allowed(
  verb: string,
  group: string,
  resource: string,
  namespace: string,
  subresource?: string,
) {
  const review = await kc.makeApiClient(k8s.AuthorizationV1Api).createSubjectAccessReview({
    body: {
      spec: {
        user: SA,
        groups: ['system:serviceaccounts'],
        resourceAttributes: { verb, group, resource, namespace, subresource },
      },
    },
  });
  return review.status?.allowed ?? false;
}

test.each([
  ['watch', 'delivery.cdk8s-mesh.io', 'canaryreleases', 'shop', undefined],
  ['patch', 'delivery.cdk8s-mesh.io', 'canaryreleases', 'shop', 'status'],
  ['patch', 'networking.istio.io', 'virtualservices', 'shop', undefined],
  ['list', 'networking.istio.io', 'destinationrules', 'shop', undefined],
  ['get', 'apps', 'deployments', 'shop', undefined],
  ['create', '', 'events', 'shop', undefined],
  ['update', 'coordination.k8s.io', 'leases', NS, undefined],
])('the operator may %s %s/%s in %s', async (verb, group, resource, ns, sub) => {
  expect(await allowed(verb, group, resource, ns, sub)).toBe(true);
});

test.each([
  ['delete', 'networking.istio.io', 'virtualservices', 'shop'],
  ['update', 'delivery.cdk8s-mesh.io', 'canaryreleases', 'shop'],
  ['get', '', 'secrets', 'shop'],
  ['patch', 'apps', 'deployments', 'shop'],
  ['patch', 'networking.istio.io', 'virtualservices', 'default'],
  ['update', 'coordination.k8s.io', 'leases', 'shop'],
])('the operator may not %s %s/%s in %s', async (verb, group, resource, ns) => {
  expect(await allowed(verb, group, resource, ns)).toBe(false);
});

test('its Deployment becomes available on the fake nodes', async () => {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  let available = 0;
  for (let i = 0; i < 120 && available < 2; i++) {
    const d = await apps.readNamespacedDeployment({ name: OPERATOR_NAME, namespace: NS });
    available = d.status?.availableReplicas ?? 0;
    if (available < 2) await new Promise((r) => setTimeout(r, 500));
  }
  expect(available).toBe(2);
});
