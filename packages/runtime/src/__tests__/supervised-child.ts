/**
 * A service in miniature under runService, as `pipeline start` runs one: an IPC channel to its
 * parent, stdout and stderr piped to it. Stopping writes many log lines (so some are still buffered
 * when it exits). Says `ready` over the channel once started.
 */
import { runService } from '../lifecycle';
import { makeLogger } from '../logger';

void runService({
  service: 'supervised-child',
  start: async () => {
    const logger = makeLogger({ service: 'supervised-child', level: 'info' });
    const timer = setInterval(() => logger.info('still running'), 1_000);
    process.send?.('ready');
    return {
      logger,
      shutdownTimeoutMs: 5_000,
      running: {
        stop: async () => {
          clearInterval(timer);
          for (let i = 0; i < 2_000; i++) logger.info({ i }, 'a line of the shutdown');
        },
      },
    };
  },
});
