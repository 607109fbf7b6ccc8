/**
 * Shares one asynchronous fsync among every commit waiting for one ("group fsync").
 * `request()` returns a promise that settles once a sync *started after the call* has
 * finished, so it covers every write made before the call. At most one sync runs at a
 * time; requests made while it runs share the next one.
 */
export class GroupSync {
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly sync: () => Promise<void>) {}

  request(): Promise<void> {
    if (!this.inFlight) return this.start();
    // The running sync may have started before the caller's write: wait for the next one.
    this.queued ??= this.inFlight.then(
      () => { this.queued = undefined; return this.start(); },
      (error: unknown) => { this.queued = undefined; throw error; },
    );
    return this.queued;
  }

  /** The sync in progress or queued, if any (settles when everything requested so far is synced). */
  get idle(): Promise<void> | undefined { return this.queued ?? this.inFlight; }

  private start(): Promise<void> {
    const p: Promise<void> = this.sync().finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }
}
