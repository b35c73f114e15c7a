/**
 * The dashboard server's handlers, on a real HTTP server on 127.0.0.1 with a backend the test
 * holds: the page and its assets are served from the package with a strict CSP; the event stream
 * sends the state at once and each change as it happens; a promote goes to the backend and its
 * answer (a forbidden one too) comes back with the apiserver's status and message; requests for
 * another Host (DNS rebinding) and changes from another origin are refused; the explain form is
 * checked before it reaches the model.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  dashboardHandler,
  growSeries,
  parseExplainForm,
  type Answer,
  type DashboardBackend,
  type DashboardEvent,
  type DashboardState,
  type ExplainForm,
  type ReleaseAction,
} from '../../../cli/dashboard/server.js';
import { edgeKeyOf, joinTraffic, trafficQueries } from '../../../cli/dashboard/metrics.js';
import { pathOf, pluralOf } from '../../../cli/dashboard/live.js';
import { statusOf } from '../../../cli/dashboard/dashboard.js';
import { CommandError } from '../../../cli/errors.js';
import { EXIT } from '../../../cli/exit.js';
import type { ReleaseView } from '../../../cli/release/view.js';

class FakeBackend implements DashboardBackend {
  current: DashboardState = { series: {}, problems: {} };
  listeners = new Set<(e: DashboardEvent) => void>();
  acts: [ReleaseAction, string, string, string | undefined][] = [];
  answer: Answer = { status: 200, message: 'done' };
  explained: ExplainForm[] = [];
  state() {
    return this.current;
  }
  subscribe(l: (e: DashboardEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  async act(a: ReleaseAction, ns: string, name: string, resourceVersion?: string) {
    this.acts.push([a, ns, name, resourceVersion]);
    return this.answer;
  }
  explain(form: ExplainForm): Answer {
    this.explained.push(form);
    return { status: 200, message: `explained ${form.host}` };
  }
}

let server: Server;
let origin: string;
let backend: FakeBackend;

beforeAll(async () => {
  backend = new FakeBackend();
  server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h = dashboardHandler(backend, () => origin);
  server.on('request', (req, res) => void h(req, res));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin, ...headers },
    body: JSON.stringify(body),
  });

describe('dashboard server', () => {
  test('serves the page and its assets itself, with a CSP that allows nothing from elsewhere', async () => {
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await fetch(`${origin}/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toContain("new EventSource('/events')");
    expect((await fetch(`${origin}/style.css`)).status).toBe(200);
    expect((await fetch(`${origin}/nothing`)).status).toBe(404);
  });

  test('fails if the Host is not the dashboard (DNS rebinding) or a change comes from another origin', async () => {
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      // fetch sets Host itself; node:http lets the test send another.
      import('node:http').then(({ request }) => {
        const req = request(`${origin}/api/state`, { headers: { host: 'evil.example:80' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      }, reject);
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).message).toBe(
      `this dashboard answers only at ${origin} (Host was evil.example:80)`,
    );
    const cross = await post('/api/releases/shop/reviews/promote', {}, { origin: 'http://evil.example' });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { message: string }).message).toBe(
      "a change is taken only from this dashboard's own page (Origin was http://evil.example)",
    );
    const form = await fetch(`${origin}/api/releases/shop/reviews/promote`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: 'a=b',
    });
    expect(form.status).toBe(415);
    expect(backend.acts).toEqual([]);
  });

  test("promote reaches the backend; a forbidden answer comes back with the apiserver's status and message", async () => {
    backend.answer = { status: 200, message: 'shop/reviews: approved the promotion' };
    const ok = await post('/api/releases/shop/reviews/promote', {});
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { message: string }).message).toBe('shop/reviews: approved the promotion');
    backend.answer = {
      status: 403,
      message:
        'annotating CanaryRelease shop/reviews: the kubeconfig\'s user may not do this (HTTP 403: canaryreleases "reviews" is forbidden)',
    };
    const no = await post('/api/releases/shop/reviews/abort', { resourceVersion: '4711' });
    expect(no.status).toBe(403);
    expect(((await no.json()) as { message: string }).message).toContain(
      'HTTP 403: canaryreleases "reviews" is forbidden',
    );
    expect(backend.acts).toEqual([
      ['promote', 'shop', 'reviews', undefined],
      ['abort', 'shop', 'reviews', '4711'],
    ]);
    const bad = await post('/api/releases/shop/reviews/abort', { resourceVersion: 4711 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe(
      "resourceVersion must be the release's resourceVersion as the page shows it (got 4711)",
    );
    expect(backend.acts).toHaveLength(2);
    expect((await post('/api/releases/shop/reviews/delete', {})).status).toBe(404);
    expect((await post('/api/releases/Shop!/reviews/promote', {})).status).toBe(404);
  });

  test('the event stream sends the state on connect and each change as it happens', async () => {
    backend.current = { series: {}, problems: { 'watch Service shop': 'HTTP 403: forbidden' } };
    const ac = new AbortController();
    const res = await fetch(`${origin}/events`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    const until = async (needle: string) => {
      for (let i = 0; i < 50 && !text.includes(needle); i++)
        text += new TextDecoder().decode((await reader.read()).value);
      return text.includes(needle);
    };
    expect(await until('event: problems')).toBe(true);
    expect(text).toContain('event: snapshot\ndata: {"series":{}}\n\n');
    expect(text).toContain('data: {"watch Service shop":"HTTP 403: forbidden"}');
    backend.current = { ...backend.current, traffic: { 'shop/a -> shop/b': { rps: 2, errorRate: 0 } } };
    for (const l of backend.listeners) l('traffic');
    expect(await until('"rps":2')).toBe(true);
    ac.abort();
  });

  test('explain: the form is checked, then answered by the backend', async () => {
    const bad = await post('/api/explain', { from: 'productpage' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe(
      'explain needs a host (a Service name, an FQDN, or the Host header from ingress)',
    );
    const good = await post('/api/explain', {
      from: 'productpage',
      host: 'reviews',
      headers: { 'End-User': 'jason' },
    });
    expect(((await good.json()) as { message: string }).message).toBe('explained reviews');
    expect(backend.explained.at(-1)).toEqual({
      from: 'productpage',
      host: 'reviews',
      headers: { 'end-user': 'jason' },
    });
    expect(parseExplainForm({ host: 'x', port: 70000 })).toEqual({
      ok: false,
      message: 'port must be a port number (got 70000)',
    });
    expect(parseExplainForm({ host: 'x', headers: ['a'] })).toEqual({
      ok: false,
      message: 'headers must be an object of name → value',
    });
  });
});

describe('dashboard parts', () => {
  test('a release chart grows by one point per new check, and keeps at most max points', () => {
    const view = (t: string, rate: number) =>
      ({
        namespace: 'shop',
        name: 'reviews',
        lastCheckAt: t,
        successRate: rate,
        latencyP99Ms: 40,
        canary: { weight: 10 },
      }) as unknown as ReleaseView;
    let s = growSeries({}, [view('2026-01-01T00:00:00Z', 99)]);
    s = growSeries(s, [view('2026-01-01T00:00:00Z', 99)]);
    s = growSeries(s, [view('2026-01-01T00:00:05Z', 97)]);
    expect(s['shop/reviews']).toEqual([
      { t: '2026-01-01T00:00:00Z', successRate: 99, p99Ms: 40, canaryWeight: 10, source: 'check' },
      { t: '2026-01-01T00:00:05Z', successRate: 97, p99Ms: 40, canaryWeight: 10, source: 'check' },
    ]);
    expect(
      growSeries(s, [view('2026-01-01T00:00:10Z', 90)], 2)['shop/reviews']!.map((p) => p.successRate),
    ).toEqual([97, 90]);
  });

  test('traffic: Istio series become per-edge rps, 5xx share and p99; the ingress gateway is `ingress`', () => {
    const m = (src: string, dst: string) => ({
      source_canonical_service: src,
      source_workload_namespace: 'shop',
      destination_service_name: dst,
      destination_service_namespace: 'shop',
    });
    expect(edgeKeyOf(m('istio-ingressgateway', 'productpage'))).toBe('ingress -> shop/productpage');
    const t = joinTraffic(
      [
        { metric: m('productpage', 'reviews'), value: [0, '4'] },
        { metric: m('reviews', 'ratings'), value: [0, '2'] },
      ],
      [{ metric: m('productpage', 'reviews'), value: [0, '1'] }],
      [
        { metric: m('productpage', 'reviews'), value: [0, '120'] },
        { metric: m('reviews', 'ratings'), value: [0, 'NaN'] },
      ],
    );
    expect(t).toEqual({
      'shop/productpage -> shop/reviews': { rps: 4, errorRate: 0.25, p99Ms: 120 },
      'shop/reviews -> shop/ratings': { rps: 2, errorRate: 0 },
    });
    expect(trafficQueries(['a', 'b']).rps).toBe(
      'sum by (source_canonical_service, source_workload_namespace, destination_service_name, destination_service_namespace) (rate(istio_requests_total{reporter="destination",destination_service_namespace=~"a|b"}[1m]))',
    );
  });

  test('watch paths and the HTTP status of a failed write', () => {
    expect(pluralOf('AuthorizationPolicy')).toBe('authorizationpolicies');
    expect(pluralOf('Gateway')).toBe('gateways');
    expect(pathOf('v1', 'Service', 'shop')).toBe('/api/v1/namespaces/shop/services');
    expect(pathOf('security.istio.io/v1', 'PeerAuthentication')).toBe(
      '/apis/security.istio.io/v1/peerauthentications',
    );
    expect(statusOf(new CommandError('x: (HTTP 403: forbidden)', EXIT.toolFailure))).toBe(403);
    expect(statusOf(new CommandError('not waiting at a gate', EXIT.refused))).toBe(409);
    expect(statusOf(new CommandError('gone', EXIT.notFound))).toBe(404);
  });
});
