import { READER_ROLE } from '@pipeline/db';
import { makeStack, stackConfigFromEnv, writeScrapeTargets } from '@pipeline/stack';
import { Command } from 'commander';
import { demoThenStatus } from '../demo/on-start';
import { cliEnv, processEnv } from '../env';
import { localOrderProcessorEnv, localWebhookSecretsKey } from '../local-secrets';
import { CliError, formatDuration, positiveNumber } from '../output';
import { SERVICES, type ServiceName, STANDBY_READER, serviceEntryPoint, servicePorts, standbyReaderPort } from '../services';
import { logOutput } from '../supervisor/log-output';
import { waitUntilReady } from '../supervisor/readiness';
import { Supervisor } from '../supervisor/supervisor';
import { runMigrations } from './migrate';

/** The same server and database, another user. */
function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

/** Signals this close together are one Ctrl-C (npm forwards the terminal's to its script, which got it too). */
const SAME_SIGNAL_MS = 1_000;

/** How long `start` waits for the cdc-reader (which creates the topics) before starting the consumers anyway. */
const READER_READY_TIMEOUT_MS = 120_000;

export function startCommand(): Command {
  return new Command('start')
    .description(
      'Bring the local stack up if needed, migrate, run the cdc-reader and then every consumer service, restarting any that crashes, until Ctrl-C',
    )
    .option('--json', 'write JSON log lines even on a terminal (piped output is JSON anyway)')
    .option('--no-demo', 'no demo traffic once the services are ready (there is none unless the stack is the local one)')
    .option('--demo-seconds <n>', 'how long the demo writes', '20')
    .option('--demo-rate <n>', 'the demo’s actions per second', '5')
    .option('--demo-seed <n>', 'the same seed, the same demo traffic (default: random)')
    .option('--status-every <seconds>', 'print the status this often; 0: never', '10')
    .option('--standby-reader', `also run a second cdc-reader, ${STANDBY_READER}, that waits to take over the slot (failover, locally)`)
    .action(async (options: StartOptions) => {
      const pretty = Boolean(process.stdout.isTTY) && !options.json;
      const output = logOutput({ pretty });
      const demoSeconds = positiveNumber('--demo-seconds', options.demoSeconds);
      const demoRate = positiveNumber('--demo-rate', options.demoRate);
      const statusEvery = Number(options.statusEvery);
      if (!(statusEvery >= 0))
        throw new CliError(`--status-every expects seconds, 0 for never (got ${JSON.stringify(options.statusEvery)})`);
      const local = makeStack(stackConfigFromEnv());
      const started = Date.now();
      await local.up((r) =>
        output.say('info', `${r.name} ${r.reused ? 'already running' : `started in ${formatDuration(r.tookMs)}`} at ${r.address}`),
      );
      const settings = cliEnv();
      const isLocal = !settings.DATABASE_URL;
      const readerPassword = settings.PIPELINE_READER_PASSWORD ?? (isLocal ? READER_ROLE : undefined);
      const migrated = await runMigrations({
        databaseUrl: local.endpoints.databaseUrl,
        ...(readerPassword ? { readerPassword } : {}),
        log: (line) => output.say('info', line.trim()),
      });
      if (migrated.applied.length === 0) output.say('info', `migrations up to date (${migrated.alreadyApplied})`);

      const env = {
        ...processEnv(),
        DATABASE_URL: local.endpoints.databaseUrl,
        KAFKA_BROKERS: local.endpoints.kafkaBrokers.join(','),
        SES_ENDPOINT: local.endpoints.sesEndpoint,
        ...localOrderProcessorEnv(local.config.dir, processEnv()),
        // The webhook-dispatcher's sealing key: the one `pipeline webhooks` uses on this stack too.
        WEBHOOK_SECRETS_KEY: settings.WEBHOOK_SECRETS_KEY ?? localWebhookSecretsKey(local.config.dir),
      };
      const readerUrl =
        settings.CDC_DATABASE_URL ??
        (readerPassword ? withCredentials(local.endpoints.databaseUrl, READER_ROLE, readerPassword) : local.endpoints.databaseUrl);
      const ports = servicePorts(settings.PIPELINE_HTTP_PORT_BASE);
      if (options.standbyReader) ports.set(STANDBY_READER, standbyReaderPort(settings.PIPELINE_HTTP_PORT_BASE));
      const supervisor = new Supervisor({ output });
      const spec = (name: ServiceName, as: string = name) => ({
        name: as,
        entry: serviceEntryPoint(local.config.repoRoot, name),
        // The reader logs in as its least-privileged role (REPLICATION, SELECT), never as the owner.
        env: { ...env, DATABASE_URL: name === 'cdc-reader' ? readerUrl : env.DATABASE_URL },
        httpPort: ports.get(as) as number,
      });

      // Ctrl-C once: every service stops gracefully; twice: they are killed. Under `npm start` one
      // Ctrl-C arrives twice (from the terminal, and forwarded by npm): a repeat within a second is the same one.
      let interrupted = false;
      let interruptedAt = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        if (interrupted && Date.now() - interruptedAt < SAME_SIGNAL_MS) return;
        if (interrupted) {
          output.say('warn', `${signal} again: killing the services`);
          supervisor.kill();
          return;
        }
        interrupted = true;
        interruptedAt = Date.now();
        output.say(
          'info',
          `${signal}: stopping every service (again to force; the stack keeps running: \`npx pipeline stack down\` stops it)`,
        );
        // Stopped on purpose: no service is expected now, so Prometheus reports none down (emptied
        // first, so it is told before the services go away).
        writeScrapeTargets(local.config, []);
        void supervisor.stop().then((clean) => {
          output.say(clean ? 'info' : 'warn', clean ? 'every service stopped cleanly' : 'not every service stopped cleanly: see above');
          process.exit(clean ? 0 : 1);
        });
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);

      // Prometheus scrapes every service supervised from now on; one the supervisor gives up on stays
      // listed, so its "service down" alert fires.
      writeScrapeTargets(
        local.config,
        [...ports].map(([service, port]) => ({ service, port })),
      );
      // The reader first: it creates the topics of every captured table before it streams.
      const consumers = SERVICES.filter((service) => service.name !== 'cdc-reader');
      supervisor.start(spec('cdc-reader'));
      const readerReady = await waitUntilReady(
        `http://127.0.0.1:${ports.get('cdc-reader')}/readyz`,
        READER_READY_TIMEOUT_MS,
        () => interrupted || supervisor.status().some((s) => s.name === 'cdc-reader' && s.state === 'gave-up'),
      );
      if (interrupted) return;
      if (!readerReady) output.say('warn', 'the cdc-reader is not ready: starting the consumers anyway (they wait for their topics)');
      // Once the first reader leads, so the standby finds the leader lock taken and waits on it.
      if (options.standbyReader) supervisor.start(spec('cdc-reader', STANDBY_READER));
      for (const service of consumers) supervisor.start(spec(service.name));
      output.say(
        'info',
        `pipeline running (${formatDuration(Date.now() - started)} to start). Endpoints: ` +
          [...ports].map(([name, port]) => `${name} http://127.0.0.1:${port}/metrics`).join(', ') +
          ` (also /healthz, /readyz); Prometheus ${local.endpoints.prometheusUrl} (alerts: ${local.endpoints.prometheusUrl}/alerts). Ctrl-C stops the services.`,
      );
      // The demo writes only to the stack this command runs, never to a database of yours.
      if (options.demo && !isLocal) output.say('info', 'no demo: DATABASE_URL names a database of your own');
      void demoThenStatus({
        output,
        pretty,
        databaseUrl: local.endpoints.databaseUrl,
        brokers: local.endpoints.kafkaBrokers,
        sesEndpoint: local.endpoints.sesEndpoint,
        // A standby is never ready (it does not stream): the demo waits for the services that do.
        services: [...ports].filter(([name]) => name !== STANDBY_READER).map(([name, port]) => ({ name, port })),
        webhookSecretsKey: env.WEBHOOK_SECRETS_KEY,
        readerDlqTopic: settings.CDC_DLQ_TOPIC,
        demo:
          options.demo && isLocal
            ? {
                seconds: demoSeconds,
                rate: demoRate,
                seed: options.demoSeed === undefined ? undefined : Math.floor(positiveNumber('--demo-seed', options.demoSeed)),
              }
            : undefined,
        statusEverySeconds: statusEvery,
        stopping: () => interrupted,
      }).catch((error: Error) => {
        if (!interrupted) output.say('warn', `the demo or the status stopped: ${error.message}`);
      });
    });
}

interface StartOptions {
  json?: boolean;
  demo: boolean;
  demoSeconds: string;
  demoRate: string;
  demoSeed?: string;
  statusEvery: string;
  standbyReader?: boolean;
}
