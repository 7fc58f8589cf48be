/**
 * The hostile receivers of `npm run bench -- webhooks-hostile`, in a process of their own so their
 * work (a 100 MB body, 10,000 headers) does not slow the bench's healthy receiver: prints one JSON
 * line `{ kind: url }`, then serves until its stdin closes.
 */
import { HOSTILE_KINDS, HostileReceiver } from '../services/webhook-dispatcher/src/__tests__/hostile-receivers';

async function main(): Promise<void> {
  // BENCH_HOSTILE_KINDS=reset,body-100mb runs only those (to find which one costs what).
  const only = process.env.BENCH_HOSTILE_KINDS?.split(',');
  const kinds = HOSTILE_KINDS.filter((kind) => !only || only.includes(kind));
  const receivers = await Promise.all(kinds.map((kind) => new HostileReceiver(kind).start()));
  process.stdout.write(`${JSON.stringify(Object.fromEntries(receivers.map((r) => [r.kind, r.url])))}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void Promise.all(receivers.map((r) => r.stop())).then(() => process.exit(0)));
}

void main();
