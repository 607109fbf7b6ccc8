/**
 * A call from a component back into the runtime (blobs/*, runs/*, inputs/await) failed:
 * carries the JSON-RPC error's code, message and data.
 */
export class RuntimeCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly rpcMessage: string,
    readonly data?: unknown,
  ) {
    super(`${method} failed: ${rpcMessage} (code ${code})`);
    this.name = 'RuntimeCallError';
  }
}
