import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { StackConfig } from './config';
import { LocalProcess, type PortNeed } from './local-process';
import { spawnDetached, tryRun } from './proc';

/** The broker's log line that says it serves requests (KRaft, 3.9). */
const READY_LINE = 'Transitioning from RECOVERY to RUNNING';

/** Checks that Java 17+ is installed, with a message that says how to get it. */
export function checkJava(): void {
  const result = tryRun('java', ['-version']);
  if (!result)
    throw new Error(
      'java not found: install OpenJDK 17 or newer (apt-get install openjdk-17-jre-headless), or set KAFKA_BROKERS to use a broker of your own',
    );
  const match = /version "(\d+)/.exec(`${result.stderr}${result.stdout}`);
  const major = match?.[1] ? Number(match[1]) : 0;
  if (major < 17) throw new Error(`java ${major || '(unknown version)'} found, Kafka 3.9 here needs 17 or newer: install OpenJDK 17`);
}

/**
 * The broker's classpath: `mvn dependency:build-classpath` on infra/local/pom.xml, cached next to
 * the data and reused while the pom is unchanged and every jar is still in Maven's cache.
 */
export function kafkaClasspath(config: StackConfig): string {
  const pom = join(config.repoRoot, 'infra', 'local', 'pom.xml');
  const dir = join(config.dir, 'kafka');
  const cpFile = join(dir, 'classpath.txt');
  const keyFile = join(dir, 'classpath.key');
  const key = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(cpFile) && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key) {
    const classpath = readFileSync(cpFile, 'utf8').trim();
    if (classpath.split(':').every((jar) => existsSync(jar))) return classpath;
  }
  if (!tryRun('mvn', ['-v'])) {
    throw new Error('mvn not found: install Maven 3.8 or newer (apt-get install maven); it fetches the Kafka jars once');
  }
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('mvn', ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(
      `resolving the Kafka jars with Maven failed (exit ${result.status}): is Maven Central reachable?\n${(result.stdout + result.stderr).slice(-2000)}`,
    );
  }
  writeFileSync(keyFile, key);
  return readFileSync(cpFile, 'utf8').trim();
}

export class LocalKafka extends LocalProcess {
  readonly name = 'kafka';
  protected readonly marker: string;
  /** SIGTERM runs the broker's controlled shutdown (flushes logs, writes the clean-shutdown file). */
  protected readonly stopSignal = 'SIGTERM';
  protected override readonly readyTimeoutMs = 90_000;
  private readonly home: string;
  private readonly dataDir: string;

  constructor(config: StackConfig) {
    super(config, 'kafka');
    this.home = join(config.dir, 'kafka');
    this.dataDir = join(this.home, 'data');
    this.marker = this.home;
  }

  private get brokers(): string[] {
    return this.config.kafka.externalBrokers ?? [`127.0.0.1:${this.config.kafka.port}`];
  }

  protected address(): string {
    return this.brokers.join(',');
  }

  protected external(): string | undefined {
    return this.config.kafka.externalBrokers ? 'KAFKA_BROKERS' : undefined;
  }

  protected ports(): PortNeed[] {
    return [
      { port: this.config.kafka.port, what: 'Kafka broker', variable: 'PIPELINE_KAFKA_PORT' },
      { port: this.config.kafka.controllerPort, what: 'Kafka controller', variable: 'PIPELINE_KAFKA_CONTROLLER_PORT' },
    ];
  }

  protected async launch(): Promise<number> {
    checkJava();
    const classpath = kafkaClasspath(this.config);
    const properties = this.writeConfig();
    this.formatStorage(classpath, properties);
    return spawnDetached({
      command: 'java',
      args: [
        '-Xms256m',
        '-Xmx1g',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        `-Dlog4j.configuration=file:${join(this.home, 'log4j.properties')}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        properties,
      ],
      logFile: this.logFile,
      cwd: this.home,
    });
  }

  /**
   * A fresh broker is ready once it has logged READY_LINE since it was launched and answers a
   * metadata request; one found already running, once it answers.
   */
  protected override async isReady(since: number | undefined): Promise<boolean> {
    if (since !== undefined) {
      const log = existsSync(this.logFile) ? readFileSync(this.logFile).subarray(since).toString('utf8') : '';
      if (!log.includes(READY_LINE)) return false;
    }
    return (await this.check()) === undefined;
  }

  /** Single-node KRaft (broker and controller in one process), loopback only. */
  private writeConfig(): string {
    mkdirSync(this.dataDir, { recursive: true });
    const { port, controllerPort } = this.config.kafka;
    const lines = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${this.dataDir}`,
      'num.partitions=3',
      // One node: every replication factor is 1, and there is no one to wait for.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=6',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=6',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'group.initial.rebalance.delay.ms=0',
      // The pipeline creates its topics explicitly, with their partitions and retention.
      'auto.create.topics.enable=false',
      'num.network.threads=2',
      'num.io.threads=4',
      // A compacted topic (cleanup.policy=compact) is cleaned within a second of a segment rolling,
      // not after the default 15 s idle wait, so compaction is seen while a test or demo runs.
      'log.cleaner.backoff.ms=1000',
    ];
    const file = join(this.home, 'server.properties');
    writeFileSync(file, `${lines.join('\n')}\n`);
    writeFileSync(
      join(this.home, 'log4j.properties'),
      [
        'log4j.rootLogger=INFO, stdout',
        'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
        'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.request.logger=WARN',
        'log4j.logger.state.change.logger=WARN',
        'log4j.logger.org.apache.kafka.clients=WARN',
        'log4j.logger.kafka.log.LogCleaner=WARN',
        '',
      ].join('\n'),
    );
    return file;
  }

  /** Formats the storage once; a formatted folder keeps its cluster id across restarts. */
  private formatStorage(classpath: string, properties: string): void {
    if (existsSync(join(this.dataDir, 'meta.properties'))) return;
    const clusterId = newClusterId();
    try {
      execFileSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties], {
        stdio: 'pipe',
      });
    } catch (error) {
      const output = `${(error as { stdout?: Buffer }).stdout ?? ''}${(error as { stderr?: Buffer }).stderr ?? ''}`;
      throw new Error(`formatting Kafka storage in ${this.dataDir} failed: ${output || (error as Error).message}`);
    }
  }

  /** undefined when the broker answers a metadata request, otherwise the reason. */
  protected async check(): Promise<string | undefined> {
    const kafka = new Kafka({
      clientId: 'pipeline-stack',
      brokers: this.brokers,
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 ? undefined : 'no broker in the cluster metadata';
    } catch (error) {
      return (error as Error).message;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/**
 * A cluster id: 16 random bytes in URL-safe base64 without padding (22 characters). One that starts
 * with '-' is drawn again, as Kafka's own Uuid.randomUuid does: the storage tool would read
 * `-t -abc…` as an option without its value (1 format in 64 failed so).
 */
export function newClusterId(random: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = random().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
