/**
 * The generated CanaryRelease CRD on the real kube-apiserver: it installs (so the schema is
 * structural and the CEL rules compile), valid resources are accepted, invalid ones are refused
 * with the schema's or the CEL rule's message, and a status written by decide() survives the
 * round trip through the status subresource unpruned (so a restarted operator reads back exactly
 * what it wrote).
 */
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  API_VERSION,
  CanaryReleaseStatus,
  KIND,
  PLURAL,
  GROUP,
  parseSpec,
  type CanaryReleaseSpecInput,
} from '../../api/v1alpha1/canary-release.js';
import { canaryReleaseCrdYaml } from '../../api/v1alpha1/crd.js';
import { decide } from '../../operator/core/decide.js';
import { cluster, testNamespace } from '../harness/cluster.js';

let ns: { name: string; dispose: () => Promise<void> };
let kc: k8s.KubeConfig;
let client: k8s.KubernetesObjectApi;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const validSpec: CanaryReleaseSpecInput = {
  service: 'reviews',
  stable: { subset: 'v1', deployment: 'reviews-v1' },
  canary: { subset: 'v3', deployment: 'reviews-v3', revision: '1.17.0' },
  virtualService: { name: 'reviews', route: 'primary' },
  steps: [
    { setWeight: 10 },
    { pause: { duration: '1m' } },
    { headerRoute: { name: 'jason', headers: { 'end-user': { exact: 'jason' } } } },
    { mirror: { percentage: 50, duration: '2m' } },
    { faultTest: { delay: { fixedDelay: '7s' }, duration: '1m', latencyP99: { max: '8s' } } },
    { setWeight: 50 },
    { pause: {} },
  ],
  analysis: {
    interval: '30s',
    threshold: 2,
    successRate: { min: 99 },
    latencyP99: { max: '500ms' },
    compareToStable: { maxSuccessRateDrop: 1 },
    metrics: [{ name: 'error-budget', query: 'sum(rate(x[{{interval}}]))', max: 0.5 }],
    missingData: { policy: 'Hold' },
  },
  webhooks: [{ name: 'chat', url: 'https://chat.example/hook', events: ['RolledBack', 'Promoted'] }],
};

function resource(name: string, spec: unknown): k8s.KubernetesObject & { spec: unknown } {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: ns.name }, spec };
}

async function refusal(obj: k8s.KubernetesObject): Promise<k8s.ApiException<string>> {
  const err = await client.create(obj, undefined, 'All').then(
    () => undefined,
    (e: unknown) => e as k8s.ApiException<string>,
  );
  if (!(err instanceof k8s.ApiException)) {
    throw new Error(`expected the apiserver to refuse ${obj.metadata?.name}, it accepted it`);
  }
  return err;
}

