import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export type LogFields = Record<string, unknown>;

export interface LogSettings {
  /** Default: $WEFT_LOG_LEVEL, else `warn` (commands that serve set `info`). */
  level?: LogLevel;
  /** Where lines go (default stderr): JSON, or readable lines when it is a terminal. */
  destination?: 'stdout' | 'stderr';
  /** Tests: JSON lines into this stream instead. */
  stream?: Writable;
}

interface State { level: LogLevel; rank: number; destination: 'stdout' | 'stderr'; stream?: Writable; logger?: Logger }
let state: State = initial();

function initial(): State {
  const level = levelFromEnv() ?? 'warn';
  return { level, rank: RANK[level], destination: 'stderr' };
}

function levelFromEnv(): LogLevel | undefined {
  const raw = process.env.WEFT_LOG_LEVEL?.trim().toLowerCase();
  return raw && (LOG_LEVELS as string[]).includes(raw) ? raw as LogLevel : undefined;
}

/** Parses `--log-level`; throws naming the allowed values. */
export function parseLogLevel(raw: string, where = '--log-level'): LogLevel {
  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as string[]).includes(level)) throw new Error(`${where} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level as LogLevel;
}

/** Sets the process's log level and destination; `--log-level` beats WEFT_LOG_LEVEL beats `defaultLevel`. */
export function configureLogging(settings: LogSettings & { defaultLevel?: LogLevel } = {}): void {
  const level = settings.level ?? levelFromEnv() ?? settings.defaultLevel ?? 'warn';
  state = { level, rank: RANK[level], destination: settings.destination ?? 'stderr', ...(settings.stream ? { stream: settings.stream } : {}) };
}

/** Whether a line at `level` would be written: checked before building its fields (no pino is loaded for nothing). */
export function logEnabled(level: Exclude<LogLevel, 'silent'>): boolean {
  return RANK[level] >= state.rank;
}

/** Writes one log line (pino, loaded on the first line that passes the level). */
export function log(level: Exclude<LogLevel, 'silent'>, fields: LogFields, message: string): void {
  if (RANK[level] < state.rank) return;
  (state.logger ??= createLogger(state))[level](fields, message);
}

/** The pino logger itself, for fastify's request logging. */
export function pinoLogger(): Logger {
  return (state.logger ??= createLogger(state));
}

// pino and pino-pretty are CommonJS: required on the first line, not imported at start-up.
const require = createRequire(import.meta.url);

function createLogger(s: State): Logger {
  const pino = require('pino') as typeof import('pino');
  const options = {
    level: s.level,
    base: { pid: process.pid },
    // Defence in depth: weft never logs headers, and a bearer token would be hidden if it did.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
  };
  if (s.stream) return pino.default(options, s.stream);
  const fd = s.destination === 'stdout' ? 1 : 2;
  const tty = (fd === 1 ? process.stdout : process.stderr).isTTY === true;
  if (tty) {
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino.default(options, pretty({ destination: fd, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino.default(options, pino.destination({ fd, sync: true }));
}
