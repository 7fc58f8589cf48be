import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AddressPolicy, checkedAddress, type Resolver, systemResolver } from './address-guard';

/**
 * The HTTP client webhooks go out through (Node's http and https). Whatever a receiver answers
 * ends in a `SendOutcome`, never in a thrown error, and is bounded:
 * - the address: resolved when connecting, every address checked against the address rule, and
 *   the connection made to the address that was checked (the name stays in `Host` and TLS SNI);
 * - time: one deadline for connecting and the answer's headers; the body then gets `bodyReadMs`;
 * - size: response headers up to 16 KiB (Node's parser stops at the limit, in C++: a receiver
 *   sending 10,000 headers costs the event loop next to nothing), the body up to `maxBodyBytes`:
 *   the rest is discarded and the connection closed;
 * - redirects are never followed.
 */
export interface SenderOptions {
  /** Connecting (the TCP and TLS handshakes) may take this long, ms. */
  connectTimeoutMs: number;
  /** How host names are resolved; tests inject their own. Default: the system's. */
  resolver?: Resolver;
  /** Response body bytes read at most; the rest is discarded and the connection closed. Default 64 KiB. */
  maxBodyBytes?: number;
  /** How long the body may take once the status arrived, ms; then the connection is closed. Default 1 s. */
  bodyReadMs?: number;
}

export type SendFailure = 'timeout' | 'connection' | 'protocol';

export type SendOutcome =
  /** The receiver answered with a status (what the body said is cut to a short, printable snippet). */
  | { kind: 'answered'; status: number; retryAfter: string | undefined; bodySnippet: string }
  /** The address rule refused every connection to the endpoint: retrying cannot help. */
  | { kind: 'refused'; reason: string }
  /** No answer: a timeout, a connection that failed, or an answer that is not HTTP. */
  | { kind: 'failed'; failure: SendFailure; reason: string };

export interface PostRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** The endpoint may be a loopback or private address (the subscription's, or the service's, setting). */
  allowPrivate: boolean;
  /** Deadline for connecting and the answer's status and headers, ms. */
  timeoutMs: number;
}

export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;
/** Node's own default for the size of an HTTP head. */
const MAX_HEADER_BYTES = 16 * 1024;
const SNIPPET_CHARS = 200;

/** Text from outside, safe to store and print: no control characters (terminal escapes), bounded. */
export function printable(text: string, maxChars = SNIPPET_CHARS): string {
  const flat = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars)}…` : flat;
}

/** A name resolved and checked as Node connects: the socket goes to the address that was checked. */
function guardedLookup(policy: AddressPolicy, resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddress(hostname, policy, resolver).then(
      ({ address, family }) => {
        // With `all` (Happy Eyeballs), a list: the one checked address.
        if ((options as { all?: boolean }).all)
          (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

export class WebhookSender {
  /** One agent (one pool of kept-alive connections) per scheme and address policy: a connection allowed to a private address is never reused for a subscription that is not. */
  private readonly agents = new Map<string, HttpAgent>();
  private readonly maxBodyBytes: number;
  private readonly bodyReadMs: number;
  private readonly resolver: Resolver;

  constructor(private readonly options: SenderOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_RESPONSE_BODY_BYTES;
    this.bodyReadMs = options.bodyReadMs ?? 1_000;
    this.resolver = options.resolver ?? systemResolver;
  }

  private agent(https: boolean, allowPrivate: boolean): HttpAgent {
    const key = `${https}:${allowPrivate}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const settings = { keepAlive: true, keepAliveMsecs: 1_000, timeout: this.options.connectTimeoutMs, scheduling: 'lifo' as const };
      agent = https ? new HttpsAgent(settings) : new HttpAgent(settings);
      this.agents.set(key, agent);
    }
    return agent;
  }

  async post(req: PostRequest): Promise<SendOutcome> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { kind: 'failed', failure: 'connection', reason: `not a URL: ${printable(req.url)}` };
    }
    const https = url.protocol === 'https:';
    const policy: AddressPolicy = { allowPrivate: req.allowPrivate, privateOnly: url.protocol === 'http:' };
    // Node connects to an IP literal without a lookup: it is checked here instead.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const refused = await checkedAddress(host, policy, this.resolver).then(
        () => undefined,
        (error: unknown) => failureOf(error, false, req.timeoutMs),
      );
      if (refused) return refused;
    }
    let timedOut = false;
    return new Promise<SendOutcome>((resolve) => {
      const call = (https ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          agent: this.agent(https, req.allowPrivate),
          lookup: guardedLookup(policy, this.resolver),
          maxHeaderSize: MAX_HEADER_BYTES,
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
        },
        (response) => {
          clearTimeout(timer);
          void readCapped(response, this.maxBodyBytes, this.bodyReadMs).then((body) => {
            const retryAfter = response.headers['retry-after'];
            resolve({
              kind: 'answered',
              status: response.statusCode ?? 0,
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
              bodySnippet: printable(body),
            });
          });
        },
      );
      const timer = setTimeout(() => {
        timedOut = true;
        call.destroy(new Error(`no answer within ${req.timeoutMs} ms`));
      }, req.timeoutMs);
      call.on('error', (error) => {
        clearTimeout(timer);
        resolve(failureOf(error, timedOut, req.timeoutMs));
      });
      call.end(req.body);
    });
  }

  async close(): Promise<void> {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** Reads at most `maxBytes` of a body within `timeMs`; the rest is discarded and the connection closed. */
function readCapped(response: IncomingMessage, maxBytes: number, timeMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (cut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Cut short (too long, too slow): the connection goes, it is never reused half-read.
      if (cut) response.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(() => finish(true), timeMs);
    response.on('data', (chunk: Buffer) => {
      if (done) return;
      const room = maxBytes - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size >= maxBytes) finish(true);
    });
    response.on('end', () => finish(false));
    response.on('error', () => finish(true));
    response.on('close', () => finish(false));
  });
}

/** The `code` of an error or of one of its causes. */
function codeOf(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; name?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** What went wrong, as an outcome: never thrown further. */
export function failureOf(error: unknown, timedOut: boolean, timeoutMs: number): SendOutcome {
  const code = codeOf(error);
  const message = printable(error instanceof Error ? error.message : String(error), 300);
  if (code === 'ADDRESS_NOT_ALLOWED') return { kind: 'refused', reason: message };
  if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return { kind: 'failed', failure: 'timeout', reason: `no answer within ${timeoutMs} ms` };
  }
  const reason = code ? `${code}: ${message}` : message;
  if (code?.startsWith('HPE_')) {
    return { kind: 'failed', failure: 'protocol', reason: `not a valid HTTP answer (${reason})` };
  }
  return { kind: 'failed', failure: 'connection', reason };
}
