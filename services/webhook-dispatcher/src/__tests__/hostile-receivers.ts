import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';

/** What a hostile receiver did with one request. */
export interface HostileRequest {
  at: number;
  /** The request's webhook-id (not read by the raw TCP receiver). */
  webhookId?: string;
  /** Bytes of response body it managed to write before the dispatcher hung up (the big-body receiver). */
  bodyBytesWritten?: number;
}

/** Every way of answering badly the acceptance names; each receiver answers every request the same way. */
export const HOSTILE_KINDS = [
  'retry-after-huge',
  'retry-after-negative',
  'retry-after-garbage',
  'retry-after-date',
  'body-100mb',
  'body-trickle',
  'redirect-loop',
  'reset',
  'bad-status-line',
  'headers-10000',
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

const HUGE_BODY_BYTES = 100 * 1024 * 1024;

/**
 * A receiver on loopback that answers every request in one hostile way: a raw TCP server for what
 * is not HTTP at all, Node's HTTP server for the rest.
 */
export class HostileReceiver {
  readonly requests: HostileRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  url = '';

  constructor(readonly kind: HostileKind) {}

  async start(): Promise<this> {
    const server = this.kind === 'bad-status-line' ? this.rawServer() : createHttpServer((req, res) => this.answer(req, res));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/${this.kind}`;
    return this;
  }

  /** Reads the request up to its end, then writes a status line that is not HTTP. */
  private rawServer(): Server {
    return createTcpServer((socket) => {
      let seen = '';
      socket.on('data', (chunk) => {
        seen += chunk.toString('latin1');
        const head = seen.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(seen)?.[1] ?? 0);
        if (head < 0 || seen.length < head + 4 + length) return;
        seen = '';
        this.requests.push({ at: Date.now() });
        socket.end('HTTP/1.1 abc Whatever\r\nContent-Length: 0\r\n\r\n');
      });
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      const entry: HostileRequest = { at: Date.now(), webhookId: String(req.headers['webhook-id']) };
      this.requests.push(entry);
      switch (this.kind) {
        case 'retry-after-huge':
          res.writeHead(429, { 'retry-after': '9999999999999' }).end();
          return;
        case 'retry-after-negative':
          res.writeHead(503, { 'retry-after': '-5' }).end();
          return;
        case 'retry-after-garbage':
          res.writeHead(503, { 'retry-after': 'when pigs fly' }).end();
          return;
        case 'retry-after-date':
          res.writeHead(429, { 'retry-after': new Date(Date.now() + 2_000).toUTCString() }).end();
          return;
        case 'body-100mb':
          this.writeHugeBody(res, entry);
          return;
        case 'body-trickle':
          this.trickle(res);
          return;
        case 'redirect-loop':
          res.writeHead(302, { location: this.url }).end();
          return;
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'headers-10000': {
          const headers: [string, string][] = Array.from({ length: 10_000 }, (_, i) => [`x-noise-${i}`, 'abcdefgh']);
          res.writeHead(200, headers.flat());
          res.end('ok');
          return;
        }
        case 'bad-status-line':
          return;
        default: {
          const unknown: never = this.kind;
          throw new Error(`unknown kind ${unknown}`);
        }
      }
    });
  }

  /** 100 MB of 200 OK body, written as fast as the client takes it, until it hangs up. */
  private writeHugeBody(res: ServerResponse, entry: HostileRequest): void {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': HUGE_BODY_BYTES });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    entry.bodyBytesWritten = 0;
    const pump = (): void => {
      while ((entry.bodyBytesWritten ?? 0) < HUGE_BODY_BYTES && !res.destroyed) {
        entry.bodyBytesWritten = (entry.bodyBytesWritten ?? 0) + chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  }

  /** A 200 whose 1,000-byte body comes one byte a second. */
  private trickle(res: ServerResponse): void {
    res.writeHead(200, { 'content-length': 1_000 });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent >= 1_000) {
        clearInterval(timer);
        this.timers.delete(timer);
        return;
      }
      res.write('.');
      sent++;
    }, 1_000);
    this.timers.add(timer);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
