/**
 * Query building and answer reading of the Prometheus adapter, against a small HTTP server on
 * 127.0.0.1 that answers like the Prometheus HTTP API (the real Prometheus is in
 * test/integration/prometheus-adapter.test.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusProvider, QUERY_TEMPLATES, renderQuery } from '../../../operator/adapters/prometheus.js';

type Handler = (query: string, req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler;
const seen: { method: string; path: string; query: string; timeout: string | null }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const query = params.get('query') ?? '';
      seen.push({ method: req.method ?? '', path: req.url ?? '', query, timeout: params.get('timeout') });
      handler(query, req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen.length = 0;
});

function json(status: number, body: unknown): Handler {
  return (_q, _req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}
const vector = (...values: string[]) =>
  json(200, {
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1, v] })),
    },
  });

describe('renderQuery', () => {
  test('renders the Istio success-rate query with the workload, namespace, interval and reporter', () => {
    const q = renderQuery('istio', 'request-success-rate', {
      namespace: 'shop',
      workload: 'reviews-v3',
      interval: '1m',
    });
    expect(q).toStrictEqual({
      ok: true,
      value:
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="shop",' +
        'destination_workload="reviews-v3",response_code!~"5.*"}[1m])) / ' +
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="shop",' +
        'destination_workload="reviews-v3"}[1m])) * 100',
    });
  });

  test('renders the gRPC success-rate query: gRPC requests with neither a 5xx nor a grpc-status other than OK', () => {
    const q = renderQuery('istio', 'grpc-request-success-rate', {
      namespace: 'shop',
      workload: 'cart-v2',
      interval: '30s',
    });
    expect(q).toStrictEqual({
      ok: true,
      value:
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="shop",' +
        'destination_workload="cart-v2",request_protocol="grpc",response_code!~"5.*",grpc_response_status="0"}[30s])) / ' +
        'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="shop",' +
        'destination_workload="cart-v2",request_protocol="grpc"}[30s])) * 100',
    });
  });

  test('renders the Istio p99 latency query on the duration histogram, by le', () => {
    const q = renderQuery('istio', 'request-duration', {
      namespace: 'shop',
      workload: 'reviews-v1',
      interval: '30s',
      reporter: 'source',
    });
    expect(q).toStrictEqual({
      ok: true,
      value:
        'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="source",' +
        'destination_workload_namespace="shop",destination_workload="reviews-v1"}[30s])) by (le))',
    });
  });

  test('every template uses only variables renderQuery fills', () => {
    for (const row of Object.values(QUERY_TEMPLATES)) {
      for (const template of Object.values(row)) {
        const names = [...template.matchAll(/\{\{ (\w+) \}\}/g)].map((m) => m[1]);
        expect(new Set(names)).toStrictEqual(new Set(['reporter', 'namespace', 'workload', 'interval']));
      }
    }
  });

  test.each([
    ['workload', { namespace: 'shop', workload: 'x"} or vector(1) #', interval: '1m' }, 'workload \'x"} or'],
    ['namespace', { namespace: 'Shop_1', workload: 'reviews', interval: '1m' }, "namespace 'Shop_1'"],
    ['interval', { namespace: 'shop', workload: 'reviews', interval: '1 minute' }, "interval '1 minute'"],
    ['zero interval', { namespace: 'shop', workload: 'reviews', interval: '0s' }, "interval '0s'"],
  ])('fails if the %s is not valid, and says which value', (_what, vars, message) => {
    const q = renderQuery('istio', 'request-success-rate', vars);
    expect(q.ok).toBe(false);
    if (q.ok) return;
    expect(q.error.kind).toBe('bad-query');
    expect(q.error.message).toContain('cannot build the request-success-rate query');
    expect(q.error.message).toContain(message);
  });
});

describe('PrometheusProvider.query', () => {
  test('POSTs the query to /api/v1/query with a server-side timeout and reads a one-series vector', async () => {
    handler = vector('99.5');
    const p = new PrometheusProvider({ url: `${url}/`, timeoutMs: 2500 });
    expect(await p.query('up')).toStrictEqual({ ok: true, value: 99.5 });
    expect(seen).toStrictEqual([{ method: 'POST', path: '/api/v1/query', query: 'up', timeout: '3s' }]);
  });

  test('reads a scalar answer', async () => {
    handler = json(200, { status: 'success', data: { resultType: 'scalar', result: [1, '42'] } });
    expect(await new PrometheusProvider({ url }).query('scalar(vector(42))')).toStrictEqual({
      ok: true,
      value: 42,
    });
  });

  test('reads +Inf as Infinity (a p99 above the highest bucket is data, not its absence)', async () => {
    handler = vector('+Inf');
    expect(await new PrometheusProvider({ url }).query('q')).toStrictEqual({ ok: true, value: Infinity });
  });

  test('an empty vector is no-data', async () => {
    handler = vector();
    expect(await new PrometheusProvider({ url }).query('q')).toStrictEqual({
      ok: false,
      error: { kind: 'no-data', message: 'the query matched no series', query: 'q' },
    });
  });

  test('NaN (0/0, no requests in the window) is no-data', async () => {
    handler = vector('NaN');
    const r = await new PrometheusProvider({ url }).query('q');
    expect(r).toStrictEqual({
      ok: false,
      error: {
        kind: 'no-data',
        message: 'the query returned NaN (0/0: no requests in the window)',
        query: 'q',
      },
    });
  });

  test('fails if the query returns several series, and says to aggregate', async () => {
    handler = vector('1', '2');
    const r = await new PrometheusProvider({ url }).query('q');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('bad-query');
    expect(r.error.message).toBe(
      'the query returned 2 series; it must return one (aggregate it, e.g. with sum(...))',
    );
  });

  test('fails with bad-query and Prometheus’ message when Prometheus answers 400 bad_data', async () => {
    handler = json(400, {
      status: 'error',
      errorType: 'bad_data',
      error: 'parse error at char 5: unexpected "}"',
    });
    const r = await new PrometheusProvider({ url }).query('sum(}');
    expect(r).toStrictEqual({
      ok: false,
      error: {
        kind: 'bad-query',
        message: 'Prometheus refused the query (HTTP 400, bad_data): parse error at char 5: unexpected "}"',
        query: 'sum(}',
      },
    });
  });

  test('fails with timeout when Prometheus reports its own query timeout (503 timeout)', async () => {
    handler = json(503, {
      status: 'error',
      errorType: 'timeout',
      error: 'query timed out in expression evaluation',
    });
    const r = await new PrometheusProvider({ url }).query('q');
    expect(r.ok || r.error.kind).toBe('timeout');
  });

  test('fails with unavailable on a server error with a body that is not JSON', async () => {
    handler = (_q, _req, res) => {
      res.writeHead(502);
      res.end('<html>bad gateway</html>');
    };
    const r = await new PrometheusProvider({ url }).query('q');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('unavailable');
    expect(r.error.message).toContain('HTTP 502');
  });

  test('fails with bad-response on a 200 that is not the Prometheus API', async () => {
    handler = (_q, _req, res) => res.end('hello');
    const r = await new PrometheusProvider({ url }).query('q');
    expect(r.ok || r.error.kind).toBe('bad-response');
  });

  test('fails with timeout, within the timeout, when Prometheus does not answer', async () => {
    const pending: ServerResponse[] = [];
    handler = (_q, _req, res) => pending.push(res);
    const started = Date.now();
    const r = await new PrometheusProvider({ url, timeoutMs: 300 }).query('q');
    const took = Date.now() - started;
    pending.forEach((res) => res.destroy());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('timeout');
    expect(r.error.message).toBe(`Prometheus at ${url}/api/v1/query did not answer within 300 ms`);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3000);
  });

  test('fails with unavailable and the cause when nothing listens on the port', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await new PrometheusProvider({ url: `http://127.0.0.1:${port}` }).query('q');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('unavailable');
    expect(r.error.message).toContain('ECONNREFUSED');
  });
});

describe('PrometheusProvider.isOnline and builtin', () => {
  test('isOnline is ok when vector(1) answers 1', async () => {
    handler = vector('1');
    expect(await new PrometheusProvider({ url }).isOnline()).toStrictEqual({ ok: true, value: true });
    expect(seen.map((s) => s.query)).toStrictEqual(['vector(1)']);
  });

  test('isOnline fails with bad-response when vector(1) answers something else', async () => {
    handler = vector('0');
    const r = await new PrometheusProvider({ url }).isOnline();
    expect(r.ok || r.error.kind).toBe('bad-response');
  });

  test('builtin sends the rendered template; compare measures canary and stable side by side', async () => {
    handler = (q, req, res) =>
      vector(q.includes('histogram_quantile') ? '120' : q.includes('reviews-v3') ? '80' : '100')(q, req, res);
    const p = new PrometheusProvider({ url });
    const res = await p.compare({
      namespace: 'shop',
      canary: 'reviews-v3',
      stable: 'reviews-v1',
      interval: '1m',
    });
    expect(res).toStrictEqual({
      canary: { successRate: { ok: true, value: 80 }, latencyP99Ms: { ok: true, value: 120 } },
      stable: { successRate: { ok: true, value: 100 }, latencyP99Ms: { ok: true, value: 120 } },
    });
    const expected = renderQuery('istio', 'request-duration', {
      namespace: 'shop',
      workload: 'reviews-v3',
      interval: '1m',
    });
    expect(expected.ok && seen.map((s) => s.query)).toContain(expected.ok && expected.value);
    expect(seen).toHaveLength(4);
  });

  test('builtin fails with bad-query, without calling Prometheus, when a value is not valid', async () => {
    handler = vector('1');
    const r = await new PrometheusProvider({ url }).builtin('request-duration', {
      namespace: 'shop',
      workload: 'a b',
      interval: '1m',
    });
    expect(r.ok || r.error.kind).toBe('bad-query');
    expect(seen).toHaveLength(0);
  });
});
