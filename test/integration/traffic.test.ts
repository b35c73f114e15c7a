/**
 * The traffic simulator (a test stand-in for Envoy) against the real parts: it routes by the
 * VirtualServices and DestinationRules stored in the real kube-apiserver, sends real HTTP to the
 * backends, and the real Prometheus scrapes its Istio metrics.
 *
 * Proportions are checked with a fixed seed and a tolerance of about 3 standard deviations of a
 * binomial draw over the stated number of requests, so a routing mistake fails and chance does not.
 */
import * as k8s from '@kubernetes/client-node';
import { addScrapeTarget, cluster, testNamespace } from '../harness/cluster.js';
import { ISTIO_LABELS, TrafficSimulator, type LoadReport } from '../harness/traffic/index.js';

const GROUP = 'networking.istio.io';
const VERSION = 'v1';

let ns: { name: string; dispose: () => Promise<void> };
let api: k8s.CustomObjectsApi;
let sim: TrafficSimulator;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates or replaces an Istio object; returns its new resourceVersion. */
async function apply(
  kind: 'VirtualService' | 'DestinationRule',
  name: string,
  spec: unknown,
): Promise<string> {
  const plural = kind === 'VirtualService' ? 'virtualservices' : 'destinationrules';
  const base = { group: GROUP, version: VERSION, namespace: ns.name, plural };
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace: ns.name }, spec };
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

/** Waits (bounded) until the simulator's periodic re-read has seen this resourceVersion; returns ms waited. */
async function seen(kind: 'VirtualService' | 'DestinationRule', name: string, rv: string): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < 200; i++) {
    if (sim.observedResourceVersion(kind, name) === rv) return Date.now() - t0;
    await sleep(25);
  }
  throw new Error(
    `the simulator did not see ${kind} ${name}@${rv} within 5 s (last error: ${sim.configError})`,
  );
}

async function applyVS(name: string, spec: unknown): Promise<void> {
  await seen('VirtualService', name, await apply('VirtualService', name, spec));
}

const subset = (host: string, s: string, weight?: number) => ({
  destination: { host, subset: s },
  ...(weight !== undefined ? { weight } : {}),
});

const share = (r: LoadReport, version: string) => (r.byVersion[version] ?? 0) / r.completed;

beforeAll(async () => {
  const kc = cluster.kubeConfig();
  api = kc.makeApiClient(k8s.CustomObjectsApi);
  ns = await testNamespace('traffic');
  await apply('DestinationRule', 'reviews', {
    host: 'reviews',
    subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })),
  });
  await apply('DestinationRule', 'ratings', {
    host: 'ratings',
    subsets: [{ name: 'v1', labels: { version: 'v1' } }],
  });
  sim = await TrafficSimulator.start({
    kubeConfig: kc,
    namespace: ns.name,
    seed: 20260801,
    refreshMs: 100,
    services: [
      { name: 'reviews', versions: [{ version: 'v1' }, { version: 'v2' }, { version: 'v3' }] },
      { name: 'ratings', versions: [{ version: 'v1', latencyMs: 5 }] },
      { name: 'frontend', versions: [{ version: 'v1', calls: [{ host: 'ratings' }] }] },
    ],
  });
});

afterAll(async () => {
  await sim?.stop();
  await ns?.dispose();
});

