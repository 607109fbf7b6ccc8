import { Console } from 'node:console';

/** The console methods that write to stdout (the rest already go to stderr). */
const STDOUT_METHODS = [
  'log', 'info', 'debug', 'dir', 'dirxml', 'table', 'group', 'groupCollapsed', 'groupEnd',
  'count', 'countReset', 'time', 'timeEnd', 'timeLog',
] as const;

/**
 * While a server speaks JSON-RPC on stdout, a stray `console.log` in a component would
 * corrupt the wire: route every stdout-writing console method to stderr instead.
 * Returns a function that restores the originals.
 */
export function guardStdout(stderr: NodeJS.WritableStream = process.stderr): () => void {
  const toStderr = new Console({ stdout: stderr, stderr });
  // A plain record view of the global console: this module is the one place allowed to rewire it.
  const target = globalThis.console as unknown as Record<string, unknown>;
  const source = toStderr as unknown as Record<string, (...args: unknown[]) => void>;
  const saved = new Map<string, unknown>();
  for (const method of STDOUT_METHODS) {
    saved.set(method, target[method]);
    target[method] = source[method].bind(toStderr);
  }
  return () => {
    for (const [method, original] of saved) target[method] = original;
  };
}
