import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export interface SpawnServerOptions {
  /** The plugin's name, used in every message and log line. */
  pluginName: string;
  command: string;
  args: string[];
  /** Overlaid on the runtime's environment after `${VAR}` substitution. */
  env?: Record<string, string>;
  /** The config's working directory: the child's cwd and the base for a relative command. */
  cwd: string;
  /** Where stderr lines go when shown, as `[plugin] line` (default: the runtime's stderr). */
  log?: (line: string) => void;
  /** Takes each shown stderr line as it is, instead of `log` (the runtime's structured log). */
  onStderrLine?: (line: string) => void;
  /** Show stderr lines (default: only when WEFT_COMPONENT_STDERR=verbose). */
  showStderr?: boolean;
}

export interface ServerExit { exitCode?: number; signal?: string }

/** One running component-server process. */
export interface ServerProcess {
  readonly pid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves once the process has exited (and its stderr has been read out, briefly). */
  readonly exited: Promise<ServerExit>;
  /** The last stderr lines (at most STDERR_TAIL_LINES), oldest first. */
  stderrTail(): string[];
  /** Ladder: end stdin → wait → SIGTERM → wait → SIGKILL. Resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Immediate SIGKILL (a broken connection: nothing left to be graceful about). */
  kill(): void;
}

export const STDERR_TAIL_LINES = 100;
const DEFAULT_GRACE_MS = 2000;

/**
 * Substitutes `$VAR`, `${VAR}`, `${VAR:default}` (default when unset) and `${VAR:-default}`
 * (default when unset or empty, as in a shell) from `env`. `$$` is a literal `$`.
 */
export function substituteVars(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-?)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced: string | undefined, op: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare)!;
      const current = env[name];
      if (op === ':-' && (current === undefined || current === '')) return fallback ?? '';
      if (op === ':' && current === undefined) return fallback ?? '';
      if (current === undefined) {
        throw new Error(`${where}: environment variable "${name}" is not set and has no default (write \${${name}:-default} to give one)`);
      }
      return current;
    });
}

/** A command with a slash is a path relative to `cwd`; otherwise it is looked up on PATH. */
export function resolveCommand(command: string, cwd: string, pathVar: string | undefined, pluginName: string): string {
  if (command.includes('/')) {
    const full = isAbsolute(command) ? command : resolve(cwd, command);
    if (!isExecutableFile(full)) throw new Error(`plugin "${pluginName}": command "${command}" not found or not executable (looked at ${full})`);
    return full;
  }
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const full = join(isAbsolute(dir) ? dir : resolve(cwd, dir), command);
    if (isExecutableFile(full)) return full;
  }
  throw new Error(`plugin "${pluginName}": command "${command}" not found on PATH`);
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// Children still running; killed when the runtime exits, however it exits.
const live = new Set<{ kill(signal?: NodeJS.Signals): unknown }>();
let exitHookInstalled = false;
function track(child: { kill(signal?: NodeJS.Signals): unknown }): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });
  }
  live.add(child);
}

/**
 * The child's watchdog, for when the runtime cannot clean up (SIGKILL, OOM kill, a crash):
 * the child starts as this shell in a process group of its own, forks a subshell that
 * blocks reading fd 3 (a pipe only the runtime holds the other end of), and then execs the
 * server in place (same pid). When the runtime is gone, however it went, the read returns
 * and the subshell SIGKILLs the whole group: the server, whatever it spawned, and itself.
 * SIGKILL cannot be trapped, and closing stdin or sending SIGTERM need not be obeyed.
 */
const WATCHDOG = '( exec </dev/null >/dev/null 2>&1; read -r _ <&3; kill -KILL -$$ ) & exec 3<&-; exec "$@"';
const WATCHDOG_SHELL = '/bin/sh';
const useWatchdog = process.platform !== 'win32';

