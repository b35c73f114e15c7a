/**
 * The dashboard's HTTP server: the page and its two assets, served from this package (no CDN); an
 * event stream (Server-Sent Events) that pushes every new snapshot, traffic figures and watch
 * errors as they happen; promote/resume/abort as POSTs that run the CLI's own writes; and an
 * explain form answered from the live objects. It listens on 127.0.0.1 only, answers only requests
 * addressed to that host (no DNS rebinding), and takes a POST only from its own page (Origin, and a
 * JSON body a plain form cannot send).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReleaseView } from '../release/view.js';
import type { TrafficByEdge } from './metrics.js';
import type { Snapshot } from './snapshot.js';

export type ReleaseAction = 'promote' | 'resume' | 'abort';

/** What an action or an explain answers: a message for the page, and the HTTP status to send. */
export interface Answer {
  readonly status: number;
  readonly message: string;
  readonly body?: unknown;
}

/** One measured check of a release, for its chart. */
export interface ChartPoint {
  /** ISO time of the check. */
  readonly t: string;
  readonly successRate?: number;
  readonly p99Ms?: number;
  readonly canaryWeight: number;
  /** `check`: a check of the operator's, seen in the release's status; `prometheus`: read back from Prometheus for the time before the dashboard saw the release. */
  readonly source: 'check' | 'prometheus';
}

/** What the page is told; each is sent once on connect, then whenever it changes. */
export interface DashboardState {
  readonly snapshot?: Snapshot;
  readonly series: Readonly<Record<string, readonly ChartPoint[]>>;
  readonly traffic?: TrafficByEdge;
  /** Watch failures, Prometheus failures: `what` → message. */
  readonly problems: Readonly<Record<string, string>>;
}

export type DashboardEvent = 'snapshot' | 'traffic' | 'problems';

/** What the server needs: the state, a way to hear of changes, and the two actions. */
export interface DashboardBackend {
  state(): DashboardState;
  subscribe(listener: (event: DashboardEvent) => void): () => void;
  /** `resourceVersion`: the version of the release the page showed, the write's precondition. */
  act(action: ReleaseAction, namespace: string, name: string, resourceVersion?: string): Promise<Answer>;
  explain(request: ExplainForm): Answer;
}

/** The explain form's fields. */
export interface ExplainForm {
  readonly from?: string;
  readonly host: string;
  readonly path?: string;
  readonly method?: string;
  readonly port?: number;
  readonly headers?: Record<string, string>;
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Reads an asset shipped beside this module (cli/dashboard/assets, copied to lib/ by the build). */
function asset(file: string): Buffer {
  return readFileSync(new URL(`./assets/${file}`, import.meta.url));
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8') {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type });
  res.end(data);
}

const ACTION_PATH =
  /^\/api\/releases\/([a-z0-9][-a-z0-9]{0,62})\/([a-z0-9][-a-z0-9.]{0,252})\/(promote|resume|abort)$/;

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error(`the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

/** Checks the explain form's fields: strings where strings go, a port number, headers as name → value. */
export function parseExplainForm(
  body: unknown,
): { ok: true; form: ExplainForm } | { ok: false; message: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  const str = (k: string) =>
    typeof b[k] === 'string' && (b[k] as string).trim() !== '' ? (b[k] as string).trim() : undefined;
  const host = str('host');
  if (!host)
    return {
      ok: false,
      message: 'explain needs a host (a Service name, an FQDN, or the Host header from ingress)',
    };
  const port = b.port === undefined || b.port === '' ? undefined : Number(b.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    return { ok: false, message: `port must be a port number (got ${String(b.port)})` };
  const headers: Record<string, string> = {};
  if (b.headers !== undefined) {
    if (typeof b.headers !== 'object' || b.headers === null || Array.isArray(b.headers))
      return { ok: false, message: 'headers must be an object of name → value' };
    for (const [k, v] of Object.entries(b.headers)) {
      if (typeof v !== 'string') return { ok: false, message: `header ${k} must be a string` };
      headers[k.toLowerCase()] = v;
    }
  }
  const from = str('from');
  const path = str('path');
  const method = str('method');
  return {
    ok: true,
    form: {
      host,
      ...(from ? { from } : {}),
      ...(path ? { path } : {}),
      ...(method ? { method } : {}),
      ...(port !== undefined ? { port } : {}),
      headers,
    },
  };
}

/** The request handler. `origin()` is the server's own `http://127.0.0.1:<port>`. */
export function dashboardHandler(backend: DashboardBackend, origin: () => string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const self = new URL(origin());
    const host = req.headers.host ?? '';
    if (host !== self.host && host !== `localhost:${self.port}`)
      return send(res, 403, {
        message: `this dashboard answers only at ${self.origin} (Host was ${host.slice(0, 100) || 'missing'})`,
      });
    const url = new URL(req.url ?? '/', self);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const a = ASSETS[url.pathname];
      if (a) return send(res, 200, asset(a.file), a.type);
      if (url.pathname === '/api/state') return send(res, 200, backend.state());
      if (url.pathname === '/events') return events(backend, req, res);
      return send(res, 404, { message: `no such page: ${url.pathname}` });
    }
    if (req.method !== 'POST') return send(res, 405, { message: `${req.method} is not served` });
    const from = req.headers.origin;
    if (from !== self.origin && from !== `http://localhost:${self.port}`)
      return send(res, 403, {
        message: `a change is taken only from this dashboard's own page (Origin was ${from ?? 'missing'})`,
      });
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      return send(res, 415, { message: 'send JSON (content-type: application/json)' });
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (e) {
      return send(res, 400, { message: `the body is not JSON: ${(e as Error).message}` });
    }
    const m = ACTION_PATH.exec(url.pathname);
    if (m) {
      const rv = (body as { resourceVersion?: unknown } | null)?.resourceVersion;
      if (rv !== undefined && (typeof rv !== 'string' || !/^[0-9A-Za-z._-]{1,128}$/.test(rv)))
        return send(res, 400, {
          message: `resourceVersion must be the release's resourceVersion as the page shows it (got ${JSON.stringify(rv).slice(0, 100)})`,
        });
      const a = await backend.act(m[3] as ReleaseAction, m[1]!, m[2]!, rv);
      return send(res, a.status, { message: a.message, ...(a.body !== undefined ? { result: a.body } : {}) });
    }
    if (url.pathname === '/api/explain') {
      const p = parseExplainForm(body);
      if (!p.ok) return send(res, 400, { message: p.message });
      const a = backend.explain(p.form);
      return send(res, a.status, { message: a.message, ...(a.body !== undefined ? { result: a.body } : {}) });
    }
    return send(res, 404, { message: `no such action: ${url.pathname}` });
  };
}

