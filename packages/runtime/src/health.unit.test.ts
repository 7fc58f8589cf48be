import { Registry } from 'prom-client';
import { startHttpEndpoints } from './health';
import { makeLogger } from './logger';
import { makeMetricsRegistry } from './metrics';

const logger = makeLogger({ service: 'test', level: 'silent' });

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('HTTP endpoints', () => {
  it('serves /healthz at once, /readyz only once started and while every check passes, 503 while draining', async () => {
    let databaseUp = true;
    const endpoints = await startHttpEndpoints({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      logger,
      readinessChecks: {
        database: async () => {
          if (!databaseUp) throw new Error('connection refused');
        },
      },
    });
    try {
      expect(await get(endpoints.port, '/healthz')).toEqual({ status: 200, body: '{"status":"ok"}\n' });
      expect(await get(endpoints.port, '/readyz')).toEqual({ status: 503, body: '{"status":"starting"}\n' });
      endpoints.markStarted();
      expect(JSON.parse((await get(endpoints.port, '/readyz')).body)).toEqual({ status: 'ready', checks: { database: 'ok' } });
      databaseUp = false;
      const down = await get(endpoints.port, '/readyz');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toEqual({ status: 'not ready', checks: { database: 'connection refused' } });
      databaseUp = true;
      endpoints.markDraining();
      expect((await get(endpoints.port, '/readyz')).status).toBe(503);
      expect((await get(endpoints.port, '/nope')).status).toBe(404);
    } finally {
      await endpoints.close();
    }
  });

  it('serves a service’s own routes once it has started, and only GET', async () => {
    const endpoints = await startHttpEndpoints({ host: '127.0.0.1', port: 0, registry: new Registry(), logger });
    try {
      expect((await get(endpoints.port, '/invoices/x.pdf')).status).toBe(404);
      endpoints.markStarted(undefined, [
        {
          prefix: '/invoices/',
          handle: async (_request, response, url) => {
            response.writeHead(200, { 'content-type': 'text/plain' });
            response.end(`${url.pathname} ${url.searchParams.get('a')}`);
          },
        },
      ]);
      expect(await get(endpoints.port, '/invoices/x.pdf?a=1')).toEqual({ status: 200, body: '/invoices/x.pdf 1' });
      expect((await fetch(`http://127.0.0.1:${endpoints.port}/invoices/x.pdf`, { method: 'POST' })).status).toBe(405);
      expect(JSON.parse((await get(endpoints.port, '/other')).body)).toEqual({
        error: 'not found',
        endpoints: ['/healthz', '/readyz', '/metrics', '/invoices/…'],
      });
    } finally {
      await endpoints.close();
    }
  });

  it('reports a check that does not answer in time', async () => {
    const endpoints = await startHttpEndpoints({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      logger,
      checkTimeoutMs: 50,
      readinessChecks: { kafka: () => new Promise(() => undefined) },
    });
    try {
      endpoints.markStarted();
      const response = await get(endpoints.port, '/readyz');
      expect(response.status).toBe(503);
      expect(JSON.parse(response.body).checks).toEqual({ kafka: 'no answer within 50 ms' });
    } finally {
      await endpoints.close();
    }
  });

  it('serves Prometheus metrics with Node defaults and the service label', async () => {
    const endpoints = await startHttpEndpoints({ host: '127.0.0.1', port: 0, registry: makeMetricsRegistry('svc-a'), logger });
    try {
      const { status, body } = await get(endpoints.port, '/metrics');
      expect(status).toBe(200);
      expect(body).toMatch(/^process_cpu_user_seconds_total\{service="svc-a"\} /m);
      expect(body).toContain('nodejs_eventloop_lag_seconds');
    } finally {
      await endpoints.close();
    }
  });

  it('says which variable to change when its port is taken', async () => {
    const first = await startHttpEndpoints({ host: '127.0.0.1', port: 0, registry: new Registry(), logger });
    try {
      await expect(startHttpEndpoints({ host: '127.0.0.1', port: first.port, registry: new Registry(), logger })).rejects.toThrow(
        `HTTP_PORT ${first.port} on 127.0.0.1 is already in use: stop the other process or set HTTP_PORT to a free port`,
      );
    } finally {
      await first.close();
    }
  });
});
