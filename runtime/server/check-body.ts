import { ErrorCodes, ProtocolError, validationIssues, validatorFor } from '../../protocol/index.js';

/**
 * Validates a request body or query against `schemas/http.json#/$defs/<def>`; a
 * mismatch is a 400 whose message names each field (`body.inputs: must be array`).
 */
export function checkBody<T>(def: string, value: unknown, where: 'body' | 'query' = 'body'): T {
  const validate = validatorFor('http', def);
  if (validate(value ?? (where === 'query' ? {} : value))) return value as T;
  if (value === undefined || value === null) {
    throw new ProtocolError(ErrorCodes.InvalidParams, `${where}: a JSON object is required`, { issues: [{ path: where, rule: 'type', message: 'must be object' }] });
  }
  const issues = validationIssues(validate.errors, where);
  throw new ProtocolError(ErrorCodes.InvalidParams, issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

