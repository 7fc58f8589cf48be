/**
 * Breaking switches for the chaos run (issue 27): each one removes the guarantee behind one
 * invariant, so a chaos run with it must report that invariant. Test code only: the chaos harness
 * preloads this file into the services with `--require` (`npm run chaos -- --break <name>`); no
 * service's build, bundle or image contains it.
 *
 * A switch patches a module's exports as they are loaded (the compiled services call their own and
 * the packages' functions through the exports object, so a patched export is what they call) or
 * rewrites one SQL statement on its way to PostgreSQL.
 */
'use strict';
const Module = require('node:module');
const path = require('node:path');

// biome-ignore lint/style/noProcessEnv: a preload reads its setting before any configuration module is loaded.
const env = process.env;
const chosen = env.CHAOS_BREAK;
const service = /services[\\/]([^\\/]+)[\\/]dist[\\/]main\.js$/.exec(process.argv[1] ?? '')?.[1];

/** @type {Record<string, { service: string; invariant: string; what: string; install: () => void }>} */
const SWITCHES = {
  'ack-before-effect': {
    service: 'order-processor',
    invariant: 'orders settled',
    what: 'the order-processor acknowledges a new order before it is worked on (the work runs a moment later, if the process still lives)',
    install: () =>
      patchExports('services/order-processor/dist/processor.js', (exports) => {
        const newOrder = exports.OrderProcessor.prototype.newOrder;
        exports.OrderProcessor.prototype.newOrder = function (orderId, ctx) {
          setTimeout(() => newOrder.call(this, orderId, ctx).catch(() => undefined), 1_500);
          return Promise.resolve('processed');
        };
      }),
  },
  'skip-effect-ledger': {
    service: 'order-processor',
    invariant: 'one email per order and kind',
    what: 'effects are performed without the ledger: a redelivered order sends its email again',
    install: () =>
      patchExports('packages/db/dist/effects.js', (exports) => {
        exports.performEffect = async (_pool, _spec, perform) => {
          const done = await perform();
          return { status: 'performed', providerRef: done.providerRef };
        };
      }),
  },
  'reserve-without-guard': {
    service: 'order-processor',
    invariant: 'stock balances',
    what: 'stock is reserved without looking for the order’s earlier reservation: a redelivered order takes its stock twice',
    install: () =>
      patchExports('services/order-processor/dist/stock.js', (exports) => {
        const reserveStock = exports.reserveStock;
        exports.reserveStock = async (client, orderId, items) => {
          const { rows } = await client.query('DELETE FROM stock_reservations WHERE order_id = $1 RETURNING 1', [orderId]);
          // The earlier reservation's rows are forgotten (its stock stays taken), so this one takes it again.
          void rows;
          return reserveStock(client, orderId, items);
        };
      }),
  },
  'never-close-tasks': {
    service: 'inventory-watcher',
    invariant: 'reorder tasks',
    what: 'a restock never closes the item’s reorder task',
    install: () =>
      patchExports('services/inventory-watcher/dist/intent.js', (exports) => {
        const intentOf = exports.intentOf;
        exports.intentOf = (change) => {
          const intent = intentOf(change);
          return intent.kind === 'item' && intent.request.intent === 'close' ? { kind: 'nothing', why: 'chaos switch' } : intent;
        };
      }),
  },
  'projection-replays': {
    service: 'metrics-projector',
    invariant: 'metrics equal SQL',
    what: 'the projection forgets what it applied (no checkpoint, no event ids, no positions, a transition keyed by its transaction): a redelivered change is counted again',
    install: () => {
      patchExports('services/metrics-projector/dist/apply.js', (exports) => {
        exports.isOlder = () => false;
      });
      rewriteSql([
        [
          /FROM projection_checkpoints\s+WHERE projection = \$1 AND topic = \$2 AND "partition" = \$3 FOR UPDATE/,
          (sql) => sql.replace('WHERE projection', 'WHERE false AND projection'),
        ],
        [/WHERE id NOT IN \(SELECT event_id FROM inserted\)/, (sql) => sql.replace('WHERE id NOT IN', 'WHERE false AND id NOT IN')],
        [
          /INSERT INTO stage_transitions/,
          (sql) => sql.replace('owner, at, "eventId"', 'owner, at, "eventId" || \':\' || txid_current()::text'),
        ],
      ]);
    },
  },
  'failure-is-delivery': {
    service: 'webhook-dispatcher',
    invariant: 'webhooks complete and in order',
    what: 'a failed webhook attempt is settled as delivered',
    install: () =>
      patchExports('packages/webhooks/dist/outcome.js', (exports) => {
        const judgeAttempt = exports.judgeAttempt;
        exports.judgeAttempt = (outcome, nowMs, maxDelayMs) => {
          const judged = judgeAttempt(outcome, nowMs, maxDelayMs);
          return judged.verdict.kind === 'delivered' ? judged : { ...judged, verdict: { kind: 'delivered' }, failure: undefined };
        };
      }),
  },
  'resume-at-current-wal': {
    service: 'cdc-reader',
    invariant: 'capture complete',
    what: 'the reader resumes from where the WAL is now, not from its slot’s confirmed position: what was committed while it was away is skipped',
    install: () =>
      patchExports('node_modules/pg-logical-replication/dist/logical-replication-service.js', (exports) => {
        const pg = require(require.resolve('pg', { paths: [path.dirname(process.argv[1] ?? '.')] }));
        const subscribe = exports.LogicalReplicationService.prototype.subscribe;
        exports.LogicalReplicationService.prototype.subscribe = async function (plugin, slot, lsn) {
          const { replication: _replication, ...plain } = this.clientConfig;
          const client = new pg.Client(plain);
          client.on('error', () => undefined);
          try {
            await client.connect();
            await client.query('SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())', [slot]);
          } catch {
            // The slot is busy or the server away: this session resumes correctly, the next one may not.
          } finally {
            await client.end().catch(() => undefined);
          }
          return subscribe.call(this, plugin, slot, lsn);
        };
      }),
  },
  'throttling-is-permanent': {
    service: 'order-processor',
    invariant: 'no dead letters',
    what: 'SES throttling is taken for a permanent refusal: the order goes to the dead-letter topic instead of the retry ladder',
    install: () =>
      patchExports('services/order-processor/dist/ses.js', (exports) => {
        const send = exports.SesSender.prototype.send;
        exports.SesSender.prototype.send = async function (...args) {
          try {
            return await send.apply(this, args);
          } catch (error) {
            if (/Throttling/.test(String(error?.message))) Object.defineProperty(error, 'retriable', { value: false });
            throw error;
          }
        };
      }),
  },
  'unhandled-rejection': {
    service: 'inventory-watcher',
    invariant: 'no fatal lines',
    what: 'a promise nobody awaits rejects 30 s after the watcher starts (once per run)',
    install: () =>
      onceAfter(30_000, 'unhandled-rejection', () => void Promise.reject(new Error('chaos switch: a rejection nobody handles'))),
  },
  'exit-on-database-restart': {
    service: 'webhook-dispatcher',
    invariant: 'only scheduled exits',
    what: 'the dispatcher exits (code 1) when an idle database connection is cut, as a PostgreSQL restart does',
    install: () =>
      patchExports('packages/db/dist/pool.js', (exports) => {
        const makePool = exports.makePool;
        exports.makePool = (options, onError) =>
          makePool(options, (error) => {
            onError?.(error);
            process.exit(1);
          });
      }),
  },
};

