import { NotificationType } from 'vscode-jsonrpc/node';
import type { OutputsEmitParams, OutputsTakenParams } from '../types/output.js';

/**
 * server → runtime (weft extension): one chunk of a step's streamed output. A notification:
 * a server that never streams never sends it, and Stepflow's servers are unaffected.
 */
export const OutputsEmit = new NotificationType<OutputsEmitParams>('outputs/emit');
/**
 * runtime → server (weft extension): every `outputs/emit` of this connection up to `through`
 * has been taken (committed to the run's event log, or refused). Sent only to a server that
 * emitted; the SDK's write window waits on it.
 */
export const OutputsTaken = new NotificationType<OutputsTakenParams>('outputs/taken');
