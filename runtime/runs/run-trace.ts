import type { FlowError, FlowResult, RunState } from '../../protocol/index.js';
import type { RunRecord } from '../store/state-store.js';
import { traceIdOfRun } from '../telemetry/span-ids.js';
import type { TraceParent } from '../telemetry/span-ids.js';
import { activeTracer } from '../telemetry/tracer.js';
import type { WeftSpan } from '../telemetry/tracer.js';

/** A run's place in a trace: its trace id (always, for the wire) and, tracing on, its span. */
export interface RunTrace {
  readonly traceId: string;
  readonly span?: WeftSpan;
}

/**
 * Where a run's trace comes from: the span it was submitted under (a `traceparent`
 * header, a component's `runs/submit`), else its parent run's trace, else its root run's
 * own id (so a resumed run, or a sub-run resumed elsewhere, lands in the same trace).
 */
export function startRunTrace(record: RunRecord, parent: TraceParent | undefined, parentRunTraceId: string | undefined, resumed: boolean): RunTrace {
  const traceId = parent?.traceId ?? parentRunTraceId ?? traceIdOfRun(record.rootRunId ?? record.runId);
  const tracer = activeTracer();
  if (!tracer) return { traceId };
  const span = tracer.startSpan(`run ${record.flowName ?? record.flowId}`, {
    ...(parent ? { parent } : { traceId }),
    // A resumed run's span starts now: the first process's span ended (or died) with it.
    ...(resumed ? {} : { startTime: Date.parse(record.createdAt) }),
    attributes: {
      'weft.run.id': record.runId, 'weft.flow.id': record.flowId, 'weft.flow.name': record.flowName, 'weft.flow.label': record.flowLabel,
      'weft.run.items': record.items.total, 'weft.run.max_concurrency': record.maxConcurrency,
      'weft.run.parent_id': record.parentRunId, 'weft.run.root_id': record.rootRunId, 'weft.run.resumed': resumed || undefined,
    },
  });
  return { traceId, span };
}

export function endRunTrace(trace: RunTrace | undefined, status: RunState | 'failed', error?: FlowError): void {
  const span = trace?.span;
  if (!span) return;
  span.setAttributes({ 'weft.outcome': status });
  if (error) span.fail(error.kind, error.message);
  else if (status === 'failed') span.fail('ITEMS_FAILED', 'one or more items failed');
  span.end();
}

/** The item's span (tracing on), under the run's. */
export function startItemSpan(trace: RunTrace | undefined, runId: string, itemIndex: number): WeftSpan | undefined {
  const tracer = activeTracer();
  if (!tracer || !trace?.span) return undefined;
  return tracer.startSpan(`item ${itemIndex}`, {
    parent: trace.span.context,
    attributes: { 'weft.run.id': runId, 'weft.item.index': itemIndex },
  });
}

export function endItemSpan(span: WeftSpan, result: FlowResult): void {
  span.setAttributes({ 'weft.outcome': result.outcome });
  if (result.outcome === 'failed') span.fail(result.error.kind, result.error.message);
  span.end();
}
