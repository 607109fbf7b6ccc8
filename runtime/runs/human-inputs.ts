import type { AwaitInputParams } from '../../protocol/index.js';
import { ErrorCodes, ProtocolError, compileUserSchema, validationIssues } from '../../protocol/index.js';
import { onAbort } from '../plugins/on-abort.js';
import type { CallerContext } from '../plugins/runtime-context.js';
import type { RunManager } from './run-manager.js';

interface Waiter { schema?: unknown; resolve(value: unknown): void; reject(error: Error): void }

/**
 * Pausing an item for a human's input (`/builtin/await_input`, SDK `ctx.awaitInput`).
 * The request is journaled (step state `awaiting_input`, an event with prompt and
 * schema); the value, once sent, is journaled as an `input_received` event before the
 * step continues, so a restart while paused, or after the value arrived, loses nothing.
 */
export class HumanInputs {
  private readonly waiters = new Map<string, Waiter>();

  constructor(private readonly runs: RunManager) {}

  async await(params: AwaitInputParams, caller?: CallerContext): Promise<unknown> {
    const { runId, itemIndex, stepId } = caller ?? {};
    if (!runId || itemIndex === undefined || !stepId) {
      throw new ProtocolError(ErrorCodes.InvalidParams, 'inputs/await: the calling run, item and step are unknown (send observability with run_id, item_index, step_id)');
    }
    if (!params || typeof params.prompt !== 'string') throw new ProtocolError(ErrorCodes.InvalidParams, 'inputs/await: prompt (string) is required');
    const active = this.runs.activeRun(runId);
    if (!active || active.cancelled) {
      // A late call from a cancelled or finished run must not reopen its item.
      throw new ProtocolError(ErrorCodes.InvalidParams, `inputs/await: run ${runId} is not running (it has ended or is being cancelled)`, { runId });
    }
    // Already answered before a restart? Then continue at once.
    const received = this.runs.listEvents(runId).find((e) => e.type === 'input_received' && e.itemIndex === itemIndex && e.stepId === stepId);
    if (received) return received.data?.value;

    const run = active;
    const key = keyOf(runId, itemIndex, stepId);
    const value = new Promise<unknown>((resolve, reject) => this.waiters.set(key, { schema: params.schema, resolve, reject }));
    const store = this.runs.storeState;
    await this.runs.journal(runId, () => {
      store.awaitStepInput(runId, itemIndex, stepId, { prompt: params.prompt, ...(params.schema !== undefined ? { schema: params.schema } : {}) }, new Date().toISOString());
      store.setItemStatus(runId, itemIndex, 'paused');
    });
    await this.runs.emit(runId, 'step_awaiting_input', { itemIndex, stepId, data: { prompt: params.prompt, schema: params.schema } });
    if (run) {
      run.paused++;
      // Paused when nothing else can proceed: every in-flight item waits for a human and no slot is free for more.
      if (run.paused === run.inFlight && (run.inFlight >= run.limit || !run.hasWaitingItems)) await this.runs.setStatus(run, 'paused');
    }
    // Through onAbort: a run's paused items all wait on the run's one signal.
    if (caller?.signal) onAbort(caller.signal, () => this.waiters.delete(key));
    return value;
  }

  async send(runId: string, itemIndex: number, stepId: string, value: unknown): Promise<void> {
    const key = keyOf(runId, itemIndex, stepId);
    const waiter = this.waiters.get(key);
    if (!waiter) {
      throw new ProtocolError(ErrorCodes.NotFound, `run ${runId}: item ${itemIndex} step "${stepId}" is not waiting for input`, { runId, itemIndex, stepId });
    }
    if (waiter.schema !== undefined) {
      const validate = compileUserSchema(waiter.schema);
      if (!validate(value)) {
        const issues = validationIssues(validate.errors, 'value');
        throw new ProtocolError(ErrorCodes.InvalidInputValue,
          `input for item ${itemIndex} step "${stepId}" does not match its schema: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          { issues });
      }
    }
    this.waiters.delete(key);
    const store = this.runs.storeState;
    await this.runs.journal(runId, () => store.setItemStatus(runId, itemIndex, 'running'));
    await this.runs.emit(runId, 'input_received', { itemIndex, stepId, data: { value } });
    const run = this.runs.activeRun(runId);
    if (run) {
      const wasPaused = run.paused === run.inFlight;
      run.paused--;
      if (wasPaused) await this.runs.setStatus(run, 'running');
    }
    waiter.resolve(value);
  }

  /** A cancelled run's waiters are dropped (their items are abandoned). */
  dropRun(runId: string): void {
    for (const key of [...this.waiters.keys()]) if (key.startsWith(`${runId}\u0000`)) this.waiters.delete(key);
  }
}

const keyOf = (runId: string, itemIndex: number, stepId: string) => `${runId}\u0000${itemIndex}\u0000${stepId}`;
