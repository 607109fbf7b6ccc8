import type { Message, MessageWriter } from 'vscode-jsonrpc/node';
import { ResponseError } from 'vscode-jsonrpc/node';
import type { ValidateFunction } from 'ajv';
import {
  DEFAULT_OUTPUT_STREAM, ErrorCodes, OutputsEmit, OutputsTaken, formatValidationError, validationIssues, validatorFor,
} from '../../protocol/index.js';
import type { ObservabilityContext, OutputsEmitParams } from '../../protocol/index.js';
import type { CallerContext, RuntimeContext } from './runtime-context.js';

/** The execution a chunk belongs to, still in flight on this connection; `fail` ends it with an error. */
export interface LiveExecution { fail(error: ResponseError<unknown>): void }

export interface OutputReceiverOptions {
  runtime: RuntimeContext;
  writer: MessageWriter;
  /** The components/execute in flight for this run, item, step and attempt, if any. */
  find(observability: ObservabilityContext, attempt: number): LiveExecution | undefined;
  log(message: string): void;
}

/** The chunks of one commit: acknowledged together, through the last seq among them. */
interface TakenGroup { promise: Promise<void>; through: number }

let validate: ValidateFunction | undefined;

/**
 * A component server's outputs/emit notifications on one connection: each is checked,
 * matched to the execution in flight that sent it and handed to the runtime; once the
 * commit that holds them is done, one outputs/taken says so for all of them. Chunks of
 * no execution in flight (a late or stray one) are dropped and still acknowledged, so the
 * server's window never stalls; a chunk that breaks a limit fails its execution.
 */
export class OutputReceiver {
  private group: TakenGroup | undefined;
  private dropped = 0;

  constructor(private readonly o: OutputReceiverOptions) {}

  /** For the reader's intercept: consumes outputs/emit (a notification: no id). */
  readonly intercept = (message: Message): boolean => {
    const m = message as { method?: unknown; id?: unknown; params?: unknown };
    if (m.method !== OutputsEmit.method || m.id !== undefined) return false;
    this.receive(m.params);
    return true;
  };

  receive(raw: unknown): void {
    validate ??= validatorFor('protocol', 'OutputsEmitParams');
    if (!validate(raw)) {
      const seq = (raw as { seq?: unknown } | undefined)?.seq;
      this.o.log(`ignored an invalid outputs/emit: ${formatValidationError(undefined, validationIssues(validate.errors, 'params'))}`);
      if (typeof seq === 'number' && Number.isInteger(seq)) this.taken(seq, undefined);
      return;
    }
    const params = raw as OutputsEmitParams;
    const o = params.observability;
    const execution = this.o.find(o, params.attempt);
    if (!execution) return this.drop(params, 'no execution of that step and attempt is in flight on this server');
    const caller: CallerContext = { runId: o.run_id!, itemIndex: o.item_index!, stepId: o.step_id!, attempt: params.attempt };
    const output = { stream: params.stream ?? DEFAULT_OUTPUT_STREAM, encoding: params.encoding ?? 'json', chunk: params.chunk };
    let committed: Promise<void> | undefined;
    try {
      committed = this.o.runtime.emitOutput?.(output, caller);
    } catch (error) {
      execution.fail(error instanceof ResponseError ? error
        : new ResponseError(ErrorCodes.ServerError, `outputs/emit failed: ${(error as Error)?.message ?? String(error)}`));
    }
    this.taken(params.seq, committed);
  }

  private drop(params: OutputsEmitParams, why: string): void {
    // One line per burst is enough to notice; a server that keeps emitting late must not flood the log.
    if (this.dropped++ % 1000 === 0) {
      const o = params.observability;
      this.o.log(`dropped a chunk of run ${o.run_id} item ${o.item_index} step "${o.step_id}" attempt ${params.attempt}: ${why} (${this.dropped} dropped so far)`);
    }
    this.taken(params.seq, undefined);
  }

  /** Acknowledges `seq` with the commit it is in (`committed`), or with the latest one when it holds nothing. */
  private taken(seq: number, committed: Promise<void> | undefined): void {
    const g = this.group;
    if (g && (committed === undefined || committed === g.promise)) { g.through = Math.max(g.through, seq); return; }
    if (committed === undefined) { this.send(seq); return; }
    const next: TakenGroup = { promise: committed, through: seq };
    this.group = next;
    const settle = (ok: boolean) => {
      if (this.group === next) this.group = undefined;
      // A failed commit fails the run (and so the execution): nothing to acknowledge.
      if (ok) this.send(next.through);
    };
    committed.then(() => settle(true), () => settle(false));
  }

  private send(through: number): void {
    this.o.writer.write({ jsonrpc: '2.0', method: OutputsTaken.method, params: { through } } as Message).catch(() => undefined);
  }
}
