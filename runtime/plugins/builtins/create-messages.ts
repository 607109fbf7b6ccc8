import { success } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';

interface CreateMessagesInput { system_instructions?: string; user_prompt: string }

const MESSAGE_SCHEMA = {
  type: 'object',
  required: ['role', 'content'],
  properties: { role: { enum: ['system', 'user', 'assistant'] }, content: { type: 'string' } },
} as const;

export const createMessages: BuiltinComponent<CreateMessagesInput> = {
  component: '/create_messages',
  description: 'Build a chat message list: the system instructions (if given) first, then the user prompt.',
  input_schema: {
    type: 'object',
    required: ['user_prompt'],
    properties: { system_instructions: { type: 'string' }, user_prompt: { type: 'string' } },
  },
  output_schema: {
    type: 'object',
    required: ['messages'],
    properties: { messages: { type: 'array', items: MESSAGE_SCHEMA } },
  },
  async run(input) {
    const messages = input.system_instructions !== undefined
      ? [{ role: 'system', content: input.system_instructions }, { role: 'user', content: input.user_prompt }]
      : [{ role: 'user', content: input.user_prompt }];
    return success({ messages });
  },
};
