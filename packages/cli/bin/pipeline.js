#!/usr/bin/env node

// The compiled CLI; `npm ci` builds it (root "prepare" script), `npm run build` rebuilds it.
try {
  require.resolve('../dist/run.js');
} catch {
  process.stderr.write('pipeline: the CLI is not built: run `npm run build` in the checkout\n');
  process.exit(1);
}
require('../dist/run.js');
