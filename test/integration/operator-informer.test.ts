/**
 * The operator's Informer on the real apiserver: the cache follows creates, updates and deletes;
 * and a list or watch that fails (here: a resource whose CRD does not exist yet, as while a CRD is
 * being installed) is reported and retried with backoff until it works, without a restart of the
 * operator.
 */
import * as k8s from '@kubernetes/client-node';
import {
  CANARY_RELEASES,
  DEPLOYMENTS,
  deploymentReadiness,
  deploymentSummary,
  KubeClient,
  type KubeObject,
} from '../../operator/adapters/kubernetes.js';
import { Informer, type InformerEvent } from '../../operator/runtime/informers.js';
import { cluster, testNamespace } from '../harness/cluster.js';
import { canaryRelease, deployment, must, waitFor } from './operator-fixtures.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;
const informers: Informer[] = [];

beforeAll(async () => {
  kc = cluster.kubeConfig();
  ns = await testNamespace('op-informer');
});
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});
afterAll(async () => {
  await ns?.dispose();
});

const spec = {
  service: 'reviews',
  stable: { subset: 'v1' },
  canary: { subset: 'v2' },
  virtualService: { name: 'reviews', route: 'primary' },
  stepWeight: 10,
  maxWeight: 50,
};

test('the cache follows creates, updates and deletes, each told to the listeners', async () => {
  const client = new KubeClient(kc);
  must(await client.create(CANARY_RELEASES, ns.name, canaryRelease(ns.name, 'before', spec)));
  const inf = new Informer({ kubeConfig: kc, type: CANARY_RELEASES, namespace: ns.name });
  informers.push(inf);
  const seen: [InformerEvent, string][] = [];
  inf.on((event, o) => seen.push([event, o.metadata.name ?? '']));
  await inf.start();
  expect(inf.synced).toBe(true);
  expect(inf.list(ns.name).map((o) => o.metadata.name)).toStrictEqual(['before']);

  must(await client.create(CANARY_RELEASES, ns.name, canaryRelease(ns.name, 'after', spec)));
  await waitFor('the add', () => (inf.get(ns.name, 'after') ? true : undefined));
  must(
    await client.mergePatch(
      CANARY_RELEASES,
      { namespace: ns.name, name: 'after' },
      {
        metadata: { annotations: { touched: 'yes' } },
      },
    ),
  );
  await waitFor('the update', () =>
    inf.get(ns.name, 'after')?.metadata.annotations?.touched ? true : undefined,
  );
  await kc.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({
    ...CANARY_RELEASES,
    namespace: ns.name,
    name: 'before',
  });
  await waitFor('the delete', () => (inf.get(ns.name, 'before') ? undefined : true));
  expect(seen).toStrictEqual([
    ['add', 'before'],
    ['add', 'after'],
    ['update', 'after'],
    ['delete', 'before'],
  ]);
  expect(inf.restarts).toBe(0);
});

test('a transform keeps what the operator reads: a Deployment in the cache is its summary, judged as the whole object', async () => {
  const client = new KubeClient(kc);
  must(await client.create(DEPLOYMENTS, ns.name, deployment(ns.name, 'slim', { app: 'slim' }, 2)));
  const inf = new Informer({
    kubeConfig: kc,
    type: DEPLOYMENTS,
    namespace: ns.name,
    transform: deploymentSummary,
  });
  informers.push(inf);
  await inf.start();
  // Through the first list, then through watch events until kwok's pods are available.
  const cached = await waitFor('the Deployment available in the cache', () => {
    const d = inf.get(ns.name, 'slim');
    return (d?.status as { availableReplicas?: number } | undefined)?.availableReplicas === 2 ? d : undefined;
  });
  const whole = must(await client.get(DEPLOYMENTS, { namespace: ns.name, name: 'slim' }));
  expect(whole.metadata).toHaveProperty('managedFields');
  expect(Object.keys(cached.metadata).sort()).toStrictEqual([
    'generation',
    'name',
    'namespace',
    'resourceVersion',
    'uid',
  ]);
  expect(cached.spec).toStrictEqual({ replicas: 2 });
  expect(deploymentReadiness(cached)).toStrictEqual(deploymentReadiness(whole));
  expect(deploymentReadiness(cached).ready).toBe(true);
  expect(JSON.stringify(cached).length * 5).toBeLessThan(JSON.stringify(whole).length);
});

test('a resource that does not exist yet: the failure is reported, retried with backoff, and the informer syncs once it exists', async () => {
  const group = `informer-${Date.now().toString(36)}.example.com`;
  const widgets = { group, version: 'v1', plural: 'widgets' };
  const errors: string[] = [];
  const inf = new Informer<KubeObject>({
    kubeConfig: kc,
    type: widgets,
    namespace: ns.name,
    onError: (m) => errors.push(m),
  });
  informers.push(inf);
  await inf.start(); // resolves: the list failed and a retry is scheduled
  expect(inf.synced).toBe(false);
  await waitFor('a second failed attempt', () => (inf.restarts >= 2 ? true : undefined), 10_000, 50);
  expect(errors[0]).toMatch(
    new RegExp(
      `^watch of /apis/${group.replaceAll('.', '\\.')}/v1/namespaces/${ns.name}/widgets failed \\(404\\); restarting in 500 ms$`,
    ),
  );
  expect(errors[1]).toMatch(/restarting in 1000 ms$/); // backoff doubles

  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const name = `widgets.${group}`;
  await ext.createCustomResourceDefinition({
    body: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          },
        ],
      },
    },
  });
  try {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await waitFor(
      'the Widget to be created',
      async () =>
        custom
          .createNamespacedCustomObject({
            group,
            version: 'v1',
            namespace: ns.name,
            plural: 'widgets',
            body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' } },
          })
          .then(
            () => true,
            () => undefined,
          ),
      20_000,
      200,
    );
    await waitFor(
      'the informer to sync and see the Widget',
      () => (inf.synced && inf.get(ns.name, 'w1') ? true : undefined),
      30_000,
      100,
    );
    expect(inf.restarts).toBeGreaterThanOrEqual(2);
  } finally {
    await ext.deleteCustomResourceDefinition({ name });
  }
});
