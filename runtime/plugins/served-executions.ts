import type { ObservabilityContext } from '../../protocol/index.js';
import type { CallerContext } from './runtime-context.js';

/** One components/execute request weft has sent to a component server and not yet had answered. */
export interface ServedExecution { runId?: string; itemIndex?: number; stepId?: string; attempt?: number; spanId?: string }

/**
 * The executions in flight on one component-server connection: what a callback from that
 * server (runs/submit, inputs/await, ...) can belong to. JSON-RPC does not link a callback
 * to the request it serves, so the caller is decided here, from what weft itself sent, not
 * from what the server claims:
 * - the `observability` the server echoes counts only if it names an execution in flight
 *   on this connection (a server cannot pass itself off as a shallower run);
 * - without it (or with a stale one), the caller is the one execution in flight;
 * - with several in flight and nothing naming one, the caller is unknown (`ambiguous`),
 *   and callbacks that need it (sub-runs, human input) are refused.
 * This is the one place that maps callbacks to executions: nesting depth, sub-run
 * parentage and trace parentage all come from it.
 */
export class ServedExecutions {
  private readonly inFlight = new Set<ServedExecution>();

  /** Registers an execution for the duration of its request; call the returned function when it is answered. */
  begin(execution: ServedExecution): () => void {
    this.inFlight.add(execution);
    return () => { this.inFlight.delete(execution); };
  }

  get size(): number { return this.inFlight.size; }

  /** The execution in flight when there is exactly one (what an unlabelled stderr line belongs to). */
  only(): ServedExecution | undefined {
    return this.inFlight.size === 1 ? this.inFlight.values().next().value : undefined;
  }

  /** The execution a callback carrying `observability` belongs to (see the class comment). */
  callerOf(observability: ObservabilityContext | undefined): CallerContext {
    const named = observability?.run_id ? this.find(observability) : undefined;
    const execution = named ?? this.only();
    if (!execution) return this.inFlight.size === 0 ? { served: 'none' } : { served: 'ambiguous' };
    const caller: CallerContext = { served: 'execution' };
    if (execution.runId !== undefined) caller.runId = execution.runId;
    if (execution.itemIndex !== undefined) caller.itemIndex = execution.itemIndex;
    if (execution.stepId !== undefined) caller.stepId = execution.stepId;
    if (execution.attempt !== undefined) caller.attempt = execution.attempt;
    return caller;
  }

  private find(o: ObservabilityContext): ServedExecution | undefined {
    for (const e of this.inFlight) {
      if (e.runId === o.run_id && (o.item_index === undefined || e.itemIndex === o.item_index)
        && (!o.step_id || e.stepId === o.step_id)) return e;
    }
    return undefined;
  }
}
