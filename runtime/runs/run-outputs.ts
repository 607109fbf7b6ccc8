import { ErrorCodes, ProtocolError } from '../../protocol/index.js';
import type { StepOutput } from '../plugins/runtime-context.js';
import type { RunEvent } from '../store/state-store.js';

/** Limits on what steps may stream (config `limits`); breaking one fails that step. */
export interface OutputLimits {
  /** Bytes of one chunk (text as UTF-8, bytes decoded, JSON serialised). */
  maxChunkBytes: number;
  /** Chunks of one attempt of one step. */
  maxChunksPerStep: number;
  /** Bytes of all chunks of one run. */
  maxStreamBytesPerRun: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  maxChunkBytes: 1024 * 1024,
  maxChunksPerStep: 100_000,
  maxStreamBytesPerRun: 256 * 1024 * 1024,
};

/** What a step_output event carries in `data`. */
export interface StepOutputData { stream: string; index: number; encoding: StepOutput['encoding']; chunk: unknown }

/**
 * The streamed output of one run in this process: the next index of each stream, the
 * bytes so far, the chunks of each step attempt, checked against the limits. Made when
 * the run's first chunk arrives, so a run that streams nothing pays nothing.
 */
export class RunOutputs {
  private bytes = 0;
  private readonly next = new Map<string, number>();
  /** `item \0 step` → chunks of its current attempt. */
  private readonly steps = new Map<string, { attempt: number; chunks: number }>();

  constructor(private readonly runId: string, private readonly limits: OutputLimits) {}

  /** Continues the indexes and the byte count of chunks an earlier process persisted (a resumed run). */
  recover(events: Iterable<RunEvent>): void {
    for (const e of events) {
      if (e.type !== 'step_output' || !e.data) continue;
      const d = e.data as unknown as StepOutputData;
      this.next.set(d.stream, Math.max(this.next.get(d.stream) ?? 0, d.index + 1));
      this.bytes += sizeOf(d.encoding, d.chunk) ?? 0;
    }
  }

  /** Checks the limits and numbers the chunk; throws OutputLimitExceeded naming the limit. */
  take(itemIndex: number, stepId: string, attempt: number, output: StepOutput): StepOutputData {
    const where = `step "${stepId}" of item ${itemIndex} (run ${this.runId}, attempt ${attempt})`;
    const size = sizeOf(output.encoding, output.chunk);
    if (size === undefined) throw limitError(`${where}: a chunk could not be serialised (nested too deeply?)`);
    const { maxChunkBytes, maxChunksPerStep, maxStreamBytesPerRun } = this.limits;
    if (size > maxChunkBytes) {
      throw limitError(`${where}: an output chunk of ${size} bytes exceeds limits.maxChunkBytes (${maxChunkBytes})`);
    }
    const key = `${itemIndex}\0${stepId}`;
    let step = this.steps.get(key);
    if (!step || step.attempt !== attempt) this.steps.set(key, (step = { attempt, chunks: 0 }));
    if (step.chunks >= maxChunksPerStep) {
      throw limitError(`${where}: more than limits.maxChunksPerStep (${maxChunksPerStep}) output chunks`);
    }
    if (this.bytes + size > maxStreamBytesPerRun) {
      throw limitError(`${where}: the run's streamed output would exceed limits.maxStreamBytesPerRun (${maxStreamBytesPerRun} bytes)`);
    }
    step.chunks++;
    this.bytes += size;
    const index = this.next.get(output.stream) ?? 0;
    this.next.set(output.stream, index + 1);
    return { stream: output.stream, index, encoding: output.encoding, chunk: output.chunk };
  }

  /** A step finished: its attempt's count is no longer needed. */
  stepDone(itemIndex: number, stepId: string): void {
    if (this.steps.size > 0) this.steps.delete(`${itemIndex}\0${stepId}`);
  }
}

function limitError(message: string): ProtocolError {
  return new ProtocolError(ErrorCodes.OutputLimitExceeded, `output limit exceeded: ${message}`);
}

/** A chunk's size in bytes; undefined if it cannot be serialised. */
function sizeOf(encoding: StepOutput['encoding'], chunk: unknown): number | undefined {
  if (encoding === 'text') return Buffer.byteLength(chunk as string, 'utf8');
  if (encoding === 'base64') return Buffer.byteLength(chunk as string, 'base64');
  try {
    return Buffer.byteLength(JSON.stringify(chunk) ?? 'null', 'utf8');
  } catch {
    return undefined;
  }
}
