import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  status: number;
}

/** What the receiver answers to its n-th request (0-based): a status and headers, or nothing yet (hang). */
export type Answer = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A real HTTP receiver on loopback. `answer` decides each reply; a hanging request is answered
 * with 200 when `release()` is called.
 */
export class Receiver {
  readonly requests: Received[] = [];
  private readonly hanging: (() => void)[] = [];
  private server: Server | undefined;
  url = '';

  constructor(
    private answer: (index: number, body: string) => Answer = () => ({ status: 200 }),
    /** The loopback address it listens on: 127.0.0.1, or ::1. */
    private readonly host = '127.0.0.1',
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = this.answer(this.requests.length, body);
        const reply = (status: number, headers: Record<string, string> = {}) => {
          this.requests.push({ headers: req.headers, body, at: Date.now(), status });
          res.writeHead(status, headers).end();
        };
        if (answer === 'hang') this.hanging.push(() => reply(200));
        else reply(answer.status, answer.headers);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, this.host, resolve));
    this.url = `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  answerWith(answer: (index: number, body: string) => Answer): void {
    this.answer = answer;
  }

  /** Requests waiting for `release()`. */
  hangingCount(): number {
    return this.hanging.length;
  }

  /** Answers every hanging request (200) from now on. */
  release(): void {
    this.answer = () => ({ status: 200 });
    for (const reply of this.hanging.splice(0)) reply();
  }

  /** The 2xx-answered bodies, parsed. */
  delivered(): { body: Record<string, unknown>; headers: IncomingHttpHeaders }[] {
    return this.requests
      .filter((r) => r.status < 300)
      .map((r) => ({ body: JSON.parse(r.body) as Record<string, unknown>, headers: r.headers }));
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
