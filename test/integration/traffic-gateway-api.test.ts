/**
 * The traffic simulator (a test stand-in for Envoy) follows HTTPRoutes and GRPCRoutes stored in
 * the real kube-apiserver (Gateway API CRDs v1.5): a route whose parent is the called Service
 * decides the request (its matches, weighted backendRefs to one Service per version), read by
 * the mesh model as `explain` reads it, and weight changes on the apiserver take effect at the
 * next re-read. Proportions use a fixed seed and about 3 standard deviations of tolerance.
 */
import * as k8s from '@kubernetes/client-node';
import { cluster, testNamespace } from '../harness/cluster.js';
import { GRPC_STATUS, TrafficSimulator, type WatchedKind } from '../harness/traffic/index.js';

const GROUP = 'gateway.networking.k8s.io';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ns: { name: string; dispose: () => Promise<void> };
let api: k8s.CustomObjectsApi;
let sim: TrafficSimulator;

/** Creates or replaces a route; returns its new resourceVersion. */
async function apply(kind: 'HTTPRoute' | 'GRPCRoute', name: string, spec: unknown): Promise<string> {
  const base = { group: GROUP, version: 'v1', namespace: ns.name, plural: `${kind.toLowerCase()}s` };
  const body = { apiVersion: `${GROUP}/v1`, kind, metadata: { name, namespace: ns.name }, spec };
  const existing = (await api.getNamespacedCustomObject({ ...base, name }).catch(() => undefined)) as
    { metadata: { resourceVersion: string } } | undefined;
  const res = (
    existing
      ? await api.replaceNamespacedCustomObject({
          ...base,
          name,
          body: {
            ...body,
            metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion },
          },
        })
      : await api.createNamespacedCustomObject({ ...base, body })
  ) as { metadata: { resourceVersion: string } };
  return res.metadata.resourceVersion;
}

/** Applies and waits (bounded) until the simulator's periodic re-read has seen it. */
async function applySeen(kind: WatchedKind & ('HTTPRoute' | 'GRPCRoute'), name: string, spec: unknown) {
  const rv = await apply(kind, name, spec);
  for (let i = 0; i < 200; i++) {
    if (sim.observedResourceVersion(kind, name) === rv) return;
    await sleep(25);
  }
  throw new Error(
    `the simulator did not see ${kind} ${name}@${rv} within 5 s (last error: ${sim.configError})`,
  );
}

const parent = (service: string) => [{ group: '', kind: 'Service', name: service, port: 9080 }];
const backend = (name: string, weight?: number) => ({
  name,
  port: 9080,
  ...(weight !== undefined ? { weight } : {}),
});
const reviewsSpec = (v1: number, v3: number) => ({
  parentRefs: parent('reviews'),
  rules: [
    {
      name: 'jason',
      matches: [{ headers: [{ name: 'end-user', value: 'jason' }] }],
      backendRefs: [backend('reviews-v2')],
    },
    { name: 'primary', backendRefs: [backend('reviews-v1', v1), backend('reviews-v3', v3)] },
  ],
});

beforeAll(async () => {
  const kc = cluster.kubeConfig();
  api = kc.makeApiClient(k8s.CustomObjectsApi);
  ns = await testNamespace('traffic-gw');
  sim = await TrafficSimulator.start({
    kubeConfig: kc,
    namespace: ns.name,
    seed: 5,
    refreshMs: 100,
    services: [
      {
        name: 'reviews',
        versionServices: true,
        versions: ['v1', 'v2', 'v3'].map((version) => ({ version })),
      },
      {
        name: 'checkout',
        protocol: 'grpc',
        versionServices: true,
        versions: [
          { version: 'v1' },
          { version: 'v2', errorRate: 1, errorGrpcStatus: GRPC_STATUS.UNAVAILABLE },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await sim?.stop();
  await ns?.dispose();
});

test('an HTTPRoute on the Service: a header match, then an 80/20 split over one Service per version; the apiserver’s new weights take over', async () => {
  await applySeen('HTTPRoute', 'reviews', reviewsSpec(80, 20));
  // a loaded machine may send slower than asked: the time bound only stops a stuck run
  const split = await sim.runLoad({
    host: 'reviews',
    rps: 200,
    requests: 500,
    durationMs: 60_000,
    concurrency: 32,
  });
  expect(split.completed).toBe(500);
  expect(split.byStatus).toStrictEqual({ '200': 500 });
  expect(split.byVersion.v2).toBeUndefined();
  // 20% of 500: sd ≈ 8.9 requests
  expect(split.byVersion.v3).toBeGreaterThanOrEqual(73);
  expect(split.byVersion.v3).toBeLessThanOrEqual(127);
  expect((split.byVersion.v1 ?? 0) + (split.byVersion.v3 ?? 0)).toBe(500);

  const jason = await sim.send({ host: 'reviews', headers: { 'end-user': 'jason' } });
  expect(jason).toMatchObject({
    status: 200,
    version: 'v2',
    route: { gatewayApiRoute: `HTTPRoute ${ns.name}/reviews`, index: 0, name: 'jason' },
    destination: { host: `reviews-v2.${ns.name}.svc.cluster.local` },
  });

  await applySeen('HTTPRoute', 'reviews', reviewsSpec(0, 100));
  const after = await sim.runLoad({ host: 'reviews', rps: 400, requests: 100 });
  expect(after.byVersion).toStrictEqual({ v3: 100 });

  // every backend at weight 0: the Gateway API answers 500 without calling one
  await applySeen('HTTPRoute', 'reviews', reviewsSpec(0, 0));
  const none = await sim.send({ host: 'reviews' });
  expect(none).toMatchObject({ status: 500, tries: 0 });
  expect(none.version).toBeUndefined();
});

test('a GRPCRoute on the Service: the method match sends PlaceOrder to v2, whose gRPC errors answer HTTP 200; the rest goes to v1', async () => {
  await applySeen('GRPCRoute', 'checkout', {
    parentRefs: parent('checkout'),
    rules: [
      {
        matches: [{ method: { service: 'shop.Checkout', method: 'PlaceOrder' } }],
        backendRefs: [backend('checkout-v2')],
      },
      { backendRefs: [backend('checkout-v1')] },
    ],
  });
  const place = await sim.runLoad({
    host: 'checkout',
    path: '/shop.Checkout/PlaceOrder',
    rps: 200,
    requests: 50,
  });
  expect(place.byVersion).toStrictEqual({ v2: 50 });
  expect(place.byStatus).toStrictEqual({ '200': 50 });
  expect(place.byGrpcStatus).toStrictEqual({ [String(GRPC_STATUS.UNAVAILABLE)]: 50 });
  const get = await sim.runLoad({
    host: 'checkout',
    path: '/shop.Checkout/GetOrder',
    rps: 200,
    requests: 50,
  });
  expect(get.byVersion).toStrictEqual({ v1: 50 });
  expect(get.byGrpcStatus).toStrictEqual({ '0': 50 });
  // UNAVAILABLE is retried by Istio's default policy (retryOn has `unavailable`): each call
  // reached v2 three times; the metrics name the version Service's workload, with gRPC's labels
  const text = await sim.metrics.text();
  const count = (reporter: string) =>
    new RegExp(
      `istio_requests_total\\{reporter="${reporter}"[^}]*destination_workload="checkout-v2"[^}]*request_protocol="grpc",response_code="200",grpc_response_status="14"[^}]*\\} (\\d+)`,
    ).exec(text)?.[1];
  expect(count('source')).toBe('50');
  expect(count('destination')).toBe('150');
});
