import { readdirSync, readFileSync } from 'node:fs';
import { privateStack, sharedStack } from '@pipeline/testing';
import { descendants, isAlive } from './proc';
import { makeStack } from './stack';

/** PIDs of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

describe('pipeline stack up / down / status', () => {
  it('starts a private stack beside the shared one, reuses it on a second up, and leaves no process after down', async () => {
    const shared = sharedStack();
    const stack = await privateStack();
    try {
      const first = await stack.up();
      expect(first.map((r) => [r.name, r.reused, r.healthy])).toEqual([
        ['postgres', false, true],
        ['kafka', false, true],
        ['ses', false, true],
        ['prometheus', false, true],
      ]);
      const pids = first.map((r) => r.pid);
      expect(pids.every((pid) => typeof pid === 'number' && isAlive(pid))).toBe(true);

      const second = await stack.up();
      expect(second.map((r) => r.reused)).toEqual([true, true, true, true]);
      expect(second.map((r) => r.pid)).toEqual(pids);

      const status = await stack.status();
      expect(status.map((s) => [s.name, s.state, s.port])).toEqual([
        ['postgres', 'running', stack.config.postgres.port],
        ['kafka', 'running', stack.config.kafka.port],
        ['ses', 'running', stack.config.ses.port],
        ['prometheus', 'running', stack.config.prometheus.port],
      ]);
      // The shared stack is untouched by a private one on other ports.
      expect((await shared.status()).map((s) => s.healthy)).toEqual([true, true, true, true]);

      const family = pids.flatMap((pid) => [pid as number, ...descendants(pid as number)]);
      expect(family.length).toBeGreaterThan(3); // PostgreSQL's background processes at least
      const down = await stack.down();
      expect(down.map((d) => d.stopped)).toEqual([true, true, true, true]);
      expect(family.filter(isAlive)).toEqual([]);
      expect(processesMentioning(stack.config.dir)).toEqual([]);
      expect((await stack.status()).map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
      expect((await shared.status()).map((s) => s.healthy)).toEqual([true, true, true, true]);

      // Down again is harmless, and a stopped stack comes back on its data.
      expect((await stack.down()).map((d) => d.stopped)).toEqual([false, false, false, false]);
      const again = await stack.up((r) => expect(r.reused).toBe(false));
      expect(again.every((r) => r.healthy)).toBe(true);
    } finally {
      await stack.destroy();
    }
  }, 180_000);

  it('refuses to start on a port someone else holds, saying which variable moves it', async () => {
    const stack = await privateStack(['ses']);
    // Point the private SES at the shared stack's port, which the shared endpoint holds.
    const busy = { ...stack.config, ses: { port: sharedStack().config.ses.port } };
    try {
      await expect(makeStack(busy, ['ses']).up()).rejects.toThrow(
        new RegExp(`port ${busy.ses.port} \\(SES endpoint\\) is already in use .*set PIPELINE_SES_PORT to a free port`),
      );
    } finally {
      await stack.destroy();
    }
  });
});
