import { CliError } from './output';
import { buildProgram } from './program';

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pipeline: ${message}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  });
