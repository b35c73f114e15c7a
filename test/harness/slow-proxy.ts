/**
 * A loopback HTTP proxy in front of a real server (Prometheus) that can hold every request for a
 * while before forwarding it: a slow Prometheus, as an overloaded one or a long network path is.
 * It counts what arrives, and how many requests are open at once from the client's side (a request
 * the client gave up on, closing its connection, no longer counts), so a test can tell whether a
 * client abandons timed-out queries or lets them pile up.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  connect,
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from 'node:net';

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

/** What a {@link HangingTcpProxy} saw. */
export interface HangingTcpProxyStats {
  /** Connections accepted. */
  readonly connections: number;
  /** Connections whose requests were held while hanging. */
  readonly heldConnections: number;
  /** Connections open now. */
  readonly open: number;
  /** Bytes of requests held back while hanging. */
  readonly heldBytes: number;
  /** Bytes dropped on silenced connections (either direction). */
  readonly droppedBytes: number;
}

/** TLS record header: content type (1), version (2), length (2). */
const TLS_HEADER = 5;
/** TLS content type of application data: in TLS 1.3 everything after the client's first flight. */
const TLS_APPLICATION_DATA = 0x17;

/**
 * A loopback TCP proxy in front of a TLS server (the kube-apiserver: TLS passes through untouched,
 * so the client still verifies the apiserver's certificate and presents its own). On `hang()` it
 * behaves as an apiserver that completes every TLS handshake and then answers nothing: on each
 * connection, the client's bytes pass until its first TLS application-data record (in TLS 1.3 the
 * client's Finished and its HTTP request travel as application data), which is held with
 * everything after it. Answers to requests already received still flow back. `resume()` forwards
 * what was held and carries on. `silenceOpen()` makes the connections open now go dead without a
 * word (a dropped NAT entry, a peer gone without FIN): their bytes are dropped both ways for good,
 * while new connections work.
 */
export class HangingTcpProxy {
  private hanging = false;
  private readonly held: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly live = new Set<{ dead: boolean }>();
  private counts = { connections: 0, heldConnections: 0, open: 0, heldBytes: 0, droppedBytes: 0 };

  private constructor(
    private readonly server: TcpServer,
    /** `host:port` to put in a kubeconfig's server URL. */
    readonly address: string,
  ) {}

  /** Starts a proxy to `upstream` (a URL such as `https://127.0.0.1:6443`) on a free loopback port. */
  static async start(upstream: string): Promise<HangingTcpProxy> {
    const target = new URL(upstream);
    const holder: { proxy?: HangingTcpProxy } = {};
    const server = createTcpServer((client) => holder.proxy!.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new HangingTcpProxy(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    holder.proxy = proxy;
    return proxy;
  }

  get stats(): HangingTcpProxyStats {
    return { ...this.counts };
  }

  /** From now on, complete handshakes and pass on no request. */
  hang(): void {
    this.hanging = true;
  }

  /** Forward what was held, and everything from now on. */
  resume(): void {
    this.hanging = false;
    for (const release of this.held.splice(0)) release();
  }

  /** The connections open now forward nothing more, either way, and stay open. */
  silenceOpen(): void {
    for (const c of this.live) c.dead = true;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(client: Socket, target: URL): void {
    this.counts.connections++;
    this.counts.open++;
    const conn = { dead: false };
    this.live.add(conn);
    const upstream = connect({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) this.sockets.add(s);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      this.sockets.delete(client);
      this.live.delete(conn);
      this.counts.open--;
      upstream.destroy();
    });
    // the server may give up on a connection whose request it never saw (kube-apiserver does after
    // about 30 s); a hung or silenced one tells its client nothing of that
    let holding = false;
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (holding || conn.dead) conn.dead = true;
      else client.destroy();
    });
    client.on('error', close);
    upstream.on('error', () => upstream.destroy());
    const write = (to: Socket, chunk: Buffer) => {
      if (conn.dead) this.counts.droppedBytes += chunk.length;
      else if (!to.destroyed) to.write(chunk);
    };
    upstream.on('data', (chunk: Buffer) => write(client, chunk));
    // the client's bytes, cut into TLS records, so that a hang starts at a request's first record
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= TLS_HEADER) {
        const size = TLS_HEADER + pending.readUInt16BE(3);
        if (pending.length < size) break;
        const record = pending.subarray(0, size);
        pending = pending.subarray(size);
        if (!holding && this.hanging && record[0] === TLS_APPLICATION_DATA) {
          holding = true;
          this.counts.heldConnections++;
        }
        if (holding && this.hanging) {
          this.counts.heldBytes += record.length;
          this.held.push(() => write(upstream, record));
        } else {
          holding = false;
          write(upstream, record);
        }
      }
    });
  }
}
