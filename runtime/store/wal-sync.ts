import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { GroupSync } from './group-sync.js';
import { StoreError } from './store-error.js';

/**
 * The fsyncs of an SQLite store with `durability: full`, done by the store rather than by
 * SQLite (which runs with synchronous=NORMAL): `now()` after an ordinary commit, as
 * synchronous=FULL would, and `deferred()` for group commits, one fdatasync of the WAL on a
 * libuv thread shared by every commit waiting for it. fdatasync of the WAL covers every
 * frame written before the call, whichever descriptor wrote it.
 */
export class WalSync {
  private fd: number | undefined;
  private closed = false;
  /** A deferred commit happened since the last sync was requested. */
  private pending = false;
  private readonly group = new GroupSync(() => new Promise<void>((done, fail) => {
    // Closed: closing checkpointed the WAL into the database and synced both.
    const fd = this.closed ? undefined : this.open();
    if (fd === undefined) { done(); return; }
    fdatasync(fd, (error) => (error ? fail(this.syncError(error)) : done()));
  }));

  /** `walPath`: the database file's name + `-wal`. */
  constructor(private readonly walPath: string, private readonly location: string) {}

  /** Every commit so far durable, before this returns. */
  now(): void {
    const fd = this.open();
    if (fd === undefined) return;
    try {
      fdatasyncSync(fd);
    } catch (error) {
      throw this.syncError(error as Error);
    }
  }

  /** A commit that waits for `synced()`. */
  deferred(): void { this.pending = true; }

  /** Settles once every commit so far is durable; undefined when nothing waits. */
  synced(): Promise<void> | undefined {
    if (!this.pending) return this.group.idle;
    this.pending = false;
    return this.group.request();
  }

  /** After the database has closed: the descriptor goes once a sync still running is done with it. */
  close(): void {
    this.closed = true;
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    const busy = this.group.idle;
    if (busy) busy.then(() => closeSync(fd), () => closeSync(fd)).catch(() => {});
    else closeSync(fd);
  }

  /** The WAL, opened once: SQLite keeps the file while any connection is open. */
  private open(): number | undefined {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.walPath, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // nothing written yet
        throw error;
      }
    }
    return this.fd;
  }

  private syncError(error: Error): StoreError {
    return new StoreError(this.location, 'io', `cannot be synced to disk (${error.message}).`, { cause: error });
  }
}
