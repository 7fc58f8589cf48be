import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';

/** A readiness check: resolves when the dependency is usable, throws with the reason when not. */
export type ReadinessCheck = () => Promise<void>;

/**
 * A service's own GET endpoint beside /healthz, /readyz and /metrics (order-processor's invoice
 * links, say): every path starting with `prefix` is handed to `handle`, which answers it.
 */
export interface HttpRoute {
  prefix: string;
  handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void>;
}

export interface HttpEndpointsOptions {
  host: string;
  port: number;
  registry: Registry;
  logger: Logger;
  /** Named checks run on every /readyz; each must answer within `checkTimeoutMs`. */
  readinessChecks?: Record<string, ReadinessCheck>;
  /** Per-check deadline, in milliseconds. Default 2000. */
  checkTimeoutMs?: number;
}

export interface HttpEndpoints {
  /** The bound address (the real port when 0 was asked for). */
  readonly port: number;
  /** From now on /readyz answers 503 so load balancers and orchestrators stop routing here. */
  markDraining(): void;
  /**
   * Marks start-up complete (with the checks /readyz runs from now on, and the service's own
   * routes, served from now on); until then /readyz answers 503 "starting".
   */
  markStarted(readinessChecks?: Record<string, ReadinessCheck>, routes?: readonly HttpRoute[]): void;
  /** The service cannot go on and is about to exit: /readyz answers 503 with the reason. */
  markFailed(reason: string): void;
  close(): Promise<void>;
}

/**
 * `/healthz` (liveness: the event loop answers), `/readyz` (started, not draining, and every
 * dependency check passing) and `/metrics` (Prometheus text format).
 */
export async function startHttpEndpoints(options: HttpEndpointsOptions): Promise<HttpEndpoints> {
  let checks = options.readinessChecks ?? {};
  let routes: readonly HttpRoute[] = [];
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  let state: 'starting' | 'started' | 'draining' | 'failed' = 'starting';
  let failure: string | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    switch (path) {
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/readyz': {
        if (state === 'failed') return send(res, 503, { status: state, reason: failure });
        if (state !== 'started') return send(res, 503, { status: state });
        const results = await runChecks(checks, checkTimeoutMs);
        const ready = Object.values(results).every((r) => r === 'ok');
        return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: results });
      }
      case '/metrics': {
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType });
        res.end(body);
        return;
      }
      default: {
        const route = routes.find((candidate) => path?.startsWith(candidate.prefix));
        if (route) return route.handle(req, res, new URL(req.url ?? '/', 'http://localhost'));
        return send(res, 404, { error: 'not found', endpoints: ['/healthz', '/readyz', '/metrics', ...routes.map((r) => `${r.prefix}…`)] });
      }
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.logger.error({ err: error }, 'http endpoint failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `HTTP_PORT ${options.port} on ${options.host} is already in use: stop the other process or set HTTP_PORT to a free port`,
              { cause: error },
            )
          : error,
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    markDraining: () => {
      if (state !== 'failed') state = 'draining';
    },
    markStarted: (readinessChecks, serviceRoutes) => {
      if (readinessChecks) checks = readinessChecks;
      if (serviceRoutes) routes = serviceRoutes;
      if (state === 'starting') state = 'started';
    },
    markFailed: (reason) => {
      state = 'failed';
      failure = reason;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function runChecks(checks: Record<string, ReadinessCheck>, timeoutMs: number): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
