import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withEnv } from '@pipeline/testing';
import { privateStackConfig } from './config';
import { checkJava, kafkaClasspath } from './kafka';
import { ensurePrometheus } from './prometheus';

/** Runs `fn` with a PATH on which no program can be found. */
function withEmptyPath<T>(fn: () => T): T {
  return withEnv({ PATH: mkdtempSync(join(tmpdir(), 'empty-path-')) }, fn);
}

describe('missing prerequisites', () => {
  it('says how to install Java when it is missing', () => {
    expect(() => withEmptyPath(() => checkJava())).toThrow(
      'java not found: install OpenJDK 17 or newer (apt-get install openjdk-17-jre-headless), or set KAFKA_BROKERS to use a broker of your own',
    );
  });

  it('says how to install Maven when the broker jars must be resolved and mvn is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-'));
    const config = privateStackConfig(dir, { postgres: 1, kafka: 2, kafkaController: 3, ses: 4, prometheus: 5 });
    expect(() => withEmptyPath(() => kafkaClasspath(config))).toThrow(
      'mvn not found: install Maven 3.8 or newer (apt-get install maven); it fetches the Kafka jars once',
    );
  });

  it('says how to install Prometheus when it is missing and apt-get cannot be used', () => {
    expect(() => withEmptyPath(() => ensurePrometheus())).toThrow(
      "prometheus not found: install Debian's package (sudo apt-get install --no-install-recommends prometheus; it brings promtool), or put a prometheus 2.42 or newer on PATH",
    );
  });
});
