import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.js';

export interface TokenOptions { token?: string; tokenFile?: string }

/**
 * The bearer token from `--token-file`, `--token` or `$WEFT_TOKEN`. A token on the command
 * line is visible to every user in the process list; the file and the variable are not.
 * Errors name where the token came from, never the token.
 */
export function readToken(opts: TokenOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (opts.token !== undefined && opts.tokenFile !== undefined) throw new UsageError('give --token or --token-file, not both');
  if (opts.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.tokenFile, 'utf8');
    } catch (error) {
      throw new UsageError(`--token-file ${opts.tokenFile}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const token = text.replace(/\r?\n$/, '');
    if (token.trim() === '' || /[\r\n]/.test(token)) throw new UsageError(`--token-file ${opts.tokenFile}: must hold one non-empty line (the token)`);
    return token;
  }
  if (opts.token !== undefined) {
    if (opts.token.trim() === '') throw new UsageError('--token must not be empty');
    return opts.token;
  }
  return env.WEFT_TOKEN || undefined;
}
