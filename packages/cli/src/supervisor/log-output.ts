import pc from 'picocolors';
import { prettyFactory } from 'pino-pretty';

/**
 * Where `pipeline start` writes its services' logs and its own lines. On a terminal: readable
 * lines, each prefixed with its service's name in a colour of its own. Piped: one JSON object per
 * line, the services' own lines as they wrote them (a line that is not JSON, such as a stack trace
 * on stderr, is wrapped in one).
 */
export interface LogOutput {
  /** A line a service wrote to stdout or stderr. */
  service(name: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** The supervisor's own news. */
  say(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

const LEVELS = { info: 30, warn: 40, error: 50 } as const;
const COLOURS = [pc.cyan, pc.magenta, pc.yellow, pc.green, pc.blue, pc.red];

export function logOutput(options: { pretty: boolean; write?: (text: string) => void }): LogOutput {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  if (!options.pretty) {
    const json = (level: keyof typeof LEVELS, service: string, msg: string, fields: Record<string, unknown> = {}) =>
      write(`${JSON.stringify({ level: LEVELS[level], time: Date.now(), ...fields, service, msg })}\n`);
    return {
      service: (name, line, stream) => {
        if (line.startsWith('{') && isJson(line)) write(`${line}\n`);
        else if (line.trim() !== '') json(stream === 'stderr' ? 'error' : 'info', name, line);
      },
      say: (level, message, fields) => json(level, 'pipeline', message, fields),
    };
  }
  const pretty = prettyFactory({
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
  const colours = new Map<string, (text: string) => string>();
  const width = 18;
  const prefix = (name: string) => {
    let colour = colours.get(name);
    if (!colour) {
      colour = name === 'pipeline' ? pc.bold : (COLOURS[colours.size % COLOURS.length] as (text: string) => string);
      colours.set(name, colour);
    }
    return colour(name.padEnd(width));
  };
  return {
    service: (name, line) => {
      const text = line.startsWith('{') && isJson(line) ? pretty(line).trimEnd() : line;
      // An error's details take several lines: each carries the service's name.
      write(
        `${text
          .split('\n')
          .map((part) => `${prefix(name)} ${part}`)
          .join('\n')}\n`,
      );
    },
    say: (level, message, fields) => {
      const marker = level === 'error' ? pc.red('error ') : level === 'warn' ? pc.yellow('warn ') : '';
      const details = fields && Object.keys(fields).length > 0 ? ` ${pc.dim(JSON.stringify(fields))}` : '';
      // A block (a status screen, a summary): every line carries the prefix.
      const [first, ...rest] = `${marker}${message}${details}`.split('\n');
      write(`${[`${prefix('pipeline')} ${first}`, ...rest.map((line) => `${prefix('pipeline')} ${line}`)].join('\n')}\n`);
    },
  };
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}
