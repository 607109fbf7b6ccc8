/** A non-2xx answer from weft serve: the status and the server's error body. */
export class WeftHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The JSON-RPC-style code (e.g. -32011 not found) when the server gave one. */
    readonly code?: number | string,
    /** Details: `issues` ({path, rule, message}) for validation errors, `diagnostics` for invalid flows. */
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'WeftHttpError';
  }
}
