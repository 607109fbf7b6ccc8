import { FLOW_SCHEMA_URL } from '../../../protocol/index.js';

/**
 * Schema fragments shared by the builtins. A flow is only checked for its shape here
 * (an object with the flow `schema` URL): the run manager validates it fully when it
 * is submitted, with errors naming the step and rule.
 */
export const FLOW_SHAPE_SCHEMA = {
  type: 'object',
  description: 'A flow definition (use $literal so the outer flow does not evaluate it).',
  required: ['schema'],
  properties: {
    schema: { const: FLOW_SCHEMA_URL },
    steps: { type: ['array', 'null'] },
  },
} as const;

/** Bare 64-hex (Stepflow) or `sha256:`-prefixed (weft). */
export const BLOB_ID_SCHEMA = {
  type: 'string',
  pattern: '^(sha256:)?[0-9a-fA-F]{64}$',
  description: 'A blob id: sha256:<64 hex> or bare 64 hex.',
} as const;

/** Stepflow's FlowResult shape, as nested results are reported. */
export const FLOW_RESULT_SCHEMA = {
  type: 'object',
  required: ['outcome'],
  properties: {
    outcome: { enum: ['success', 'failed'] },
    result: {},
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: ['string', 'integer'] }, message: { type: 'string' }, data: {} },
    },
  },
} as const;
