import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** What one service's image adds to the common template (after the bundle is copied). */
const EXTRA: Record<string, string> = {
  'order-processor':
    '# Invoices are kept here (INVOICE_STORE_DIR): mount a volume on it.\n' +
    'RUN mkdir -p /data/invoices && chown node:node /data/invoices\n' +
    'ENV INVOICE_STORE_DIR=/data/invoices\n',
};

/** Every workspace folder, whose manifests the build stage copies before `npm ci` (the lock names them all). */
export function workspaces(repoRoot: string): string[] {
  return [
    'schemas',
    ...['packages', 'services'].flatMap((top) =>
      readdirSync(join(repoRoot, top))
        .sort()
        .map((d) => `${top}/${d}`),
    ),
  ].filter((w) => existsSync(join(repoRoot, w, 'package.json')));
}

/**
 * A service's Dockerfile, from the one template every service shares (generated, so the five
 * cannot drift apart: `npm run dockerfiles:generate`; infra/deploy.unit.test.ts compares).
 */
export function serviceDockerfile(repoRoot: string, name: string, port: number): string {
  const manifests = workspaces(repoRoot)
    .map((w) => `COPY ${w}/package.json ${w}/\n`)
    .join('');
  const extra = EXTRA[name] ?? '';
  return `# syntax=docker/dockerfile:1
# The ${name} image. Build it from the repository root:
#   docker build -f services/${name}/Dockerfile -t wal-event-pipeline/${name}:0.1.0 .
# Base images are pinned to exact tags; docs/deploy.md says how to pin their digests as well.

# Build: install every workspace, compile, and bundle this service (its code and production
# dependencies only, no symbolic links: \`pipeline bundle\`).
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
# The manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
${manifests}# No install scripts: nothing here needs them (the local stack's PostgreSQL binaries are not used).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && node packages/cli/bin/pipeline.js bundle services/${name} --out /bundle

# Run: the bundle alone, as an unprivileged user; node is PID 1 and receives SIGTERM itself
# (exec form, no shell in between), so it finishes its in-flight work and leaves cleanly.
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production HTTP_HOST=0.0.0.0 HTTP_PORT=${port}
WORKDIR /app
COPY --from=build --chown=node:node /bundle/ ./
${extra}USER node
EXPOSE ${port}
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \\
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HTTP_PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
`;
}
