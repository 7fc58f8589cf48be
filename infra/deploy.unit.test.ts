import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { buildBundle } from '../packages/cli/src/bundle/bundle';
import { SERVICES } from '../packages/cli/src/services';
import { HTTP_PORTS } from '../packages/kit/src/ports';
import { configSchema as cdcReader } from '../services/cdc-reader/src/config';
import { configSchema as inventoryWatcher } from '../services/inventory-watcher/src/config';
import { configSchema as metricsProjector } from '../services/metrics-projector/src/config';
import { configSchema as orderProcessor } from '../services/order-processor/src/config';
import { configSchema as webhookDispatcher } from '../services/webhook-dispatcher/src/config';
import { serviceDockerfile, workspaces } from './docker/dockerfiles';

/** A config schema's fields, as far as this test reads them: does the field accept "unset"? */
type Shape = Record<string, { safeParse(value: unknown): { success: boolean } }>;
const SCHEMAS: Record<string, Shape> = {
  'cdc-reader': (cdcReader as unknown as { shape: Shape }).shape,
  'order-processor': (orderProcessor as unknown as { shape: Shape }).shape,
  'inventory-watcher': (inventoryWatcher as unknown as { shape: Shape }).shape,
  'metrics-projector': (metricsProjector as unknown as { shape: Shape }).shape,
  'webhook-dispatcher': (webhookDispatcher as unknown as { shape: Shape }).shape,
};

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}

const repoRoot = resolve(__dirname, '..');
const composeFile = join(repoRoot, 'infra', 'docker-compose.yml');
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = Object.entries(compose.services);

