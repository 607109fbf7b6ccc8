import type { AwaitInputParams } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError, compileUserSchema, validationIssues } from '../../protocol/index.js';
import { onAbort } from '../plugins/on-abort.js';
import type { CallerContext } from '../plugins/runtime-context.js';
import type { StoreWrite } from '../store/store-batch.js';
import type { RunManager } from './run-manager.js';

type Validate = ReturnType<typeof compileUserSchema>;

/** One inputs/await call waiting for its answer: the `n`-th call of one attempt of one step. */
interface Waiter { runId: string; itemIndex: number; stepId: string; attempt: number; n: number; validate?: Validate; resolve(value: unknown): void }

/**
 * Pausing an item for a human's input (`/builtin/await_input`, SDK `ctx.awaitInput`).
 * The request is journaled (step state `awaiting_input`, an event with prompt and
 * schema); the answer, once sent, is journaled on the step (answer `n` for its n-th
 * call, looked up by step, not in the run's events) and as an `input_received` event
 * before the step continues, so a restart while paused, or after the answer arrived,
 * loses nothing and a second call of one step waits for an answer of its own.
 *
 * `run.paused` counts the calls waiting now: one that ends without an answer (its step
 * timed out, its server crashed and the step was retried or failed, its run was aborted)
 * stops counting, and a run paused for it runs again.
 */
export class HumanInputs {
  /** Per step of an item, its calls waiting, oldest first. */
  private readonly waiters = new Map<string, Waiter[]>();
  /** Runs this module set to `paused`: they go back to `running` when one of their calls stops waiting. */
  private readonly pausedRuns = new Set<string>();

  constructor(private readonly runs: RunManager) {}

