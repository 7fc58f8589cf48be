/**
 * The environment as tests see it, read here so test code elsewhere never touches process.env
 * (Biome's noProcessEnv allows it only in config modules, this package, bench and scripts).
 */

/** The log level tests give the clients and services they start: TEST_LOG_LEVEL, else `fallback` (undefined: not set). */
export function testLogLevel(): string | undefined;
export function testLogLevel(fallback: string): string;
export function testLogLevel(fallback?: string): string | undefined {
  return process.env.TEST_LOG_LEVEL ?? fallback;
}

/** A whole number a long-running test reads from the environment (CRASH_KILLS, CRASH_SEED), else `fallback`. */
export function testNumber(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : Number(value);
}

/** The test process's environment, for a child process that should inherit it (add its own settings on top). */
export function inheritedEnv(): Record<string, string | undefined> {
  return process.env;
}

/** Runs `fn` with some environment variables set (or removed with undefined), then puts them back. */
export function withEnv<T>(values: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (next: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(next)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  try {
    return fn();
  } finally {
    apply(saved);
  }
}

/** The runtime's seeded PRNG, as the tests have always imported it from here. */
export { seededRandom } from '@pipeline/runtime';