/** A Dockerfile read as stages of instructions (continuation lines joined). */
function dockerfile(path: string): { from: string; lines: string[] }[] {
  const text = readFileSync(path, 'utf8').replace(/\\\n\s*/g, ' ');
  const stages: { from: string; lines: string[] }[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    if (/^FROM\s/i.test(line)) stages.push({ from: line, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

/** `ENV A=1 B=2` of a stage, as a map. */
function stageEnv(lines: string[]): Record<string, string> {
  return Object.fromEntries(
    lines.filter((l) => /^ENV\s/i.test(l)).flatMap((l) => [...l.slice(4).matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])),
  );
}

/** An exact version tag: no `latest`, no bare major (`node:20`), a digest welcome. */
function pinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== 'latest' && /^v?\d+\.\d+(\.\d+)?([-.][\w.-]+)?$/.test(tag);
}

/** Every service folder of the checkout (the supervised ones and any not yet in the CLI's list). */
const SERVICE_DIRS = readdirSync(join(repoRoot, 'services')).filter((d) => existsSync(join(repoRoot, 'services', d, 'package.json')));

/** Every workspace folder: npm ci in an image's build stage needs each one's package.json. */
const WORKSPACES = workspaces(repoRoot);

const serviceOf = (entry: ComposeService): string | undefined => /^services\/([^/]+)\/Dockerfile$/.exec(entry.build?.dockerfile ?? '')?.[1];

describe('infra/docker-compose.yml, checked without Docker', () => {
  it('runs every service of the CLI’s list, with the infrastructure, init, Prometheus and Grafana', () => {
    const names = services.map(([name]) => name);
    for (const name of [...SERVICES.map((s) => s.name), ...SERVICE_DIRS]) expect(names).toContain(name);
    expect(names).toEqual(expect.arrayContaining(['postgres', 'kafka', 'ses', 'init', 'prometheus', 'grafana']));
  });

  it('gives every service a healthcheck and a restart policy (a one-shot: its completion, and restart on failure)', () => {
    for (const [name, entry] of services) {
      expect([name, typeof entry.restart]).toEqual([name, 'string']);
      if (entry.healthcheck?.disable) {
        expect([name, entry.restart]).toEqual([name, 'on-failure']);
        const waiting = services.filter(([, other]) => other.depends_on?.[name]);
        expect(waiting.length).toBeGreaterThan(0);
        for (const [, other] of waiting) expect(other.depends_on?.[name]?.condition).toBe('service_completed_successfully');
      } else {
        expect([name, Array.isArray(entry.healthcheck?.test) && (entry.healthcheck?.test?.length ?? 0) > 1]).toEqual([name, true]);
      }
    }
  });

  it('waits on healthy (or completed) dependencies only, and every one exists', () => {
    for (const [name, entry] of services) {
      for (const [dependency, { condition }] of Object.entries(entry.depends_on ?? {})) {
        expect([name, dependency, dependency in compose.services]).toEqual([name, dependency, true]);
        expect([name, dependency, ['service_healthy', 'service_completed_successfully'].includes(condition)]).toEqual([
          name,
          dependency,
          true,
        ]);
      }
    }
  });

  it('sets only variables a service’s config schema knows, and every variable it requires', () => {
    for (const [name, entry] of services) {
      const service = serviceOf(entry);
      if (!service) continue;
      const shape = SCHEMAS[service] as Shape;
      const set = Object.keys(entry.environment ?? {});
      expect([name, set.filter((key) => !(key in shape))]).toEqual([name, []]);
      const image = stageEnv(dockerfile(join(repoRoot, entry.build?.dockerfile as string)).at(-1)?.lines ?? []);
      const required = Object.keys(shape).filter((key) => !shape[key]?.safeParse(undefined).success);
      expect([name, required.filter((key) => !set.includes(key) && !(key in image))]).toEqual([name, []]);
    }
  });

  it('publishes no host port twice, on loopback only', () => {
    const hostPorts = services.flatMap(([, entry]) => (entry.ports ?? []).map((p) => p.split(':').slice(0, -1)));
    for (const published of hostPorts) expect(published[0]).toBe('127.0.0.1');
    const ports = hostPorts.map((p) => p.at(-1));
    expect(ports).toEqual([...new Set(ports)]);
  });

  it('uses exact image tags only, in the compose file and every Dockerfile', () => {
    for (const [name, entry] of services) expect([name, entry.image, pinned(entry.image ?? '')]).toEqual([name, entry.image, true]);
    const dockerfiles = [...new Set(services.flatMap(([, e]) => (e.build ? [e.build.dockerfile] : [])))];
    expect(dockerfiles.sort()).toEqual(['infra/ses/Dockerfile', ...SERVICE_DIRS.map((d) => `services/${d}/Dockerfile`)].sort());
    for (const file of dockerfiles) {
      for (const stage of dockerfile(join(repoRoot, file))) {
        const image = stage.from.split(/\s+/)[1] as string;
        expect([file, image, pinned(image)]).toEqual([file, image, true]);
      }
    }
  });

  it('mounts Prometheus and Grafana files that exist, and a Prometheus configuration promtool accepts', () => {
    for (const [name, entry] of services) {
      for (const volume of entry.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (source.startsWith('.')) expect([name, source, existsSync(join(repoRoot, 'infra', source))]).toEqual([name, source, true]);
      }
    }
    expect(compose.services.prometheus?.volumes).toEqual(expect.arrayContaining(['./prometheus/rules:/etc/prometheus/rules:ro']));
    expect(compose.services.grafana?.volumes).toEqual(
      expect.arrayContaining(['./grafana/dashboards:/var/lib/grafana/dashboards/pipeline:ro']),
    );
    const checked = spawnSync('promtool', ['check', 'config', join(repoRoot, 'infra', 'prometheus', 'compose.yml')], { encoding: 'utf8' });
    if (checked.error) throw new Error(`promtool not found: apt-get install --no-install-recommends prometheus (${checked.error.message})`);
    expect([checked.status, `${checked.stdout}${checked.stderr}`]).toEqual([0, expect.stringContaining('11 rules found')]);
  });
});

describe('the services’ Dockerfiles', () => {
  const outside = mkdtempSync(join(tmpdir(), 'pipeline-dockerfile-bundles-'));

  it.each(SERVICE_DIRS)(
    '%s: multi-stage, the bundle alone in the final stage, non-root, /readyz healthcheck, node as PID 1, HTTP_HOST=0.0.0.0',
    (name) => {
      // Generated from the one template (npm run dockerfiles:generate), so the services' images cannot drift apart.
      const port = HTTP_PORTS[name as keyof typeof HTTP_PORTS];
      expect(readFileSync(join(repoRoot, 'services', name, 'Dockerfile'), 'utf8')).toBe(serviceDockerfile(repoRoot, name, port));
      const stages = dockerfile(join(repoRoot, 'services', name, 'Dockerfile'));
      expect(stages.length).toBeGreaterThanOrEqual(2);
      const build = stages[0] as { from: string; lines: string[] };
      const final = stages.at(-1) as { from: string; lines: string[] };
      const buildName = / AS (\w+)$/i.exec(build.from)?.[1];
      expect(build.lines.some((l) => l.includes(`bundle services/${name} --out /bundle`))).toBe(true);
      // npm ci installs from the lock file, which names every workspace: each one's manifest must be there first.
      const install = build.lines.findIndex((l) => l.startsWith('RUN npm ci'));
      const manifests = build.lines.slice(0, install).filter((l) => l.startsWith('COPY ') && l.includes('package.json'));
      for (const workspace of WORKSPACES)
        expect([name, workspace, manifests.includes(`COPY ${workspace}/package.json ${workspace}/`)]).toEqual([name, workspace, true]);
      // The final stage copies the bundle and nothing else.
      const copies = final.lines.filter((l) => /^(COPY|ADD)\s/i.test(l));
      expect(copies).toEqual([`COPY --from=${buildName} --chown=node:node /bundle/ ./`]);
      expect(final.lines.filter((l) => /^USER\s/i.test(l)).at(-1)).toBe('USER node');
      expect(final.lines.find((l) => /^HEALTHCHECK\s/i.test(l))).toContain('/readyz');
      expect(stageEnv(final.lines).HTTP_HOST).toBe('0.0.0.0');
      // Exec form: node itself gets SIGTERM, no shell in between; and it starts a file the bundle holds.
      const cmd = final.lines.filter((l) => /^CMD\s/i.test(l)).at(-1) as string;
      const argv = JSON.parse(cmd.slice(4)) as string[];
      expect(argv[0]).toBe('node');
      expect(final.lines.some((l) => /^ENTRYPOINT\s/i.test(l))).toBe(false);
      const bundle = buildBundle({ repoRoot, serviceDir: join(repoRoot, 'services', name), outDir: join(outside, name) });
      expect(existsSync(join(bundle.dir, argv[1] as string))).toBe(true);
      expect(['node', argv[1]]).toEqual(bundle.start);
    },
  );
});
