import { resolve } from 'node:path';
import { findRepoRoot } from '@pipeline/stack';
import { Command } from 'commander';
import { buildBundle } from '../bundle/bundle';
import { formatBytes, printJson } from '../output';

export function bundleCommand(): Command {
  return new Command('bundle')
    .description(
      'Build a deployable folder of one service: its built code, templates and production dependencies only, no symbolic link; ' +
        'it starts anywhere with `npm start` (node dist/main.js) and configuration from the environment. Run `npm run build` first',
    )
    .argument('[service-dir]', 'the service’s folder (default: the current one, as `npm run bundle -w services/<name>` runs it)', '.')
    .option('--out <dir>', 'where to build it (emptied first; default: <service-dir>/bundle)')
    .option('--json', 'print the result as JSON')
    .action((serviceDir: string, options: { out?: string; json?: boolean }) => {
      const dir = resolve(serviceDir);
      const result = buildBundle({ repoRoot: findRepoRoot(dir), serviceDir: dir, outDir: resolve(options.out ?? `${dir}/bundle`) });
      if (options.json) {
        printJson({ ...result, packages: result.packages.map((p) => ({ name: p.name, target: p.target })) });
        return;
      }
      process.stdout.write(
        `bundled ${result.service} into ${result.dir}: ${result.packages.length - 1} packages, ${result.files} files, ${formatBytes(result.bytes)}\n` +
          `start it there with \`${result.start.join(' ')}\` (or npm start), configured by environment variables\n`,
      );
    });
}
