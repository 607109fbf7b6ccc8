import { EXIT } from './usage-error.js';

const REASONS: Record<string, string> = {
  EPIPE: 'its reader closed the pipe (EPIPE), e.g. `| head`',
  ENOSPC: 'no space left on device (ENOSPC)',
  EIO: 'input/output error (EIO)',
};

/**
 * A failed write to stdout or stderr (a closed pipe, a full disk) ends weft with one line
 * on stderr and exit code 3 (EXIT.output) instead of an uncaught error's stack trace. What
 * was committed to the store stays, so an interrupted `weft run` can be resumed.
 */
export function exitOnOutputErrors(streams: Record<string, NodeJS.WriteStream>, exit: (code: number) => void = process.exit): void {
  for (const [name, stream] of Object.entries(streams)) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      const why = REASONS[error.code ?? ''] ?? (error.code ? `${error.code}: ${error.message}` : error.message);
      if (name !== 'stderr') {
        try { process.stderr.write(`weft: cannot write to ${name}: ${why}; the output is incomplete\n`); } catch { /* stderr is gone too */ }
      }
      exit(EXIT.output);
    });
  }
}