/** Server-Sent Events: the whole state at once, then each part when it changes; a comment every 20 s keeps proxies from closing it. */
function events(backend: DashboardBackend, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    connection: 'keep-alive',
  });
  const push = (event: DashboardEvent) => {
    const s = backend.state();
    const data =
      event === 'snapshot'
        ? { snapshot: s.snapshot, series: s.series }
        : event === 'traffic'
          ? s.traffic
          : s.problems;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data ?? null)}\n\n`);
  };
  push('snapshot');
  push('traffic');
  push('problems');
  const off = backend.subscribe(push);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 20_000);
  req.on('close', () => {
    clearInterval(keepAlive);
    off();
  });
}

/** The chart's points of each release, grown by each new check the snapshots show. */
export function growSeries(
  series: Readonly<Record<string, readonly ChartPoint[]>>,
  releases: readonly ReleaseView[],
  max = 500,
): Record<string, ChartPoint[]> {
  const out: Record<string, ChartPoint[]> = {};
  for (const v of releases) {
    const key = `${v.namespace}/${v.name}`;
    const held = series[key] ?? [];
    out[key] =
      v.lastCheckAt && !held.some((p) => p.source === 'check' && p.t === v.lastCheckAt)
        ? mergeSeries(
            held,
            [
              {
                t: v.lastCheckAt,
                ...(v.successRate !== undefined ? { successRate: v.successRate } : {}),
                ...(v.latencyP99Ms !== undefined ? { p99Ms: v.latencyP99Ms } : {}),
                canaryWeight: v.canary.weight,
                source: 'check',
              },
            ],
            max,
          )
        : held.slice(-max);
  }
  return out;
}

/**
 * `held` and `more` in one series, oldest first, at most `max` (the newest): one point per time,
 * and where a check and a point read from Prometheus share a time, the check.
 */
export function mergeSeries(
  held: readonly ChartPoint[],
  more: readonly ChartPoint[],
  max = 500,
): ChartPoint[] {
  const byT = new Map<string, ChartPoint>();
  for (const p of [...held, ...more]) {
    const there = byT.get(p.t);
    if (!there || p.source === 'check' || there.source !== 'check') byT.set(p.t, p);
  }
  return [...byT.values()].sort((a, b) => Date.parse(a.t) - Date.parse(b.t)).slice(-max);
}