describe('routing by the live VirtualService and DestinationRule', () => {
  test('an 80/20 weighted route sends 20% ± 4 points of 1000 requests to v2, and nothing to v3', async () => {
    await applyVS('reviews', {
      hosts: ['reviews'],
      http: [{ route: [subset('reviews', 'v1', 80), subset('reviews', 'v2', 20)] }],
    });
    const before = ['v1', 'v2', 'v3'].map((v) => sim.backend('reviews', v).received);
    const r = await sim.runLoad({ host: 'reviews', rps: 500, requests: 1000, concurrency: 32 });
    expect(r.completed).toBe(1000);
    expect(r.byStatus).toStrictEqual({ '200': 1000 });
    expect(share(r, 'v2')).toBeGreaterThanOrEqual(0.16);
    expect(share(r, 'v2')).toBeLessThanOrEqual(0.24);
    expect((r.byVersion.v1 ?? 0) + (r.byVersion.v2 ?? 0)).toBe(1000);
    // the real backends got exactly what the caller says answered it
    const after = ['v1', 'v2', 'v3'].map((v) => sim.backend('reviews', v).received);
    expect(after.map((n, i) => n - before[i]!)).toStrictEqual([r.byVersion.v1, r.byVersion.v2, 0]);
    console.log(`80/20 split over 1000 requests: v2 share ${share(r, 'v2').toFixed(3)} (seed ${sim.seed})`);
  });

  test('ordered routes: end-user: jason goes to v2, header prefix and regex, uri prefix, and the default route', async () => {
    await applyVS('reviews', {
      hosts: ['reviews'],
      http: [
        {
          name: 'jason',
          match: [{ headers: { 'end-user': { exact: 'jason' } } }],
          route: [subset('reviews', 'v2')],
        },
        {
          name: 'testers',
          match: [
            { headers: { 'end-user': { prefix: 'test-' } } },
            { headers: { 'x-canary': { regex: 'yes|true' } } },
          ],
          route: [subset('reviews', 'v3')],
        },
        { name: 'api-v3', match: [{ uri: { prefix: '/api/v3' } }], route: [subset('reviews', 'v3')] },
        { name: 'default', route: [subset('reviews', 'v1')] },
      ],
    });
    const cases: [Record<string, string>, string, string, string][] = [
      [{ 'end-user': 'jason' }, '/', 'v2', 'jason'],
      [{ 'End-User': 'jason', 'x-canary': 'yes' }, '/', 'v2', 'jason'], // first match wins; names case-insensitive
      [{ 'end-user': 'jasonx' }, '/', 'v1', 'default'], // exact is exact
      [{ 'end-user': 'test-7' }, '/', 'v3', 'testers'],
      [{ 'x-canary': 'true' }, '/', 'v3', 'testers'],
      [{ 'x-canary': 'yesplease' }, '/', 'v1', 'default'], // regex matches the whole value
      [{}, '/api/v3/items?x=1', 'v3', 'api-v3'],
      [{}, '/api/v2/items', 'v1', 'default'],
    ];
    for (const [headers, path, version, routeName] of cases) {
      for (let i = 0; i < 20; i++) {
        const o = await sim.send({ host: 'reviews', path, headers });
        expect({ headers, path, version: o.version, route: o.route?.name, status: o.status }).toStrictEqual({
          headers,
          path,
          version,
          route: routeName,
          status: 200,
        });
      }
    }
  });

  test('a 50% fault abort answers about half of 400 requests with 503 and flag FI, which never reach the backend', async () => {
    await applyVS('reviews', {
      hosts: ['reviews'],
      http: [
        {
          fault: { abort: { httpStatus: 503, percentage: { value: 50 } } },
          route: [subset('reviews', 'v1')],
        },
      ],
    });
    const before = sim.backend('reviews', 'v1').received;
    const r = await sim.runLoad({ host: 'reviews', rps: 400, requests: 400, concurrency: 32 });
    const aborted = r.byStatus['503'] ?? 0;
    expect(aborted).toBeGreaterThanOrEqual(170);
    expect(aborted).toBeLessThanOrEqual(230);
    expect(r.byFlags).toStrictEqual({ FI: aborted, '-': 400 - aborted });
    expect(r.byStatus['200']).toBe(400 - aborted);
    expect(sim.backend('reviews', 'v1').received - before).toBe(400 - aborted);
  });

  test('a delay longer than the caller’s route timeout gives 504 UT at the timeout (frontend → ratings)', async () => {
    await applyVS('ratings', {
      hosts: ['ratings'],
      http: [
        {
          fault: { delay: { fixedDelay: '1.5s', percentage: { value: 100 } } },
          route: [subset('ratings', 'v1')],
        },
      ],
    });
    await applyVS('frontend', {
      hosts: ['frontend'],
      http: [{ timeout: '0.3s', route: [{ destination: { host: 'frontend' } }] }],
    });
    const o = await sim.send({ host: 'frontend' });
    expect([o.status, o.flags, o.version]).toStrictEqual([504, 'UT', 'v1']);
    expect(o.durationMs).toBeGreaterThanOrEqual(295);
    expect(o.durationMs).toBeLessThan(1200);

    // without the delay, the same call chain answers 200
    await applyVS('ratings', { hosts: ['ratings'], http: [{ route: [subset('ratings', 'v1')] }] });
    const ok = await sim.send({ host: 'frontend' });
    expect([ok.status, ok.flags]).toStrictEqual([200, '-']);
  });

  test('a delay on a route that also has a timeout is not cut short: Istio does not enable timeouts on a faulted route', async () => {
    await applyVS('reviews', {
      hosts: ['reviews'],
      http: [
        {
          timeout: '0.1s',
          fault: { delay: { fixedDelay: '0.4s', percentage: { value: 100 } } },
          route: [subset('reviews', 'v1')],
        },
      ],
    });
    const o = await sim.send({ host: 'reviews' });
    expect([o.status, o.flags, o.version]).toStrictEqual([200, 'DI', 'v1']);
    expect(o.durationMs).toBeGreaterThanOrEqual(395);
  });

  test('retries: with 50% 503 from the backend, 3 retries on 5xx lift success above 85%; attempts: 0 leaves it near 50%', async () => {
    const v2 = sim.backend('reviews', 'v2');
    v2.set({ errorRate: 0.5, errorStatus: 503 });
    try {
      await applyVS('reviews', {
        hosts: ['reviews'],
        http: [{ retries: { attempts: 3, retryOn: '5xx' }, route: [subset('reviews', 'v2')] }],
      });
      const before = v2.received;
      const withRetries = await sim.runLoad({ host: 'reviews', rps: 400, requests: 300, concurrency: 32 });
      expect((withRetries.byStatus['200'] ?? 0) / 300).toBeGreaterThan(0.85);
      expect(v2.received - before).toBeGreaterThan(400); // ≈ 300 × (1 + ½ + ¼ + ⅛)

      await applyVS('reviews', {
        hosts: ['reviews'],
        http: [{ retries: { attempts: 0 }, route: [subset('reviews', 'v2')] }],
      });
      const without = await sim.runLoad({ host: 'reviews', rps: 400, requests: 300, concurrency: 32 });
      const okShare = (without.byStatus['200'] ?? 0) / 300;
      expect(okShare).toBeGreaterThan(0.4);
      expect(okShare).toBeLessThan(0.6);
      expect(without.byStatus['200']! + without.byStatus['503']!).toBe(300);
    } finally {
      v2.set({ errorRate: 0, errorStatus: 500 });
    }
  });

  test('a 50% mirror to v3 sends shadow copies (host -shadow) while callers get v1', async () => {
    await applyVS('reviews', {
      hosts: ['reviews'],
      http: [
        {
          route: [subset('reviews', 'v1')],
          mirror: { host: 'reviews', subset: 'v3' },
          mirrorPercentage: { value: 50 },
        },
      ],
    });
    const v3 = sim.backend('reviews', 'v3');
    const before = v3.receivedShadow;
    const r = await sim.runLoad({ host: 'reviews', rps: 400, requests: 400, concurrency: 32 });
    // The load is bounded in time: on a loaded machine fewer than 400 may complete.
    expect(r.completed).toBeGreaterThanOrEqual(100);
    expect(r.byVersion).toStrictEqual({ v1: r.completed });
    for (let i = 0; i < 40 && v3.receivedShadow - before < 0.42 * r.completed; i++) await sleep(25);
    const mirrored = (v3.receivedShadow - before) / r.completed;
    expect(mirrored).toBeGreaterThanOrEqual(0.42);
    expect(mirrored).toBeLessThanOrEqual(0.58);
  });

  test('changing the weights on the apiserver changes the split, picked up by the periodic re-read', async () => {
    await applyVS('reviews', {
      hosts: ['reviews'],
      http: [{ route: [subset('reviews', 'v1', 100), subset('reviews', 'v2', 0)] }],
    });
    const first = await sim.runLoad({ host: 'reviews', rps: 500, requests: 200 });
    expect(first.completed).toBeGreaterThanOrEqual(50);
    expect(first.byVersion).toStrictEqual({ v1: first.completed });

    // like an operator would: only the weights change, and the simulator is not told
    const rv = await apply('VirtualService', 'reviews', {
      hosts: ['reviews'],
      http: [{ route: [subset('reviews', 'v1', 50), subset('reviews', 'v2', 50)] }],
    });
    const waited = await seen('VirtualService', 'reviews', rv);
    const second = await sim.runLoad({ host: 'reviews', rps: 500, requests: 400 });
    expect(share(second, 'v2')).toBeGreaterThanOrEqual(0.42);
    expect(share(second, 'v2')).toBeLessThanOrEqual(0.58);
    console.log(`weight change seen by the simulator ${waited} ms after the apiserver stored it`);
  });

  test('a host with no VirtualService is balanced over all its versions; a route to an undefined subset is 503 NC', async () => {
    await api.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: 'virtualservices',
      name: 'reviews',
    });
    for (let i = 0; i < 200 && sim.observedResourceVersion('VirtualService', 'reviews') !== undefined; i++) {
      await sleep(25);
    }
    const r = await sim.runLoad({ host: 'reviews', rps: 500, requests: 300 });
    expect(Object.keys(r.byVersion).sort()).toStrictEqual(['v1', 'v2', 'v3']);
    for (const v of ['v1', 'v2', 'v3']) expect(r.byVersion[v]).toBeGreaterThan(60);

    await applyVS('reviews', { hosts: ['reviews'], http: [{ route: [subset('reviews', 'v9')] }] });
    const o = await sim.send({ host: 'reviews' });
    expect([o.status, o.flags]).toStrictEqual([503, 'NC']);
  });
});

