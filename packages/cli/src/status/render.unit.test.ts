import type { PipelineStatus } from './collect';
import { renderStatus } from './render';

describe('renderStatus', () => {
  it('puts the activity, each service with its lag, dead letters and rate, the groups, slots and jobs on one screen', () => {
    const status: PipelineStatus = {
      at: '2026-12-03T12:00:00.000Z',
      services: [
        { name: 'cdc-reader', url: 'http://127.0.0.1:9101', state: 'ready' },
        { name: 'order-processor', url: 'http://127.0.0.1:9102', state: 'up', reason: 'consumer: waiting for topic cdc.public.orders' },
        { name: 'inventory-watcher', url: 'http://127.0.0.1:9103', state: 'down' },
      ],
      consumerGroups: [
        {
          group: 'order-processor',
          service: 'order-processor',
          lag: 7,
          partitions: [{ topic: 'cdc.public.orders', partition: 1, committed: '3', end: '10', lag: 7 }],
        },
      ],
      slots: [{ slot: 'pipeline_cdc', active: true, lagBytes: 1_500, retainedBytes: 2_000_000, walStatus: 'reserved' }],
      deadLetters: [{ service: 'order-processor', group: 'order-processor', open: 2, total: 3 }],
      jobs: [
        { service: 'inventory-watcher', job: 'daily-check', lastRunAt: null, lastOutcome: null, nextRunAt: '2026-12-04T08:00:00.000Z' },
      ],
      throughput: [{ service: 'order-processor', eventsPerSecond: 1.5, handled: 90, windowSeconds: 60 }],
      activity: {
        ordersByStatus: { confirmed: 3, on_hold: 1 },
        emailsSent: 3,
        invoices: 3,
        reorderTasksOpen: 1,
        reorderTasksTotal: 2,
        dealsWon: 1,
        dealsLost: 2,
        revenueClosed: '1500.00',
      },
    };
    const screen = renderStatus(status);
    expect(screen).toContain('orders: 3 confirmed, 1 on_hold; invoices 3; confirmation emails sent 3');
    expect(screen).toContain('reorder tasks: 1 open of 2; deals won 1, lost 2, revenue closed 1500.00');
    expect(screen).toMatch(
      /order-processor +up, not ready: consumer: waiting for topic cdc\.public\.orders +7 +2 +1\.5 +http:\/\/127\.0\.0\.1:9102/,
    );
    expect(screen).toMatch(/inventory-watcher +down/);
    expect(screen).toContain('cdc.public.orders[1] 7');
    expect(screen).toMatch(/pipeline_cdc +yes +1\.5 kB +2\.0 MB +reserved/);
    expect(screen).toMatch(/inventory-watcher\/daily-check +never +2026-12-04T08:00:00\.000Z/);
  });
});
