import { FLOW_ERROR_CODES, canonicalJson, failure, flowError, isTaskErrorCode, success } from '../../protocol/index.js';
import type { ComponentInfo, FlowError, FlowResult } from '../../protocol/index.js';
import type { MockPluginConfig } from '../api/config-types.js';
import type { ExecuteRequest, Plugin } from './plugin.js';
import type { RuntimeContext } from './runtime-context.js';

/**
 * Stepflow's `type: mock` plugin (runtime.md §1.3): each component answers inputs it has a
 * behaviour for (matched by JSON value, key order ignored) with the configured FlowResult.
 * Used by flows' test cases; in-process, so business failures keep their own codes.
 */
export class MockPlugin implements Plugin {
  private readonly components = new Map<string, { info: ComponentInfo; behaviors: Map<string, FlowResult> }>();

  constructor(readonly name: string, config: MockPluginConfig) {
    for (const [path, c] of Object.entries(config.components ?? {})) {
      const behaviors = new Map<string, FlowResult>();
      for (const b of c.behaviors ?? []) {
        const key = canonicalJson(b.input);
        // First behaviour wins, as a YAML map cannot hold the same key twice anyway.
        if (!behaviors.has(key)) behaviors.set(key, toFlowResult(b.output, path));
      }
      const info: ComponentInfo = { component: path };
      if (c.input_schema !== undefined) info.input_schema = c.input_schema;
      if (c.output_schema !== undefined) info.output_schema = c.output_schema;
      this.components.set(path, { info, behaviors });
    }
  }

  async init(_runtime: RuntimeContext): Promise<void> {}

  async listComponents(): Promise<ComponentInfo[]> {
    return [...this.components.values()].map((c) => c.info);
  }

  async componentInfo(component: string): Promise<ComponentInfo | undefined> {
    return this.components.get(component)?.info;
  }

  async execute(request: ExecuteRequest): Promise<FlowResult> {
    const c = this.components.get(request.component);
    if (!c) return failure('COMPONENT_NOT_FOUND', `mock plugin "${this.name}" has no component ${request.component}`);
    return c.behaviors.get(canonicalJson(request.input))
      ?? failure('COMPONENT_FAILED', `No behavior defined for ${request.component} on ${JSON.stringify(request.input)}`);
  }

  async close(): Promise<void> {}
}

/** `{outcome: success, result}`, `{outcome: failed, error}` or `{error: "<msg>"}` (a component error). */
function toFlowResult(output: unknown, path: string): FlowResult {
  const o = (output ?? {}) as Record<string, unknown>;
  if (o.outcome === 'success') return success(o.result ?? null);
  if (o.outcome === 'failed' && o.error && typeof o.error === 'object') {
    const e = o.error as { code?: unknown; kind?: unknown; message?: unknown; data?: unknown };
    const message = typeof e.message === 'string' ? e.message : JSON.stringify(e.message ?? null);
    return { outcome: 'failed', error: mockError(e.code, e.kind, message, e.data) };
  }
  if (typeof o.error === 'string') return failure('COMPONENT_FAILED', o.error);
  return failure('COMPONENT_FAILED', `mock behavior for ${path} is not a FlowResult or {error}: ${JSON.stringify(output)}`);
}

/**
 * A configured error as weft's FlowError: Stepflow's integer `code` is kept as given (its
 * kind is EXPRESSION_FAILURE for 1, else COMPONENT_FAILED); a kind name, given as `kind`
 * or as weft's former string `code`, gets that kind's code.
 */
function mockError(code: unknown, kind: unknown, message: string, data: unknown): FlowError {
  const named = isTaskErrorCode(kind) ? kind : isTaskErrorCode(code) ? code : undefined;
  if (typeof code === 'number' && Number.isInteger(code)) {
    return flowError(named ?? (code === FLOW_ERROR_CODES.EXPRESSION_FAILURE ? 'EXPRESSION_FAILURE' : 'COMPONENT_FAILED'), message, data, code);
  }
  return flowError(named ?? 'COMPONENT_FAILED', message, data);
}
