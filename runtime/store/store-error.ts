/**
 * A failure of the store itself (full disk, read-only or corrupt file, foreign file, a
 * database server that is down or refuses the login),
 * as opposed to a caller's mistake. The message names the store's location so a user
 * knows which file to look at; `reason` is a stable tag for code that must react.
 */
export type StoreErrorReason =
  | 'full' | 'readonly' | 'corrupt' | 'foreign' | 'newer_schema' | 'locked' | 'io' | 'open'
  /** PostgreSQL: the server did not answer (down, wrong host or port), or refused the login. */
  | 'unavailable' | 'auth';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly location: string,
    readonly reason: StoreErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`weft store ${location}: ${message}`, options);
  }
}
