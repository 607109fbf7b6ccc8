/**
 * Counts the calls of one kind (runs/submit, inputs/await) each step attempt of each item
 * makes: the n-th call of an attempt is call `n`, whichever attempt it is, so a step re-run
 * after a crash makes the same calls under the same numbers and finds what its first run
 * left (a sub-run to re-attach, a human's answer).
 */
export class StepCallCounter {
  private readonly items = new Map<number, Map<string, number>>();

  /** The 0-based number of this call among those of one attempt of one step of one item. */
  next(itemIndex: number, stepId: string, attempt: number): number {
    let steps = this.items.get(itemIndex);
    if (!steps) this.items.set(itemIndex, (steps = new Map()));
    const key = `${stepId}\u0000${attempt}`;
    const n = steps.get(key) ?? 0;
    steps.set(key, n + 1);
    return n;
  }

  /** The item has finished: its counts are not needed any more. */
  forget(itemIndex: number): void { this.items.delete(itemIndex); }
}
