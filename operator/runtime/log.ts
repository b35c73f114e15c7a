/**
 * Structured logs: one JSON object per line (`time`, `level`, `msg`, then fields), written to
 * stderr by default, or handed to a sink (tests collect them).
 */
import { redactValues } from '../../api/redact.js';
export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogEntry {
  readonly time: string;
  readonly level: Level;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every entry. */
  with(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Lowest level written. @default 'info' */
  readonly level?: Level;
  /** Where entries go. @default - a JSON line on stderr */
  readonly sink?: (entry: LogEntry) => void;
}

export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const sink = opts.sink ?? ((e: LogEntry) => process.stderr.write(JSON.stringify(e) + '\n'));
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    // No credential reaches a log line: URLs lose their user info and token parameters, tokens and keys are replaced.
    sink({ time: new Date().toISOString(), level, ...redactValues({ msg, ...base, ...fields }) });
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    with: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger({ sink: () => undefined });
