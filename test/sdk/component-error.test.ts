import { describe, expect, it } from 'vitest';
import { ResponseError } from 'vscode-jsonrpc/node';
import { ComponentError, ErrorCodes } from '../../sdk/index.js';

describe('ComponentError', () => {
  it('defaults to -32003 and is both a ComponentError and a ResponseError', () => {
    const error = new ComponentError('nope');
    expect(error).toBeInstanceOf(ComponentError);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.toJson()).toEqual({ code: ErrorCodes.ComponentExecutionFailed, message: 'nope' });
  });

  it('carries the code and data its author chose', () => {
    const error = new ComponentError('busy', { code: ErrorCodes.ResourceUnavailable, data: { retryAfter: 1 } });
    expect(error.toJson()).toEqual({ code: -32005, message: 'busy', data: { retryAfter: 1 } });
    expect(error.name).toBe('ComponentError');
  });
});
