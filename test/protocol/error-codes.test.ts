import { describe, expect, it } from 'vitest';
import { ComponentErrorCodes, ErrorCodes, FLOW_ERROR_CODES, ProtocolError, TASK_ERROR_CODES, failure } from '../../protocol/index.js';

describe('error codes', () => {
  it('gives every name in ErrorCodes a distinct integer value', () => {
    const entries = Object.entries(ErrorCodes);
    expect(entries.length).toBeGreaterThan(10);
    const byValue = new Map<number, string[]>();
    for (const [name, value] of entries) {
      expect(Number.isInteger(value), name).toBe(true);
      byValue.set(value, [...(byValue.get(value) ?? []), name]);
    }
    const duplicates = [...byValue.entries()].filter(([, names]) => names.length > 1);
    expect(duplicates).toEqual([]);
  });

  it("keeps Stepflow's values, including its swap of -32011 and -32012", () => {
    expect(ErrorCodes).toMatchObject({
      ParseError: -32700, InvalidRequest: -32600, MethodNotFound: -32601, InvalidParams: -32602, InternalError: -32603,
      ServerError: -32000, ComponentNotFound: -32001, NotFound: -32011, InvalidValue: -32012,
    });
  });

  it("maps component-server meanings onto ErrorCodes the way Stepflow's SDK does", () => {
    const values = new Set<number>(Object.values(ErrorCodes));
    for (const value of Object.values(ComponentErrorCodes)) expect(values.has(value)).toBe(true);
    expect(ComponentErrorCodes.InputValidationFailed).toBe(-32002);
    expect(ComponentErrorCodes.ExecutionFailed).toBe(-32003);
    expect(ComponentErrorCodes.ComponentNotFound).toBe(-32001);
  });

  it('serializes a ProtocolError as a JSON-RPC error object', () => {
    const error = new ProtocolError(ErrorCodes.BlobNotFound, "Blob 'abc' not found", { blob_id: 'abc' });
    expect(error.toJson()).toEqual({ code: -32008, message: "Blob 'abc' not found", data: { blob_id: 'abc' } });
    expect(new ProtocolError(ErrorCodes.InternalError, 'x').toJson()).toEqual({ code: -32603, message: 'x' });
  });

  it("gives every failure kind an integer FlowError code in Stepflow's numbering, carried with the kind", () => {
    expect(TASK_ERROR_CODES).toHaveLength(11);
    for (const kind of TASK_ERROR_CODES) expect(Number.isInteger(FLOW_ERROR_CODES[kind]), kind).toBe(true);
    expect(FLOW_ERROR_CODES.EXPRESSION_FAILURE).toBe(1);
    for (const kind of ['COMPONENT_FAILED', 'INVALID_INPUT', 'UNREACHABLE', 'COMPONENT_NOT_FOUND', 'TIMEOUT', 'CANCELLED'] as const) {
      expect(FLOW_ERROR_CODES[kind], kind).toBe(500);
    }
    expect(failure('INVALID_INPUT', 'bad', { at: 'x' })).toEqual({ outcome: 'failed', error: { code: 500, kind: 'INVALID_INPUT', message: 'bad', data: { at: 'x' } } });
  });
});
