import { canonicalJson } from '../../protocol/index.js';
import type { PriorStep } from '../flow/item-execution.js';
import type { AsyncStateStore } from '../store/async-state-store.js';
import type { ItemRecord, RunRecord } from '../store/state-store.js';

/**
 * What a fork reuses for one of its items: the source run's journaled step results,
 * except the steps it runs again (`redo`), and only when the item's input is the source
 * item's (a fork with new inputs computes changed items afresh: a result of another input
 * is not this item's).
 */
export async function forkReuse(state: Pick<AsyncStateStore, 'getItem' | 'listSteps'>, fork: NonNullable<RunRecord['forkOf']>,
  redo: ReadonlySet<string> | undefined, item: ItemRecord, into: Map<string, PriorStep>): Promise<void> {
  const source = await state.getItem(fork.runId, item.itemIndex);
  if (!source || canonicalJson(source.input) !== canonicalJson(item.input)) return;
  for (const s of await state.listSteps(fork.runId, item.itemIndex)) {
    if (redo?.has(s.stepId) || !s.result) continue;
    into.set(s.stepId, { result: s.result, lastAttempt: 0 });
  }
}
