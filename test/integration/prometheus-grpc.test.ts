/**
 * The operator's `grpc-request-success-rate` query, one workload and grouped, on real Prometheus
 * data: the traffic simulator (a test stand-in for Envoy) sends gRPC calls by a VirtualService on
 * the real apiserver to a canary whose gRPC server fails a quarter of its calls with HTTP 200 and
 * `grpc-status: 2`, and reports them as Istio's stats filter does (`request_protocol="grpc"`,
 * `grpc_response_status`). The HTTP success rate of the same data stays at 100%, which is why a
 * gRPC release needs the gRPC query.
 */
import { PrometheusProvider } from '../../operator/adapters/prometheus.js';
import { cluster } from '../harness/cluster.js';
import { GRPC_STATUS, type TrafficSimulator } from '../harness/traffic/index.js';
import { startScrapedSplit, value, type ScrapedSplit } from './scraped-split.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let split: ScrapedSplit;
let ns: string;
let sim: TrafficSimulator;

beforeAll(async () => {
  split = await startScrapedSplit({
    prefix: 'prom-grpc',
    seed: 11,
    service: {
      name: 'checkout',
      protocol: 'grpc',
      versions: [{ version: 'v1' }, { version: 'v2', errorRate: 0.25 }],
    },
    subsets: [
      { name: 'v1', version: 'v1' },
      { name: 'v2', version: 'v2' },
    ],
  });
  ({ ns, sim } = split);
});

afterAll(async () => {
  await split?.dispose();
});

test('gRPC errors at HTTP 200: the gRPC success rate sees them, one workload and grouped; the HTTP one does not', async () => {
  const provider = new PrometheusProvider({ url: cluster.prometheusUrl, timeoutMs: 5000 });
  const vars = (workload: string) => ({ namespace: ns, workload, interval: '4s' });

  // every call is answered with HTTP 200, a quarter of v2's with grpc-status 2 (UNKNOWN)
  const one = await sim.send({ host: 'checkout', path: '/shop.Checkout/PlaceOrder' });
  expect(one.status).toBe(200);
  expect([0, GRPC_STATUS.UNKNOWN]).toContain(one.grpcStatus);

  const load = sim.startLoad({
    host: 'checkout',
    path: '/shop.Checkout/PlaceOrder',
    rps: 200,
    durationMs: 12_000,
  });
  try {
    // let the 4 s window fill with this load only, then wait (bounded) for the scrape
    await sleep(6000);
    // one instant for every query below, so that they read the same samples (the two workloads'
    // series come from one scrape target, so they have samples at the same times): a second in the
    // past, taken again until its window holds the two samples rate() needs
    const instant = () =>
      new PrometheusProvider({ url: cluster.prometheusUrl, at: new Date(Date.now() - 1000) });
    let at = instant();
    let canary = await at.builtin('grpc-request-success-rate', vars('checkout-v2'));
    for (let i = 0; i < 20 && !canary.ok; i++) {
      await sleep(250);
      at = instant();
      canary = await at.builtin('grpc-request-success-rate', vars('checkout-v2'));
    }
    const grpcCanary = value(canary);
    const grpcStable = value(await at.builtin('grpc-request-success-rate', vars('checkout-v1')));
    const httpCanary = value(await at.builtin('request-success-rate', vars('checkout-v2')));
    console.log(
      `gRPC success rate: canary ${grpcCanary.toFixed(1)}%, stable ${grpcStable.toFixed(1)}%; ` +
        `HTTP success rate of the canary: ${httpCanary.toFixed(1)}%`,
    );
    // 25% errors over ~400 calls in the window: 3 standard deviations are about 6.5 points
    expect(grpcCanary).toBeGreaterThan(66);
    expect(grpcCanary).toBeLessThan(84);
    expect(grpcStable).toBe(100);
    expect(httpCanary).toBe(100);

    // grouped: each workload gets what its own query gives, and no data for one without series
    const many = ['checkout-v2', 'checkout-v1', 'checkout-v9'].map(vars);
    const grouped = await at.builtinMany('grpc-request-success-rate', many);
    const single = await Promise.all(many.map((v) => at.builtin('grpc-request-success-rate', v)));
    expect(value(grouped[0]!)).toBeCloseTo(value(single[0]!), 6);
    expect(value(grouped[0]!)).toBeCloseTo(grpcCanary, 6);
    expect(value(grouped[1]!)).toBe(100);
    expect(grouped[2]!.ok || grouped[2]!.error.kind).toBe('no-data');
    expect(single[2]!.ok || single[2]!.error.kind).toBe('no-data');

    // the series carry Istio's labels for gRPC: protocol grpc, HTTP 200, and the gRPC status
    const labels = await fetch(
      `${cluster.prometheusUrl}/api/v1/query?query=${encodeURIComponent(
        `sum by (destination_workload, request_protocol, response_code, grpc_response_status) ` +
          `(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}"})`,
      )}`,
    ).then((r) => r.json() as Promise<{ data: { result: { metric: Record<string, string> }[] } }>);
    const seen = labels.data.result
      .map(
        (s) =>
          `${s.metric.destination_workload} ${s.metric.request_protocol} ${s.metric.response_code} ${s.metric.grpc_response_status}`,
      )
      .sort();
    expect(seen).toStrictEqual([
      'checkout-v1 grpc 200 0',
      'checkout-v2 grpc 200 0',
      'checkout-v2 grpc 200 2',
    ]);

    // the canary recovers at run time; a window after that shows it
    sim.backend('checkout', 'v2').set({ errorRate: 0 });
    await sleep(5500);
    expect(value(await provider.builtin('grpc-request-success-rate', vars('checkout-v2')))).toBe(100);
  } finally {
    await load.stop();
  }
  const report = await load.stop();
  expect(report.byStatus).toStrictEqual({ '200': report.completed });
  expect(Object.keys(report.byGrpcStatus).sort()).toStrictEqual(['0', '2']);
});
