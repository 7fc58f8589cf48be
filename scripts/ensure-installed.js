#!/usr/bin/env node
// Runs before `npm start` and `npm test` so the quickstart is two commands on a fresh clone:
// installs the workspaces (`npm ci`, which also builds them) when node_modules is missing or older
// than package-lock.json, and builds when a compiled entry point is missing. Plain JavaScript on
// purpose: it must run before any dependency exists.

const { existsSync, statSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const installedMarker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

function run(args) {
  process.stdout.write(`> npm ${args.join(' ')}\n`);
  const result = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`npm ${args.join(' ')} failed (exit ${result.status}); fix the error above and run again\n`);
    process.exit(result.status ?? 1);
  }
}

const stale = !existsSync(installedMarker) || statSync(installedMarker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  run(['ci', '--no-audit', '--no-fund']);
} else if (!existsSync(join(root, 'packages', 'cli', 'dist', 'run.js'))) {
  run(['run', 'build']);
}
