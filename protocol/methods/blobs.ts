import { RequestType } from 'vscode-jsonrpc/node';
import type { GetBlobParams, GetBlobResult, PutBlobParams, PutBlobResult } from '../types/component.js';

/** server → runtime */
export const BlobsPut = new RequestType<PutBlobParams, PutBlobResult, void>('blobs/put');
/** server → runtime */
export const BlobsGet = new RequestType<GetBlobParams, GetBlobResult, void>('blobs/get');
