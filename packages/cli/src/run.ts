import { processSecrets } from '@pipeline/runtime';
import { processEnv } from './env';
import { CliError } from './output';
import { buildProgram } from './program';

// Nothing this command prints carries a secret setting's value or a URL's password: every write
// to stdout and stderr (its own lines, and the services' lines \`pipeline start\` relays) is scrubbed.
processSecrets.addSettings(processEnv());
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  // biome-ignore lint/suspicious/noExplicitAny: write is overloaded (chunk, encoding?, callback?); every overload passes through.
  (stream as any).write = (chunk: unknown, ...rest: unknown[]) =>
    write(typeof chunk === 'string' ? processSecrets.scrub(chunk) : chunk, ...rest);
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pipeline: ${message}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  });
