import { RequestType } from 'vscode-jsonrpc/node';
import type { GetRunParams, RunStatus, SubmitRunParams } from '../types/run.js';
import type { AwaitInputParams, AwaitInputResult } from '../types/component.js';

/** server → runtime */
export const RunsSubmit = new RequestType<SubmitRunParams, RunStatus, void>('runs/submit');
/** server → runtime */
export const RunsGet = new RequestType<GetRunParams, RunStatus, void>('runs/get');
/** server → runtime (weft extension): pause the calling item until a human supplies a value. */
export const InputsAwait = new RequestType<AwaitInputParams, AwaitInputResult, void>('inputs/await');