beforeAll(async () => {
  kc = cluster.kubeConfig();
  client = k8s.KubernetesObjectApi.makeApiClient(kc);
  // client-node's serializer maps model property names (`xKubernetesValidations`, `_default`):
  // a plain object would lose those keys below `properties`, so turn the YAML into the model first.
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(canaryReleaseCrdYaml());
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({ body: crd }).catch(async (e: unknown) => {
    if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
    const current = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
    crd.metadata!.resourceVersion = current.metadata!.resourceVersion;
    await ext.replaceCustomResourceDefinition({ name: crd.metadata!.name!, body: crd });
  });
  let established = false;
  for (let i = 0; i < 100 && !established; i++) {
    const got = await ext.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    established = !!got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    if (!established) await sleep(100);
  }
  if (!established) throw new Error(`CRD ${PLURAL}.${GROUP} never became Established`);
  ns = await testNamespace('crd');
  // The discovery cache of a fresh client may not know the new kind yet: wait until a list works.
  for (let i = 0; i < 100; i++) {
    const ok = await client.list(API_VERSION, KIND, ns.name).then(
      () => true,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
});
afterAll(async () => ns?.dispose());

describe('the generated CanaryRelease CRD on kube-apiserver', () => {
  test('is installed, structural and Established, with the printer columns and short name', async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const got = await ext.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    const structural = got.status?.conditions?.find((c) => c.type === 'NonStructuralSchema');
    expect(structural).toBeUndefined();
    // What the server stores is what was generated: nothing was lost on the way in.
    const generated = parse(canaryReleaseCrdYaml()) as { spec: { versions: { schema: unknown }[] } };
    const stored = parse(k8s.dumpYaml(got)) as typeof generated;
    expect(stored.spec.versions[0]!.schema).toStrictEqual(generated.spec.versions[0]!.schema);
    expect(got.spec.names.shortNames).toEqual(['crel']);
    expect(got.spec.versions[0]!.additionalPrinterColumns!.map((c) => c.name)).toEqual([
      'Phase',
      'Step',
      'Steps',
      'Weight',
      'Success',
      'Message',
      'Age',
    ]);
  });

  test('accepts a valid CanaryRelease on server-side dry-run, with zod agreeing', async () => {
    expect(parseSpec(validSpec).ok).toBe(true);
    const created = await client.create(resource('valid', validSpec), undefined, 'All');
    expect(created.metadata?.name).toBe('valid');
  });

  test('applies the schema defaults on the server the way zod does', async () => {
    const short: CanaryReleaseSpecInput = {
      service: 'reviews',
      stable: { subset: 'v1' },
      canary: { subset: 'v2' },
      virtualService: { name: 'reviews', route: 'primary' },
      stepWeight: 20,
      maxWeight: 60,
    };
    const created = (await client.create(
      resource('short', short),
      undefined,
      'All',
    )) as k8s.KubernetesObject & {
      spec: unknown;
    };
    const zodView = parseSpec(short);
    expect(zodView.ok).toBe(true);
    expect(created.spec).toStrictEqual(zodView.ok ? zodView.spec : undefined);
  });

  test.each<[string, (s: CanaryReleaseSpecInput) => unknown, string, RegExp]>([
    [
      'fails if a step sets two step fields',
      (s) => ({ ...s, steps: [{ setWeight: 10, pause: { duration: '1m' } }] }),
      'spec.steps[0]',
      /a step sets exactly one of setWeight, pause, headerRoute, mirror, faultTest/,
    ],
    [
      'fails if a step sets no known step field',
      (s) => ({ ...s, steps: [{ rollout: 10 }] }),
      'spec.steps[0]',
      /a step sets exactly one of setWeight, pause, headerRoute, mirror, faultTest/,
    ],
    [
      'fails if a pause has a negative duration',
      (s) => ({ ...s, steps: [{ pause: { duration: '-5s' } }] }),
      'spec.steps[0].pause.duration',
      /should match/,
    ],
    [
      'fails if a weight is 120',
      (s) => ({ ...s, steps: [{ setWeight: 120 }] }),
      'spec.steps[0].setWeight',
      /should be less than or equal to 100/,
    ],
    [
      'fails if both steps and stepWeight are set',
      (s) => ({ ...s, stepWeight: 10, maxWeight: 50 }),
      'spec',
      /set either steps or stepWeight \(with maxWeight\), not both and not neither/,
    ],
    [
      'fails if a header match sets exact and prefix',
      (s) => ({
        ...s,
        steps: [{ headerRoute: { name: 'a', headers: { 'end-user': { exact: 'x', prefix: 'y' } } } }],
      }),
      'spec.steps[0].headerRoute.headers[end-user]',
      /a header match sets exactly one of exact, prefix, regex/,
    ],
    [
      'fails if header route names repeat',
      (s) => ({
        ...s,
        steps: [
          { headerRoute: { name: 'a', headers: { x: { exact: '1' } } } },
          { headerRoute: { name: 'a', headers: { y: { exact: '2' } } } },
        ],
      }),
      'spec.steps',
      /headerRoute names must be unique in the plan/,
    ],
    [
      'fails if FailAfterDeadline has no deadline',
      (s) => ({ ...s, analysis: { missingData: { policy: 'FailAfterDeadline' } } }),
      'spec.analysis.missingData.deadline',
      /missingData.deadline is required with policy FailAfterDeadline/,
    ],
    [
      'fails if stable and canary are the same subset',
      (s) => ({ ...s, canary: { subset: 'v1' } }),
      'spec.canary.subset',
      /stable.subset and canary.subset must differ/,
    ],
  ])('%s: the apiserver and zod both refuse it', async (_name, mutate, field, message) => {
    const spec = mutate(validSpec);
    const err = await refusal(resource('bad', spec));
    expect(err.code).toBe(422);
    expect(String(err.body)).toContain(field);
    expect(String(err.body)).toMatch(message);
    const zod = parseSpec(spec);
    expect(zod.ok).toBe(false);
  });

  test('a status computed by decide() survives the status subresource unchanged', async () => {
    await client.create(resource('roundtrip', validSpec));
    const now = new Date('2026-11-25T10:00:00.000Z');
    const first = decide(
      validSpec,
      undefined,
      {
        generation: 1,
        route: {
          found: true,
          stableWeight: 100,
          canaryWeight: 0,
          headerRoutes: [],
          mirrorPercentage: 0,
          fault: false,
        },
        metrics: {},
      },
      now,
    );
    const status = CanaryReleaseStatus.parse({
      ...first.status,
      successRate: 99.25,
      lastMeasurements: [
        { name: 'request-success-rate', result: 'Pass', value: 99.25, stableValue: 99.5 },
        { name: 'error-budget', result: 'NoData', message: 'no samples' },
      ],
    });
    const current = await client.read({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: 'roundtrip', namespace: ns.name },
    });
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: 'v1alpha1',
      namespace: ns.name,
      plural: PLURAL,
      name: 'roundtrip',
      body: { ...current, status },
    });
    const read = (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: 'v1alpha1',
      namespace: ns.name,
      plural: PLURAL,
      name: 'roundtrip',
    })) as { status: unknown };
    expect(read.status).toStrictEqual(JSON.parse(JSON.stringify(status)));
  });
});
