import { privateStack } from '@pipeline/testing';

/**
 * How long the Docker-free stack takes to come up: cold (empty data folder: initdb, Kafka storage
 * format; Maven's cache already holding the jars), warm (data kept, processes stopped), and when
 * everything already runs. Prints seconds; nothing is asserted.
 */
export async function benchStackUp(rounds = 3): Promise<void> {
  const rows: { round: number; cold: number; warm: number; reuse: number; down: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const stack = await privateStack();
    const time = async (fn: () => Promise<unknown>) => {
      const started = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - started) / 1e9;
    };
    try {
      const cold = await time(() => stack.up());
      const reuse = await time(() => stack.up());
      const down = await time(() => stack.down());
      const warm = await time(() => stack.up());
      rows.push({ round, cold, warm, reuse, down });
      process.stdout.write(
        `  round ${round}/${rounds}: cold ${cold.toFixed(2)} s, warm ${warm.toFixed(2)} s, reuse ${reuse.toFixed(2)} s, down ${down.toFixed(2)} s\n`,
      );
    } finally {
      await stack.destroy();
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  process.stdout.write(
    `stack up (median of ${rounds}): cold ${median(rows.map((r) => r.cold)).toFixed(2)} s, ` +
      `warm ${median(rows.map((r) => r.warm)).toFixed(2)} s, already running ${median(rows.map((r) => r.reuse)).toFixed(2)} s, ` +
      `down ${median(rows.map((r) => r.down)).toFixed(2)} s\n`,
  );
}
