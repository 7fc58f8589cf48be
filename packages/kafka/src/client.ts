import type { Logger } from '@pipeline/runtime';
import { Kafka, type KafkaConfig, type logCreator, logLevel } from 'kafkajs';

/**
 * Broker states kafkajs logs as errors but retries by itself (a broker just started, a leader
 * election): warnings, so an operator is not alarmed by what heals in a second.
 */
const TRANSIENT =
  /coordinator is loading|coordinator is not available|not the correct coordinator|no leader for this topic-partition|leader not available/i;

/** Routes kafkajs's own log lines into the service's pino logger. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      switch (level) {
        case logLevel.ERROR:
        case logLevel.NOTHING:
          if (TRANSIENT.test(String(extra.error ?? ''))) child.warn(extra, `${message} (transient; kafkajs retries it)`);
          else child.error(extra, message);
          break;
        case logLevel.WARN:
          child.warn(extra, message);
          break;
        case logLevel.INFO:
          child.info(extra, message);
          break;
        default:
          child.debug(extra, message);
      }
    };
}

/** A kafkajs client whose logs go through pino. kafkajs INFO is chatty: it maps to WARN by default. */
export function makeKafka(config: KafkaConfig, logger: Logger, level: logLevel = logLevel.WARN): Kafka {
  return new Kafka({ ...config, logLevel: level, logCreator: kafkaLogCreator(logger) });
}
