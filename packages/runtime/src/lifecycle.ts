import { closeSync, openSync } from 'node:fs';
import { ConfigError, UnrecoverableError } from './errors';
import type { Logger } from './logger';

/** What a started service hands back: how to stop it. */
export interface RunningService {
  /** Finish in-flight work, commit, leave groups, close connections. */
  stop(): Promise<void>;
}

/**
 * Called when the service cannot go on (say its Kafka consumer crashed for good): the process
 * stops the service within its deadline and exits with `exitCode` (default 1, so whatever
 * supervises it restarts it; 78 when restarting cannot help). The caller has logged why.
 */
export type Fatal = (exitCode?: number) => void;

export interface RunServiceOptions {
  service: string;
  /**
   * Starts the service; `fatal` may be called at any time after, even before start resolves.
   * A ConfigError or an UnrecoverableError makes the process exit with code 78 (EX_CONFIG).
   */
  start: (fatal: Fatal) => Promise<{ running: RunningService; logger: Logger; shutdownTimeoutMs: number }>;
  /** Injected for tests; defaults to the real process. */
  proc?: Pick<NodeJS.Process, 'on' | 'exit'>;
  /** Where start-up errors are written before a logger exists. */
  writeError?: (text: string) => void;
  /** With a supervisor that went away: exit after this long whatever happens (SHUTDOWN_TIMEOUT_MS and some). Default 20 s. */
  shutdownDeadlineMs?: number;
}

/**
 * Exit codes an orchestrator can act on (64 and 78 as in sysexits.h). 78 also ends a service that
 * stopped on an UnrecoverableError: like a bad setting, restarting it cannot help.
 */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 64, config: 78 } as const;

/**
 * Runs a service until SIGTERM or SIGINT, then stops it within its deadline. A second signal or a
 * missed deadline exits at once with code 1, saying so. A fatal error stops it the same way and
 * exits 1.
 */
export async function runService(options: RunServiceOptions): Promise<void> {
  const proc = options.proc ?? process;
  const writeError = options.writeError ?? ((text: string) => process.stderr.write(`${text}\n`));
  let started: Awaited<ReturnType<RunServiceOptions['start']>>;
  let fatalBeforeStart: number | undefined;
  let onFatal: Fatal = (exitCode = EXIT_CODES.failed) => {
    fatalBeforeStart = exitCode;
  };
  let supervisorGone = (): void => proc.exit(EXIT_CODES.failed);
  if (!options.proc) watchSupervisor(() => supervisorGone(), options.shutdownDeadlineMs ?? 20_000);
  try {
    started = await options.start((exitCode) => onFatal(exitCode));
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UnrecoverableError) {
      writeError(error.message);
      proc.exit(EXIT_CODES.config);
      return;
    }
    writeError(`${options.service} failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    proc.exit(EXIT_CODES.failed);
    return;
  }
  const { running, logger, shutdownTimeoutMs } = started;
  let stopping = false;
  const stopAndExit = (exitCode: number): void => {
    const deadline = setTimeout(() => {
      logger.error({ shutdownTimeoutMs }, 'shutdown did not finish within SHUTDOWN_TIMEOUT_MS: exiting anyway');
      proc.exit(EXIT_CODES.failed);
    }, shutdownTimeoutMs);
    deadline.unref();
    running.stop().then(
      () => {
        clearTimeout(deadline);
        logger.info(exitCode === EXIT_CODES.ok ? 'stopped cleanly' : `stopped; exiting with code ${exitCode}`);
        logger.flush?.();
        proc.exit(exitCode);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        logger.error({ err: error }, 'shutdown failed');
        logger.flush?.();
        proc.exit(EXIT_CODES.failed);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      proc.exit(EXIT_CODES.failed);
      return;
    }
    stopping = true;
    logger.info({ signal, shutdownTimeoutMs }, 'shutting down');
    stopAndExit(EXIT_CODES.ok);
  };
  onFatal = (exitCode = EXIT_CODES.failed) => {
    if (stopping) return;
    stopping = true;
    stopAndExit(exitCode);
  };
  // `on`, not `once`: a second signal must reach `onSignal` rather than the default handler.
  proc.on('SIGTERM', onSignal);
  proc.on('SIGINT', onSignal);
  supervisorGone = () => {
    if (stopping) return;
    logger.warn('the supervisor (`pipeline start`) is gone: stopping');
    onSignal('SIGTERM');
  };
  if (fatalBeforeStart !== undefined) onFatal(fatalBeforeStart);
}

/**
 * Started by `pipeline start`, which holds an IPC channel to each service: the channel closing means
 * the supervisor is gone without stopping it, so the service stops rather than run on, orphaned
 * (before it started: at once). Its stdout and stderr went with the supervisor, so write errors
 * there are ignored, and a deadline makes sure it ends even if stopping hangs.
 */
function watchSupervisor(gone: () => void, deadlineMs: number): void {
  if (!process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => {
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    // The supervisor held the other end of stdout and stderr. Writing to them now fails with EPIPE,
    // and pino's flush at exit (sonic-boom 4.2's flushSync) retries a failed write forever, so a
    // process with log lines still buffered would hang in process.exit (CI caught a cdc-reader so).
    // Point both descriptors at /dev/null: the lowest free descriptor is reused, so 1 and 2 again.
    for (const fd of [1, 2]) {
      try {
        closeSync(fd);
        openSync('/dev/null', 'w');
      } catch {
        // Nothing more can be done for the logs; the deadline below still ends the process.
      }
    }
    // Nobody watches this process any more: if stopping hangs (on a log line to the closed pipe, on
    // a server that went with the supervisor), it ends anyway, without running exit handlers that
    // could hang the same way.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), deadlineMs);
    gone();
  });
}
