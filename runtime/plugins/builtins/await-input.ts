import { compileUserSchema, failure, success } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';

interface AwaitInputInput { prompt: string; schema?: unknown }

/** Pauses the item until a human supplies a value (the run manager validates it against `schema`). */
export const awaitInput: BuiltinComponent<AwaitInputInput> = {
  component: '/await_input',
  description: 'Pause this item until a human supplies a value matching the optional JSON Schema; returns {value}.',
  input_schema: {
    type: 'object',
    required: ['prompt'],
    properties: {
      prompt: { type: 'string', description: 'What to ask the human.' },
      schema: { type: ['object', 'boolean'], description: 'JSON Schema the supplied value must match.' },
    },
  },
  output_schema: { type: 'object', required: ['value'], properties: { value: {} } },
  async run(input, request, runtime) {
    // A schema ajv cannot compile would only surface when the human answers: fail now.
    if (input.schema !== undefined) {
      try {
        compileUserSchema(input.schema);
      } catch (err) {
        return failure('INVALID_INPUT', `builtin /await_input: schema: not a usable JSON Schema: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const value = await runtime.awaitInput({ prompt: input.prompt, schema: input.schema }, request.caller);
    return success({ value });
  },
};