/** Spawns a component server (resolved command, substituted args/env) and waits until it is running. */
export async function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  const { pluginName, cwd } = options;
  const where = `plugin "${pluginName}"`;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env ?? {})) env[key] = substituteVars(String(value), process.env, `${where}: env.${key}`);
  const args = options.args.map((arg, i) => substituteVars(arg, process.env, `${where}: args[${i}]`));
  const file = resolveCommand(options.command, cwd, env.PATH ?? process.env.PATH, pluginName);

  // Loaded on first spawn, not at start-up: execa and its dependencies cost ~100 ms of every
  // CLI start (`weft run` of a builtins-only flow spawns nothing).
  const { execa } = await import('execa');
  const child = useWatchdog
    ? execa(WATCHDOG_SHELL, ['-c', WATCHDOG, 'weft-component', file, ...args], {
      cwd, env, extendEnv: true, detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      buffer: false, reject: false, stripFinalNewline: false,
    })
    : execa(file, args, {
      cwd, env, extendEnv: true,
      stdin: 'pipe', stdout: 'pipe', stderr: 'pipe',
      buffer: false, reject: false, cleanup: true, stripFinalNewline: false,
    });
  // The runtime's end of the watchdog's pipe: never written, closed when the child is gone
  // (or by the kernel when the runtime is), which makes the watchdog kill the group.
  const watchdogPipe = useWatchdog ? (child.stdio[3] as unknown as { destroy(): void; unref?(): void } | undefined) : undefined;
  watchdogPipe?.unref?.();
  // The group, not just the server: it may have started processes of its own.
  const killGroup = (signal: NodeJS.Signals) => {
    if (useWatchdog && child.pid !== undefined) {
      try { process.kill(-child.pid, signal); return; } catch { /* already gone */ }
    }
    child.kill(signal);
  };
  const group = { kill: (signal?: NodeJS.Signals) => killGroup(signal ?? 'SIGTERM') };

  const tail: string[] = [];
  const verbose = options.showStderr ?? process.env.WEFT_COMPONENT_STDERR === 'verbose';
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const show = options.onStderrLine ?? ((line: string) => log(`[${pluginName}] ${line}`));
  const stderrDone = new Promise<void>((done) => {
    const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
    lines.on('line', (line) => {
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
      if (verbose) show(line);
    });
    lines.on('close', done);
    child.stderr.on('error', () => done());
  });

  const exited = new Promise<ServerExit>((done) => {
    child.once('exit', (code, signal) => {
      live.delete(group);
      watchdogPipe?.destroy();
      // Give stderr a moment to be read out, so the crash report has the last words.
      const settle = setTimeout(() => done(exitInfo(code, signal)), 200);
      void stderrDone.then(() => { clearTimeout(settle); done(exitInfo(code, signal)); });
    });
  });

  await new Promise<void>((ok, fail) => {
    child.once('spawn', () => ok());
    child.once('error', (error) => fail(new Error(`plugin "${pluginName}": cannot start "${options.command}": ${error.message}`)));
    void child.then((result) => {
      if (result.failed) fail(new Error(`plugin "${pluginName}": cannot start "${options.command}": ${result.shortMessage}`));
    });
  });
  track(group);
  // Writes to a dead child's stdin surface through the message writer; never as an uncaught error.
  child.stdin.on('error', () => undefined);

  let gone = false;
  void exited.then(() => { gone = true; });
  const waitExit = (ms: number) => Promise.race([exited.then(() => true), delay(ms).then(() => gone)]);

  return {
    pid: child.pid!,
    stdin: child.stdin,
    stdout: child.stdout,
    exited,
    stderrTail: () => [...tail],
    kill: () => { if (!gone) killGroup('SIGKILL'); },
    async stop(graceMs = DEFAULT_GRACE_MS) {
      if (gone) return;
      child.stdin.end();
      if (await waitExit(graceMs)) return;
      child.kill('SIGTERM');
      if (await waitExit(graceMs)) return;
      killGroup('SIGKILL');
      await exited;
    },
  };
}

function exitInfo(code: number | null, signal: NodeJS.Signals | null): ServerExit {
  return { ...(code !== null ? { exitCode: code } : {}), ...(signal ? { signal } : {}) };
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms).unref());
}
