import type { FlowResult, ObservabilityContext } from '../../protocol/index.js';
import { metricsSink } from '../telemetry/metrics-sink.js';
import { randomSpanId, traceIdOfRun } from '../telemetry/span-ids.js';
import { activeTracer } from '../telemetry/tracer.js';
import type { WeftSpan } from '../telemetry/tracer.js';
import type { ExecuteRequest, Plugin } from './plugin.js';

export interface RetryOptions {
  /** Extra executions after a transport failure (crash, broken pipe, timeout): default 3. */
  budget?: number;
  /** Awaited before every execution, the first included (the executor journals the attempt). */
  onAttempt?: (attempt: number) => void | Promise<void>;
}

/**
 * Executes, and re-executes with `attempt + 1` while the result is a transport failure
 * (UNREACHABLE or TIMEOUT, the "always" retry class of reference/protocol.md §10.4: the
 * component never ran to completion), at most `budget` more times.
 * Component failures are returned as they are: retrying those is the flow's decision.
 * Every execution is one step attempt: it gets a span id of its own on the wire (and a
 * `step` span when tracing is on), and its duration goes to the metrics.
 */
export async function executeWithRetries(plugin: Plugin, request: ExecuteRequest, options: RetryOptions = {}): Promise<FlowResult> {
  const budget = options.budget ?? 3;
  const base = request.observability;
  let attempt = request.attempt;
  for (let retries = 0; ; retries++, attempt++) {
    await options.onAttempt?.(attempt);
    // The first execution usually has the request's own attempt: no copies then.
    let current = attempt === request.attempt && request.caller.attempt === attempt ? request : { ...request, attempt, caller: { ...request.caller, attempt } };
    const tracer = activeTracer();
    const span = tracer?.startSpan(`step ${base.step_id ?? request.component}`, {
      ...(request.traceParent ? { parent: request.traceParent } : {}),
      ...(base.trace_id ? { traceId: base.trace_id } : {}),
      attributes: {
        'weft.run.id': base.run_id, 'weft.flow.id': base.flow_id, 'weft.item.index': base.item_index,
        'weft.step.id': base.step_id, 'weft.step.attempt': attempt, 'weft.component': request.componentPath ?? request.component,
        'weft.plugin': plugin.name,
      },
    });
    // Sub-runs a builtin submits for this attempt hang under its span.
    if (span) current = { ...current, caller: { ...current.caller, trace: span.context } };
    current.observability = attemptObservability(base, span);
    const sink = metricsSink();
    const started = sink ? performance.now() : 0;
    const result = await plugin.execute(current);
    if (span) endAttemptSpan(span, result);
    sink?.stepFinished(request.componentPath ?? request.component, result.outcome === 'success' ? 'success' : 'failed', (performance.now() - started) / 1000);
    const transportFailure = result.outcome === 'failed' && (result.error.kind === 'UNREACHABLE' || result.error.kind === 'TIMEOUT');
    if (!transportFailure || retries >= budget || request.signal?.aborted) return result;
  }
}

/**
 * This attempt's observability: Stepflow's five fields with a span id of its own, even
 * with tracing off, since Stepflow's Python SDK echoes run and step ids in its callbacks
 * only under a valid span (reference/scale-out.md §2.2). Built field by field: cheaper
 * than a spread, and weft's `item_index` extension rides along.
 */
function attemptObservability(base: ObservabilityContext, span: WeftSpan | undefined): ObservabilityContext {
  return {
    trace_id: span?.context.traceId ?? base.trace_id ?? traceIdOfRun(base.run_id ?? ''),
    span_id: span?.context.spanId ?? randomSpanId(),
    run_id: base.run_id, flow_id: base.flow_id, step_id: base.step_id, item_index: base.item_index,
  };
}

function endAttemptSpan(span: WeftSpan, result: FlowResult): void {
  span.setAttributes({ 'weft.outcome': result.outcome });
  if (result.outcome === 'failed') span.fail(result.error.kind, result.error.message);
  span.end();
}
