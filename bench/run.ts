/**
 * `npm run bench -- <name…>`: runs the named benchmarks (all when none is named). Figures are
 * printed, never asserted (DEVELOPERS.md: timed assertions make CI flaky).
 */
import { benchCdc } from './cdc';
import { benchE2e } from './e2e';
import { benchInventory } from './inventory';
import { benchOrders } from './orders';
import { benchProjector } from './projector';
import { benchStackUp } from './stack-up';
import { benchWebhooks } from './webhooks';
import { benchWebhooksHostile } from './webhooks-hostile';

const BENCHMARKS: Record<string, { describe: string; run: () => Promise<void> }> = {
  stack: { describe: 'cold, warm and reused `pipeline stack up`', run: () => benchStackUp() },
  cdc: {
    describe:
      'cdc-reader vs its own Kafka producer alone (and pg_recvlogical) on one backlog; steady-state latency; RSS through large transactions',
    run: () => benchCdc(),
  },
  inventory: {
    describe: 'inventory-watcher: changes handled per second, half of them crossing the threshold, beside changes that cross nothing',
    run: () => benchInventory(),
  },
  orders: {
    describe: 'order-processor: a burst of 1,000 orders (stock, invoice PDF, email, confirmation) beside the PDF render rate alone',
    run: () => benchOrders(),
  },
  e2e: {
    describe: 'the whole pipeline under the demo’s traffic for 60 s: commit-to-handled p50/p99 per service beside commit-to-Kafka',
    run: () => benchE2e(),
  },
  projector: {
    describe: 'metrics-projector: live apply rate on a backlog of opportunity changes beside reading the topic alone',
    run: () => benchProjector(),
  },
  webhooks: {
    describe:
      'webhook-dispatcher: deliveries per second to a fast local receiver beside signed POSTs alone; commit-to-receiver p99 at 50/s',
    run: () => benchWebhooks(),
  },
  'webhooks-hostile': {
    describe: 'webhook-dispatcher: a healthy endpoint’s commit-to-receiver p50/p99 at 50/s alone, then beside ten hostile receivers',
    run: () => benchWebhooksHostile(),
  },
};

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !BENCHMARKS[name]);
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown benchmark ${unknown.join(', ')}; choose from:\n${Object.entries(BENCHMARKS)
        .map(([n, b]) => `  ${n.padEnd(8)} ${b.describe}`)
        .join('\n')}\n`,
    );
    process.exit(2);
  }
  for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
    const bench = BENCHMARKS[name];
    if (!bench) continue;
    process.stdout.write(`== ${name}: ${bench.describe}\n`);
    await bench.run();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
