import type { FlowResult } from '../../protocol/index.js';
import type { ExecuteRequest, Plugin } from './plugin.js';

export interface RetryOptions {
  /** Extra executions after a transport failure (crash, broken pipe): default 3. */
  budget?: number;
  /** Awaited before every execution, the first included (the executor journals the attempt). */
  onAttempt?: (attempt: number) => void | Promise<void>;
}

/**
 * Executes, and re-executes with `attempt + 1` while the result is a transport failure
 * (code UNREACHABLE: the component never ran to completion), at most `budget` more times.
 * Component failures are returned as they are: retrying those is the flow's decision.
 */
export async function executeWithRetries(plugin: Plugin, request: ExecuteRequest, options: RetryOptions = {}): Promise<FlowResult> {
  const budget = options.budget ?? 3;
  let attempt = request.attempt;
  for (let retries = 0; ; retries++, attempt++) {
    await options.onAttempt?.(attempt);
    // The first execution usually has the request's own attempt: no copies then.
    const current = attempt === request.attempt && request.caller.attempt === attempt ? request : { ...request, attempt, caller: { ...request.caller, attempt } };
    const result = await plugin.execute(current);
    const transportFailure = result.outcome === 'failed' && result.error.code === 'UNREACHABLE';
    if (!transportFailure || retries >= budget || request.signal?.aborted) return result;
  }
}
