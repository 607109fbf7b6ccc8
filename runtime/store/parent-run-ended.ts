/**
 * A sub-run's creation refused because its parent run has ended: the store checks inside the
 * creating transaction, so a cancel committed by any process just before is always seen.
 */
export class ParentRunEnded extends Error {
  override readonly name = 'ParentRunEnded';
  constructor(readonly parentRunId: string, readonly status: string) {
    super(`run ${parentRunId} has ended (${status}): no sub-run may be created under it`);
  }
}