describe('Istio metrics', () => {
  test('/metrics exposes istio_requests_total and the duration histogram with every Istio standard label', async () => {
    const res = await fetch(`http://${sim.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith('istio_requests_total{reporter="destination"'));
    expect(line).toBeDefined();
    const labels = [...line!.matchAll(/(\w+)="/g)].map((m) => m[1]);
    expect(labels).toStrictEqual([...ISTIO_LABELS]);
    expect(line).toContain(`destination_service="reviews.${ns.name}.svc.cluster.local"`);
    expect(line).toContain('connection_security_policy="mutual_tls"');
    for (const suffix of ['_bucket{', '_sum{', '_count{']) {
      expect(text).toContain(`istio_request_duration_milliseconds${suffix}`);
    }
    expect(text).toMatch(/istio_request_duration_milliseconds_bucket\{[^}]*le="250"/);
    expect(text).toMatch(/istio_requests_total\{[^}]*response_flags="FI"[^}]*\} \d+/);
  });

  test('the real Prometheus scrapes it: counters match exactly and a rate query shows the 80/20 split', async () => {
    const remove = addScrapeTarget(`traffic-${ns.name}`, sim.metricsAddress, { sim: ns.name });
    try {
      const query = async (q: string) => {
        const r = await fetch(`${cluster.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await r.json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return body.data.result;
      };
      const sel = `reporter="source",destination_service_namespace="${ns.name}",destination_service_name="reviews"`;
      // everything sent so far, counted by the simulator, must show up exactly in Prometheus
      const metric = (await sim.metrics.registry.getSingleMetric('istio_requests_total')!.get()).values;
      const expected = metric
        .filter((v) => v.labels.reporter === 'source' && v.labels.destination_service_name === 'reviews')
        .reduce((s, v) => s + v.value, 0);
      let got = -1;
      for (let i = 0; i < 60 && got !== expected; i++) {
        const r = await query(`sum(istio_requests_total{${sel}})`);
        got = r[0] ? Number(r[0].value[1]) : -1;
        if (got !== expected) await sleep(250);
      }
      expect(got).toBe(expected);

      await applyVS('reviews', {
        hosts: ['reviews'],
        http: [{ route: [subset('reviews', 'v1', 80), subset('reviews', 'v2', 20)] }],
      });
      const load = sim.startLoad({ host: 'reviews', rps: 200, durationMs: 8000 });
      await sleep(6000);
      // On a loaded machine a scrape can come late, leaving a version without two samples in the
      // window: ask again (bounded, while the load still runs).
      let rates: Awaited<ReturnType<typeof query>> = [];
      let total: Awaited<ReturnType<typeof query>> = [];
      for (let i = 0; i < 8; i++) {
        rates = await query(
          `sum by (destination_version) (rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns.name}",destination_service_name="reviews"}[4s]))`,
        );
        total = await query(`sum(rate(istio_requests_total{${sel}}[4s]))`);
        if (rates.length >= 2 && total.length) break;
        await sleep(250);
      }
      const report = await load.stop();
      // the load keeps 200 req/s only as far as the machine lets it: compare with what it sent
      const sentPerSecond = report.completed / (report.elapsedMs / 1000);
      const byVersion = Object.fromEntries(
        rates.map((r) => [r.metric.destination_version, Number(r.value[1])]),
      );
      const v2Share = (byVersion.v2 ?? 0) / ((byVersion.v1 ?? 0) + (byVersion.v2 ?? 0));
      console.log(
        `Prometheus rate: total ${Number(total[0]?.value[1]).toFixed(1)} req/s (the load sent ${sentPerSecond.toFixed(1)}), v2 share ${v2Share.toFixed(3)}`,
      );
      // a 4 s window holds a few hundred requests on a loaded machine: ±0.1 is over 3 standard
      // deviations of a 20% share, and still tells 80/20 from 50/50 or 100/0
      expect(v2Share).toBeGreaterThan(0.1);
      expect(v2Share).toBeLessThan(0.3);
      expect(Number(total[0]?.value[1])).toBeGreaterThan(sentPerSecond * 0.6);
      expect(Number(total[0]?.value[1])).toBeLessThan(Math.min(250, sentPerSecond * 1.5));
    } finally {
      remove();
    }
  });
});
