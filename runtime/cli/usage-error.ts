/** A mistake in how weft was called (bad flag, unreadable input, invalid flow): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Exit codes: 3 = stdout or stderr could not be written (closed pipe, full disk; see
 * output-errors.ts); 130 = stopped by SIGINT/SIGTERM, the run left resumable (128 + 2, the shell's).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, output: 3, interrupted: 130 } as const;