  async await(params: AwaitInputParams, caller?: CallerContext): Promise<unknown> {
    const { runId, itemIndex, stepId } = caller ?? {};
    if (!runId || itemIndex === undefined || !stepId) {
      throw new ProtocolError(ErrorCodes.InvalidParams, 'inputs/await: the calling run, item and step are unknown (send observability with run_id, item_index, step_id)');
    }
    if (!params || typeof params.prompt !== 'string') throw new ProtocolError(ErrorCodes.InvalidParams, 'inputs/await: prompt (string) is required');
    // Refused now, not when the human answers (every answer would fail to validate).
    let validate: Validate | undefined;
    if (params.schema !== undefined) {
      try {
        validate = compileUserSchema(params.schema);
      } catch (error) {
        throw new ProtocolError(ErrorCodes.InvalidParams, `inputs/await: schema is not a valid JSON Schema: ${(error as Error).message}`);
      }
    }
    const run = this.runs.activeRun(runId);
    if (!run || run.cancelled) {
      // A late call from a cancelled or finished run must not reopen its item.
      throw new ProtocolError(ErrorCodes.InvalidParams, `inputs/await: run ${runId} is not running (it has ended or is being cancelled)`, { runId });
    }
    const attempt = caller?.attempt ?? 1;
    const n = run.inputCalls.next(itemIndex, stepId, attempt);
    // Answered before (a restart, a re-run attempt)? Then continue at once.
    const answer = (await this.runs.storeState.listSteps(runId, itemIndex)).find((s) => s.stepId === stepId)?.answers?.find((a) => a.n === n);
    if (answer) return answer.value;

    const key = keyOf(runId, itemIndex, stepId);
    // Calls of an earlier attempt of this step no longer wait: that execution is over.
    for (const old of this.waiters.get(key) ?? []) if (old.attempt < attempt) void this.stopWaiting(old, false);
    const value = new Promise<unknown>((resolve) => {
      const waiter: Waiter = { runId, itemIndex, stepId, attempt, n, ...(validate ? { validate } : {}), resolve };
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), waiter]);
      run.paused++;
      // Through onAbort: a run's paused items all wait on the run's one signal. Nothing is
      // journaled then: the run is cancelled, or abandoned to be resumed.
      if (caller?.signal) onAbort(caller.signal, () => { if (this.remove(waiter)) run.paused--; });
    });
    const prompt = { prompt: params.prompt, ...(params.schema !== undefined ? { schema: params.schema } : {}) };
    await this.runs.journal(runId, [
      { op: 'awaitStepInput', runId, itemIndex, stepId, prompt, at: new Date().toISOString() },
      { op: 'setItemStatus', runId, itemIndex, status: 'paused' },
    ]);
    await this.runs.emit(runId, 'step_awaiting_input', { itemIndex, stepId, data: { prompt: params.prompt, schema: params.schema, ...(n > 0 ? { n } : {}) } });
    // Paused when nothing else can proceed: every in-flight item waits for a human and no slot is free for more.
    if (!run.cancelled && run.paused > 0 && run.paused === run.inFlight && (run.inFlight >= run.limit || !run.hasWaitingItems)) {
      this.pausedRuns.add(runId);
      await this.runs.setStatus(run, 'paused');
    }
    return value;
  }

  async send(runId: string, itemIndex: number, stepId: string, value: unknown): Promise<void> {
    const waiter = this.waiters.get(keyOf(runId, itemIndex, stepId))?.[0];
    if (!waiter && this.runs.clustered) return this.sendToAnother(runId, itemIndex, stepId, value);
    if (!waiter) {
      throw notWaiting(runId, itemIndex, stepId);
    }
    if (waiter.validate) checkAnswer(waiter.validate, value, itemIndex, stepId);
    await this.stopWaiting(waiter, true, value);
    waiter.resolve(value);
  }

  /**
   * A cluster: the step waits in another process (or in none: its process died, and the
   * item runs again wherever it is claimed next). The answer is journaled on the step, which
   * the waiting process reads when told (a hint) or when the step asks again.
   */
  private async sendToAnother(runId: string, itemIndex: number, stepId: string, value: unknown): Promise<void> {
    await this.runs.flush();
    const step = (await this.runs.storeState.listSteps(runId, itemIndex)).find((s) => s.stepId === stepId);
    if (!step || step.state !== 'awaiting_input') {
      throw notWaiting(runId, itemIndex, stepId);
    }
    if (step.prompt?.schema !== undefined) checkAnswer(compileUserSchema(step.prompt.schema), value, itemIndex, stepId);
    // Calls of a step wait one after another: the one waiting now is the one after those answered.
    const n = step.answers?.length ?? 0;
    await this.runs.journal(runId, [{ op: 'answerStepInput', runId, itemIndex, stepId, n, value }]);
    await this.runs.emit(runId, 'input_received', { itemIndex, stepId, data: { value, ...(n > 0 ? { n } : {}) } });
  }

  /** Another process journaled answers for this run: the calls waiting here for them continue. */
  async checkStored(runId: string): Promise<void> {
    const waiting = [...this.waiters.values()].flat().filter((w) => w.runId === runId);
    for (const waiter of waiting) {
      const step = (await this.runs.storeState.listSteps(runId, waiter.itemIndex)).find((s) => s.stepId === waiter.stepId);
      const answer = step?.answers?.find((a) => a.n === waiter.n);
      if (!answer) continue;
      await this.stopWaiting(waiter, false);
      waiter.resolve(answer.value);
    }
  }

  /**
   * A step of an item started another attempt or finished: no call of its earlier
   * executions waits any more (it timed out, its server crashed, it was aborted).
   */
  stepMoved(runId: string, itemIndex: number, stepId: string): void {
    const waiting = this.waiters.get(keyOf(runId, itemIndex, stepId));
    if (!waiting) return;
    for (const waiter of [...waiting]) void this.stopWaiting(waiter, false).catch(() => undefined);
  }

  /** A cancelled run's waiters are dropped (their items are abandoned). */
  dropRun(runId: string): void {
    for (const key of [...this.waiters.keys()]) if (key.startsWith(`${runId}\u0000`)) this.waiters.delete(key);
    this.pausedRuns.delete(runId);
  }

  /** The call stops waiting, answered (the answer journaled) or not: the item runs again, and so does its run. */
  private async stopWaiting(waiter: Waiter, answered: boolean, value?: unknown): Promise<void> {
    if (!this.remove(waiter)) return;
    const { runId, itemIndex, stepId } = waiter;
    const run = this.runs.activeRun(runId);
    if (run) run.paused--;
    const stillWaiting = (this.waiters.get(keyOf(runId, itemIndex, stepId))?.length ?? 0) > 0;
    // In the same commit as the item's change: the run never shows paused while it runs.
    const resumes = this.pausedRuns.delete(runId) && run !== undefined && !run.cancelled;
    const writes: StoreWrite[] = [];
    if (answered) writes.push({ op: 'answerStepInput', runId, itemIndex, stepId, n: waiter.n, value });
    if (!stillWaiting) writes.push({ op: 'setItemStatus', runId, itemIndex, status: 'running' });
    if (resumes) writes.push({ op: 'setRunStatus', runId, status: 'running' });
    await this.runs.journal(runId, writes);
    if (answered) await this.runs.emit(runId, 'input_received', { itemIndex, stepId, data: { value, ...(waiter.n > 0 ? { n: waiter.n } : {}) } });
    if (resumes) await this.runs.emit(runId, 'run_status', { data: { status: 'running' } });
  }

  private remove(waiter: Waiter): boolean {
    const key = keyOf(waiter.runId, waiter.itemIndex, waiter.stepId);
    const waiting = this.waiters.get(key);
    const at = waiting?.indexOf(waiter) ?? -1;
    if (!waiting || at < 0) return false;
    waiting.splice(at, 1);
    if (waiting.length === 0) this.waiters.delete(key);
    return true;
  }
}

function notWaiting(runId: string, itemIndex: number, stepId: string): ProtocolError {
  return new ProtocolError(ErrorCodes.NotFound, `run ${runId}: item ${itemIndex} step "${stepId}" is not waiting for input`, { runId, itemIndex, stepId });
}

/** A human's answer that breaks the step's schema is refused, naming every issue. */
function checkAnswer(validate: Validate, value: unknown, itemIndex: number, stepId: string): void {
  if (validate(value)) return;
  const issues = validationIssues(validate.errors, 'value');
  throw new ProtocolError(ErrorCodes.InvalidInputValue,
    `input for item ${itemIndex} step "${stepId}" does not match its schema: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

const keyOf = (runId: string, itemIndex: number, stepId: string) => `${runId}\u0000${itemIndex}\u0000${stepId}`;
