import type { FlowResult } from '../../../protocol/index.js';
import type { ExecuteRequest } from '../plugin.js';
import type { RuntimeContext } from '../runtime-context.js';

/**
 * One `/builtin/*` component. `run` receives input already validated against
 * `input_schema` and resolves to a FlowResult; it may throw only for errors coming
 * from the RuntimeContext, which BuiltinPlugin turns into failures.
 */
export interface BuiltinComponent<I = any> {
  /** The name the plugin knows, e.g. `/eval` (the router strips the `/builtin` prefix). */
  component: string;
  description: string;
  input_schema: Record<string, unknown>;
  output_schema: Record<string, unknown>;
  run(input: I, request: ExecuteRequest, runtime: RuntimeContext): Promise<FlowResult>;
}
