import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verify } from '@pipeline/webhooks';

/** How a flapping receiver misbehaves for a while. */
export type FlapMode = 'server-errors' | 'timeouts' | 'slow';

/** One request the receiver got, in arrival order. */
export interface Delivery {
  webhookId: string;
  eventId: string;
  /** `<table>:<id>` of the row the change is about. */
  row: string;
  status: number;
  signed: boolean;
  at: number;
}

/** How long a "slow" answer takes: well under the dispatcher's response timeout the chaos run sets. */
const SLOW_MS = 700;

/**
 * A webhook endpoint of the chaos run, on loopback: it answers 204 to every correctly signed
 * request, except while flapping (500s, requests left unanswered past the dispatcher's timeout,
 * or slow answers). Every request is kept, answered or not, for the invariants.
 */
export class ChaosReceiver {
  readonly deliveries: Delivery[] = [];
  url = '';
  secret = '';
  private server: Server | undefined;
  private mode: FlapMode | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly hung = new Set<ServerResponse>();

  constructor(readonly name: string) {}

  async start(): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${this.name}`;
    return this;
  }

  /** Misbehaves as `mode` says until `recover()`. */
  flap(mode: FlapMode): void {
    this.mode = mode;
  }

  /** Answers normally again; requests left hanging are cut off (the dispatcher gave up on them already). */
  recover(): void {
    this.mode = undefined;
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }

  async stop(): Promise<void> {
    this.recover();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => String(req.headers[name] ?? '');
      const webhookId = header('webhook-id');
      const signed = verify(
        this.secret,
        { 'webhook-id': webhookId, 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') },
        body,
        Math.floor(Date.now() / 1000),
      );
      let eventId = '';
      let row = '';
      try {
        const payload = JSON.parse(body) as { event_id?: string; table?: string; record?: { id?: string }; old_record?: { id?: string } };
        eventId = String(payload.event_id ?? '');
        row = `${payload.table}:${payload.record?.id ?? payload.old_record?.id ?? eventId}`;
      } catch {
        // Kept with an empty event id: the invariants name it.
      }
      const mode = this.mode;
      const answer = (status: number) => {
        this.deliveries.push({ webhookId, eventId, row, status, signed, at: Date.now() });
        if (!res.destroyed) res.writeHead(status).end();
      };
      if (!signed) return answer(401);
      if (mode === 'server-errors') return answer(500);
      if (mode === 'timeouts') {
        // Never answered: the dispatcher's deadline passes. Kept as not delivered.
        this.deliveries.push({ webhookId, eventId, row, status: 0, signed, at: Date.now() });
        this.hung.add(res);
        return;
      }
      if (mode === 'slow') {
        setTimeout(() => answer(204), SLOW_MS);
        return;
      }
      answer(204);
    });
  }
}
