import { ResponseError } from 'vscode-jsonrpc/node';
import type { ValidateFunction } from 'ajv';
import { ComponentErrorCodes, ProtocolError } from '../protocol/errors.js';
import { compileUserSchema, validationIssues } from '../protocol/validate.js';
import type { ComponentInfo, ValidationIssue } from '../protocol/index.js';
import type { ComponentContext } from './component-context.js';
import type { InputOf } from './schema-type.js';

export type JsonSchema = Record<string, unknown> | boolean;

/** `S`: the inputSchema's literal type, from which the handler's input is typed (see SchemaType). */
export interface ComponentOptions<S extends JsonSchema | undefined = JsonSchema | undefined> {
  description?: string;
  /** Inputs that do not match are rejected with -32002 (INVALID_INPUT) before the handler runs. */
  inputSchema?: S;
  /** When given, an output that does not match fails the call with -32003. */
  outputSchema?: JsonSchema;
}

export type ComponentHandler<I = any, O = unknown> = (input: I, ctx: ComponentContext) => O | Promise<O>;

/** A component ready to register: its wire info and a validated execute. */
export interface ComponentDefinition {
  readonly path: string;
  readonly info: ComponentInfo;
  /** Resolves to the output, or rejects with a ResponseError that goes on the wire as is. */
  execute(input: unknown, ctx: ComponentContext): Promise<unknown>;
}

/** `double` → `/double` (Stepflow's SDK registers functions under "/" + name). */
export function componentPath(name: string): string {
  return name.startsWith('/') ? name : `/${name}`;
}

/**
 * Compiles the schemas once, here, so a bad schema fails at registration rather than per call.
 * The handler's `input` is typed from `inputSchema` (`S`, inferred as a literal), or by
 * annotating the handler's parameter (`I`), which wins; with neither it is `any`.
 */
export function defineComponent<const S extends JsonSchema | undefined = undefined, O = unknown, I = InputOf<S>>(
  name: string,
  options: ComponentOptions<S>,
  handler: ComponentHandler<I, O>,
): ComponentDefinition {
  const path = componentPath(name);
  const validateInput = compile(path, 'inputSchema', options.inputSchema);
  const validateOutput = compile(path, 'outputSchema', options.outputSchema);
  const info: ComponentInfo = { component: path };
  if (options.description !== undefined) info.description = options.description;
  if (options.inputSchema !== undefined) info.input_schema = options.inputSchema;
  if (options.outputSchema !== undefined) info.output_schema = options.outputSchema;

  return {
    path,
    info,
    async execute(input, ctx) {
      if (validateInput && !validateInput(input)) {
        const issues = validationIssues(validateInput.errors, 'input');
        throw new ProtocolError(ComponentErrorCodes.InputValidationFailed,
          `Input validation failed for '${path}': ${describe(issues)}`, { component: path, issues });
      }
      let output: unknown;
      try {
        output = await handler(input as I, ctx);
      } catch (error) {
        throw executionError(path, error, ctx.signal);
      }
      if (validateOutput && !validateOutput(output)) {
        const issues = validationIssues(validateOutput.errors, 'output');
        throw new ProtocolError(ComponentErrorCodes.ExecutionFailed,
          `Component execution failed: output of '${path}' does not match its outputSchema: ${describe(issues)}`,
          { component: path, issues });
      }
      // JSON has no undefined: a handler that returns nothing outputs null.
      return output === undefined ? null : output;
    },
  };
}

function compile(path: string, which: string, schema: JsonSchema | undefined): ValidateFunction | undefined {
  if (schema === undefined) return undefined;
  try {
    return compileUserSchema(schema);
  } catch (error) {
    throw new Error(`component '${path}': invalid ${which}: ${(error as Error).message}`, { cause: error });
  }
}

function describe(issues: ValidationIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message} (${i.rule})`).join('; ');
}

/** A thrown value → the error the runtime sees; ComponentError and other ResponseErrors pass through. */
function executionError(path: string, error: unknown, signal: AbortSignal): ResponseError<unknown> {
  if (error instanceof ResponseError) return error;
  if (signal.aborted) return new ProtocolError(ComponentErrorCodes.Cancelled, `Component '${path}' was cancelled`);
  if (error instanceof Error) {
    return new ProtocolError(ComponentErrorCodes.ExecutionFailed, `Component execution failed: ${error.message}`,
      { message: error.message, stack: error.stack });
  }
  const message = String(error);
  return new ProtocolError(ComponentErrorCodes.ExecutionFailed, `Component execution failed: ${message}`, { message });
}
