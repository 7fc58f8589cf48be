import type { Logger } from '@pipeline/runtime';
import { Kafka, type KafkaConfig, type logCreator, logLevel } from 'kafkajs';

/** Routes kafkajs's own log lines into the service's pino logger. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      switch (level) {
        case logLevel.ERROR:
        case logLevel.NOTHING:
          child.error(extra, message);
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
