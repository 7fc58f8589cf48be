import type { Readable } from 'node:stream';
import { Agent, buildConnector, request } from 'undici';
import { type AddressPolicy, checkedAddress, type Resolver, systemResolver } from './address-guard';

/**
 * The HTTP client webhooks go out through (undici). Whatever a receiver answers ends in a
 * `SendOutcome`, never in a thrown error, and is bounded:
 * - the address: resolved when connecting, every address checked against the address rule, and
 *   the connection made to the address that was checked (the name stays in `Host` and TLS SNI);
 * - time: one deadline for connecting and the answer's headers; the body then gets `bodyReadMs`;
 * - size: response headers up to 16 KiB (Node's limit), the body up to `maxBodyBytes`: the rest is
 *   discarded and the connection closed;
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

export class WebhookSender {
  private readonly agents = new Map<boolean, Agent>();
  private readonly maxBodyBytes: number;
  private readonly bodyReadMs: number;

  constructor(private readonly options: SenderOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_RESPONSE_BODY_BYTES;
    this.bodyReadMs = options.bodyReadMs ?? 1_000;
  }

  /**
   * One agent (one pool of kept-alive connections) per address policy, so that a connection a
   * subscription allowed to a private address is never reused for one that is not allowed that.
   */
  private agent(allowPrivate: boolean): Agent {
    let agent = this.agents.get(allowPrivate);
    if (!agent) {
      agent = new Agent({
        connect: guardedConnector({ allowPrivate }, this.options.resolver ?? systemResolver, this.options.connectTimeoutMs),
        maxHeaderSize: MAX_HEADER_BYTES,
        keepAliveTimeout: 4_000,
      });
      this.agents.set(allowPrivate, agent);
    }
    return agent;
  }

  async post(req: PostRequest): Promise<SendOutcome> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, req.timeoutMs);
    try {
      const response = await request(req.url, {
        method: 'POST',
        body: req.body,
        headers: req.headers,
        dispatcher: this.agent(req.allowPrivate),
        signal: controller.signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      clearTimeout(timer);
      const body = await readCapped(response.body, this.maxBodyBytes, this.bodyReadMs);
      const retryAfter = response.headers['retry-after'];
      return {
        kind: 'answered',
        status: response.statusCode,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        bodySnippet: printable(body),
      };
    } catch (error) {
      return failureOf(error, timedOut, req.timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.destroy().catch(() => undefined)));
    this.agents.clear();
  }
}

/**
 * undici's connector, with the address rule in front: the host is resolved here, every address
 * checked, and the socket opened to the checked one; `host` (the name) still gives TLS its server name.
 */
function guardedConnector(policy: AddressPolicy, resolver: Resolver, connectTimeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: connectTimeoutMs });
  return (options, callback) => {
    checkedAddress(options.hostname, { ...policy, privateOnly: options.protocol === 'http:' }, resolver).then(
      (resolved) => connect({ ...options, hostname: resolved.address }, callback),
      (error: Error) => callback(error, null),
    );
  };
}

/** Reads at most `maxBytes` of a body within `timeMs`; the rest is discarded and the connection closed. */
async function readCapped(body: Readable, maxBytes: number, timeMs: number): Promise<string> {
  // A body destroyed by us may still report an error; it must not become an unhandled 'error' event.
  body.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => body.destroy(), timeMs);
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      if (size + bytes.length > maxBytes) {
        chunks.push(bytes.subarray(0, maxBytes - size));
        body.destroy();
        break;
      }
      chunks.push(bytes);
      size += bytes.length;
    }
  } catch {
    // Cut short by the timer, or by the receiver: the status is the answer.
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The `code` of an error or of one of its causes; undici's parser errors may have none but their name. */
function codeOf(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; name?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string') return e.code;
    if (e.name === 'HTTPParserError') return 'HPE_INVALID_RESPONSE';
  }
  return undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** What went wrong, as an outcome: never thrown further. */
export function failureOf(error: unknown, timedOut: boolean, timeoutMs: number): SendOutcome {
  const code = codeOf(error);
  const message = printable(error instanceof Error ? error.message : String(error), 300);
  if (code === 'ADDRESS_NOT_ALLOWED') return { kind: 'refused', reason: message };
  if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return { kind: 'failed', failure: 'timeout', reason: `no answer within ${timeoutMs} ms` };
  }
  const reason = code ? `${code}: ${message}` : message;
  if (code !== undefined && (code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_INFO')) {
    return { kind: 'failed', failure: 'protocol', reason: `not a valid HTTP answer (${reason})` };
  }
  return { kind: 'failed', failure: 'connection', reason };
}
