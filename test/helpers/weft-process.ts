import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const WEFT_BIN = resolve(import.meta.dirname, '../../bin/weft.js');

export interface WeftProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** Starts `node bin/weft.js ...args` (the built CLI, as a user runs it) in `cwd`; `stdin` is written to it and closed. */
export function startWeft(args: string[], cwd: string, env: Record<string, string> = {}, stdin?: string): WeftProcess {
  const child = spawn(process.execPath, [WEFT_BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (stdin !== undefined) child.stdin!.end(stdin);
  let out = ''; let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | string>((res) => child.on('close', (code, signal) => res(code ?? signal ?? -1)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs weft to completion. */
export async function runWeft(args: string[], cwd: string, env: Record<string, string> = {}, stdin?: string): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = startWeft(args, cwd, env, stdin);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

export async function until(pred: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