const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** Calls `patch(exports)` once, when the module at `relative` (from the repository root) is first loaded. */
function patchExports(relative, patch) {
  const target = path.join(repoRoot, relative);
  const load = Module._load;
  let done = false;
  Module._load = function (request, parent, isMain) {
    const loaded = load.apply(this, [request, parent, isMain]);
    if (!done) {
      let filename;
      try {
        filename = Module._resolveFilename(request, parent, isMain);
      } catch {
        filename = undefined;
      }
      if (filename === target) {
        done = true;
        patch(loaded);
      }
    }
    return loaded;
  };
}

/** Rewrites the SQL statements matching each pattern before pg sends them. */
function rewriteSql(rules) {
  patchExports('node_modules/pg/lib/client.js', (Client) => {
    const query = Client.prototype.query;
    Client.prototype.query = function (config, ...rest) {
      const text = typeof config === 'string' ? config : config?.text;
      if (typeof text === 'string') {
        for (const [pattern, rewrite] of rules) {
          if (!pattern.test(text)) continue;
          const rewritten = rewrite(text);
          return query.call(this, typeof config === 'string' ? rewritten : { ...config, text: rewritten }, ...rest);
        }
      }
      return query.call(this, config, ...rest);
    };
  });
}

/** Runs `act` once per chaos run (a marker file in the run's folder), `ms` after this process started. */
function onceAfter(ms, name, act) {
  const fs = require('node:fs');
  const marker = path.join(env.PIPELINE_STACK_DIR ?? require('node:os').tmpdir(), `chaos-switch-${name}`);
  if (fs.existsSync(marker)) return;
  setTimeout(() => {
    if (fs.existsSync(marker)) return;
    fs.writeFileSync(marker, String(process.pid));
    act();
  }, ms).unref();
}

if (chosen && service) {
  const found = SWITCHES[chosen];
  if (!found) throw new Error(`CHAOS_BREAK=${chosen}: no such switch (${Object.keys(SWITCHES).join(', ')})`);
  if (found.service === service) {
    process.stderr.write(`${JSON.stringify({ level: 'warn', service, msg: `chaos switch ${chosen} is on: ${found.what}` })}\n`);
    found.install();
  }
}

module.exports = { SWITCHES };
