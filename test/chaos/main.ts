import { join } from 'node:path';
import { inheritedEnv } from '@pipeline/testing';
import { Command, InvalidArgumentError } from 'commander';
import { describeCounts, runChaos } from './run';
import { SWITCHES } from './switches';

/**
 * `npm run chaos -- [--minutes 10] [--seed N]`: one whole-pipeline chaos run (docs/reliability.md).
 * Exits 0 when every invariant held, 1 when one did not (the first violations, the seed and the
 * fault log are printed and saved).
 */

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} expects a positive number (got ${JSON.stringify(value)})`);
  return n;
};

const program = new Command('chaos')
  .description('Runs the whole pipeline on a private stack under a seeded fault schedule, then checks every invariant')
  .option('--minutes <n>', 'how long the workload runs and faults come', positive('--minutes'), 10)
  .option('--seed <n>', 'the fault schedule and workload (default: random; a failing run prints its seed)', positive('--seed'))
  .option('--rate <n>', 'workload actions per second', positive('--rate'), 5)
  .option(
    '--quiet-timeout <seconds>',
    'how long the pipeline may take to become quiet after the last fault',
    positive('--quiet-timeout'),
    240,
  )
  .option(
    '--restart-gap <seconds>',
    'server restarts at least this far apart (default 45; shorter for short runs)',
    positive('--restart-gap'),
  )
  .option('--log-level <level>', "the services' LOG_LEVEL", 'info')
  .option('--break <switch>', 'preload a breaking switch into the services (test/chaos/switches): the run must then fail its invariant')
  .option('--out <dir>', 'where result.json, faults.log and services.log go (default: chaos-runs/<seed>-<time>)')
  .action(async (options: CliOptions) => {
    const seed = Math.floor(options.seed ?? Math.random() * 1_000_000);
    const outDir = options.out ?? join(process.cwd(), 'chaos-runs', `${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const started = Date.now();
    const result = await runChaos({
      seed,
      durationMs: Math.round(options.minutes * 60_000),
      rate: options.rate,
      quietTimeoutMs: options.quietTimeout * 1000,
      outDir,
      logLevel: options.logLevel,
      ...(options.restartGap ? { restartGapMs: options.restartGap * 1000 } : {}),
      ...(options.break ? { serviceEnv: breakingSwitch(options.break) } : {}),
      say: (line) => process.stdout.write(`${line}\n`),
    });
    const say = (line: string) => process.stdout.write(`${line}\n`);
    say('');
    if (options.break)
      say(
        `breaking switch: ${options.break} (${SWITCHES[options.break]?.what}); it must make "${SWITCHES[options.break]?.invariant}" fail`,
      );
    say(`chaos run, seed ${result.seed}: ${result.passed ? 'PASSED' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
    say(
      `  faults carried out: ${describeCounts(result.carriedOut)}${result.skippedFaults.length > 0 ? `; did not happen: ${result.skippedFaults.join('; ')}` : ''}`,
    );
    say(
      `  ${result.events} events captured in ${result.transactions} transactions; ${result.orders} orders ` +
        `(${result.asked.cancel} cancelled, ${result.asked.ship} shipped; ${result.asked.restock} restocks); ` +
        `${result.workloadSteps} workload actions (${result.workloadFailures} failed: ${Object.keys(result.workloadFailureKinds).slice(0, 3).join('; ') || 'none'})`,
    );
    say(`  sends cut off between SES and the ledger (EFFECT_UNRECORDED, for a person): ${result.sendsCutOff}`);
    say(`  quiet ${result.quietAfterS === null ? 'never' : `${result.quietAfterS} s`} after the last fault`);
    for (const invariant of result.invariants) {
      say(`  ${invariant.violations.length === 0 ? 'ok  ' : 'FAIL'} ${invariant.name}`);
      for (const violation of invariant.violations) say(`         ${violation}`);
    }
    say(`  result, fault log and service logs: ${result.dir}`);
    if (!result.passed) say(`  replay: npm run chaos -- --seed ${result.seed} --minutes ${result.minutes}`);
    process.exitCode = result.passed ? 0 : 1;
  });

/** The services' environment for a breaking switch: the preload, and which switch. */
function breakingSwitch(name: string): Record<string, string> {
  const known = Object.keys(SWITCHES);
  if (!known.includes(name)) throw new InvalidArgumentError(`--break expects one of ${known.join(', ')} (got ${JSON.stringify(name)})`);
  const preload = join(__dirname, 'switches', 'preload.cjs');
  return { CHAOS_BREAK: name, NODE_OPTIONS: `${inheritedEnv().NODE_OPTIONS ?? ''} --require ${preload}`.trim() };
}

interface CliOptions {
  break?: string;
  minutes: number;
  seed?: number;
  rate: number;
  quietTimeout: number;
  restartGap?: number;
  logLevel: string;
  out?: string;
}

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`chaos: ${error.stack ?? error.message}\n`);
  process.exit(2);
});
