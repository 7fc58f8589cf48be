import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** An SES error as SES answers it: its HTTP status, code and message. */
export type SesFault = 'Throttling' | 'MessageRejected' | 'ServiceUnavailable';

const FAULTS: Record<SesFault, { status: number; type: 'Sender' | 'Receiver'; message: string }> = {
  Throttling: { status: 400, type: 'Sender', message: 'Maximum sending rate exceeded.' },
  MessageRejected: {
    status: 400,
    type: 'Sender',
    message: 'Email address is not verified. The following identities failed the check in region US-EAST-1: {address}',
  },
  ServiceUnavailable: { status: 503, type: 'Receiver', message: 'Service is unavailable. Please try again later.' },
};

/** SES's real XML error body (query API, 2010-12-01). */
export function sesErrorBody(code: SesFault, address = 'someone@example.com'): string {
  const fault = FAULTS[code];
  return (
    '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">\n' +
    `  <Error>\n    <Type>${fault.type}</Type>\n    <Code>${code}</Code>\n    <Message>${fault.message.replace('{address}', address)}</Message>\n  </Error>\n` +
    `  <RequestId>${randomUUID()}</RequestId>\n</ErrorResponse>\n`
  );
}

/** A request the proxy saw: whom its raw message was for, and what the proxy did. */
export interface ProxiedRequest {
  recipients: string;
  answer: 'forwarded' | SesFault | 'held';
}

/**
 * A loopback proxy in front of the SES endpoint for fault tests: it forwards requests, or answers
 * with SES's own XML errors, refuses connections, or forwards a send and holds SES's answer until
 * the test releases it (the window in which a sender can die after SES accepted).
 */
export class SesFaultProxy {
  readonly seen: ProxiedRequest[] = [];
  private server: Server | undefined;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly queued: SesFault[] = [];
  private readonly rejected = new Set<string>();
  private holdNext = 0;
  private readonly holding: (() => void)[] = [];
  private heldWaiters: (() => void)[] = [];

  constructor(private readonly target: string) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await this.listen();
    return this;
  }

  /** The next `count` sends get `fault` (in order with faults queued before). */
  failNext(fault: SesFault, count = 1): void {
    for (let i = 0; i < count; i++) this.queued.push(fault);
  }

  /** Every send to `address` is rejected as SES rejects an unverified address. */
  reject(address: string): void {
    this.rejected.add(address.toLowerCase());
  }

  /** The next send is forwarded, and SES's answer held until `release()`. Resolves once SES has answered it. */
  holdNextAnswer(): Promise<void> {
    this.holdNext += 1;
    return new Promise((resolve) => this.heldWaiters.push(resolve));
  }

  /** Holds no further answer (a hold asked for that no send has met yet is dropped), and lets the held ones go. */
  stopHolding(): void {
    this.holdNext = 0;
    this.heldWaiters = [];
    this.release();
  }

  /** Lets every held answer go (to whoever is still listening). */
  release(): void {
    for (const go of this.holding.splice(0)) go();
  }

  /** Stops listening and cuts open connections: a send gets ECONNREFUSED until `accept()`. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again, on the same port. */
  async accept(): Promise<void> {
    if (!this.server) await this.listen();
  }

  async stop(): Promise<void> {
    this.release();
    await this.refuse();
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(error));
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const raw = new URLSearchParams(body.toString()).get('RawMessage.Data');
    const message = raw ? Buffer.from(raw, 'base64').toString('utf8') : '';
    const recipients = /^To: (.*)$/im.exec(message)?.[1]?.trim() ?? '';
    const isSend = message !== '';
    const rejectedAddress = [...this.rejected].find((address) => recipients.toLowerCase().includes(address));
    const fault: SesFault | undefined = !isSend ? undefined : rejectedAddress ? 'MessageRejected' : this.queued.shift();
    if (fault) {
      this.seen.push({ recipients, answer: fault });
      res.writeHead(FAULTS[fault].status, { 'content-type': 'text/xml' });
      res.end(sesErrorBody(fault, rejectedAddress));
      return;
    }
    const hold = isSend && this.holdNext > 0;
    if (hold) this.holdNext -= 1;
    this.seen.push({ recipients, answer: hold ? 'held' : 'forwarded' });
    const answer = await this.forward(req, body);
    if (hold) {
      for (const wake of this.heldWaiters.splice(0, 1)) wake();
      await new Promise<void>((resolve) => this.holding.push(resolve));
    }
    if (res.destroyed || res.socket?.destroyed) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const target = new URL(req.url ?? '/', this.target);
    return new Promise((resolve, reject) => {
      const outgoing = request(
        target,
        { method: req.method, headers: { ...req.headers, host: target.host, 'content-length': String(body.length) } },
        (response) => {
          const parts: Buffer[] = [];
          response.on('data', (part: Buffer) => parts.push(part));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: { 'content-type': String(response.headers['content-type'] ?? 'text/xml') },
              body: Buffer.concat(parts),
            }),
          );
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
