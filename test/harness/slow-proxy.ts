/**
 * A loopback HTTP proxy in front of a real server (Prometheus) that can hold every request for a
 * while before forwarding it: a slow Prometheus, as an overloaded one or a long network path is.
 * It counts what arrives, and how many requests are open at once from the client's side (a request
 * the client gave up on, closing its connection, no longer counts), so a test can tell whether a
 * client abandons timed-out queries or lets them pile up.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowProxyStats {
  /** Requests received. */
  readonly requests: number;
  /** Requests answered with the upstream's answer. */
  readonly answered: number;
  /** Requests the client closed before the answer. */
  readonly abandoned: number;
  /** Requests open now (received, neither answered nor closed by the client). */
  readonly open: number;
  /** The most requests open at once. */
  readonly maxOpen: number;
}

export class SlowProxy {
  /** Milliseconds every request is held before it is forwarded; change it at any time. */
  delayMs = 0;
  /** Told of every request as it arrives in full (its body), e.g. to record the queries sent. */
  onRequest: ((body: Buffer, path: string) => void) | undefined;
  private counts = { requests: 0, answered: 0, abandoned: 0, open: 0, maxOpen: 0 };

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Starts a proxy to `upstream` (an `http://host:port` base URL) on a free loopback port. */
  static async start(upstream: string): Promise<SlowProxy> {
    const target = new URL(upstream);
    const holder: { proxy?: SlowProxy } = {};
    const server = createServer((req, res) => holder.proxy!.handle(req, res, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const proxy = new SlowProxy(server, `http://127.0.0.1:${port}`);
    holder.proxy = proxy;
    return proxy;
  }

  get stats(): SlowProxyStats {
    return { ...this.counts };
  }

  /** Forgets the counts (the delay stays). */
  resetStats(): void {
    this.counts = {
      requests: 0,
      answered: 0,
      abandoned: 0,
      open: this.counts.open,
      maxOpen: this.counts.open,
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private handle(req: IncomingMessage, res: ServerResponse, target: URL): void {
    const c = this.counts;
    c.requests++;
    c.open++;
    c.maxOpen = Math.max(c.maxOpen, c.open);
    // (resetStats swaps the object; `finish` counts into the current one)
    let done = false;
    const finish = (how: 'answered' | 'abandoned') => {
      if (done) return;
      done = true;
      this.counts.open--;
      this.counts[how]++;
    };
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    let timer: NodeJS.Timeout | undefined;
    let upstreamReq: ReturnType<typeof request> | undefined;
    res.on('close', () => {
      if (!res.writableFinished) {
        finish('abandoned');
        if (timer) clearTimeout(timer);
        upstreamReq?.destroy();
      }
    });
    req.on('end', () => {
      this.onRequest?.(Buffer.concat(chunks), req.url ?? '/');
      timer = setTimeout(() => {
        timer = undefined;
        upstreamReq = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host },
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
            up.on('end', () => finish('answered'));
          },
        );
        upstreamReq.on('error', (e) => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`proxy: ${e.message}\n`);
          finish('answered');
        });
        upstreamReq.end(Buffer.concat(chunks));
      }, this.delayMs);
    });
  }
}
