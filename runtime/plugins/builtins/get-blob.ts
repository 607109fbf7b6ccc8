import { ErrorCodes, failure, normalizeBlobId, success } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';
import { rpcErrorCode } from './failure-from-error.js';
import { BLOB_ID_SCHEMA } from './schemas.js';

interface GetBlobInput { blob_id: string }

const NOT_FOUND: readonly number[] = [ErrorCodes.BlobNotFound, ErrorCodes.NotFound];

export const getBlob: BuiltinComponent<GetBlobInput> = {
  component: '/get_blob',
  description: 'Read a blob by id (sha256:<hex> or bare hex).',
  input_schema: { type: 'object', required: ['blob_id'], properties: { blob_id: BLOB_ID_SCHEMA } },
  output_schema: { type: 'object', required: ['data'], properties: { data: {} } },
  async run(input, request, runtime) {
    // The schema pattern guarantees a well-formed id.
    const id = normalizeBlobId(input.blob_id) ?? input.blob_id;
    let blob: { data: unknown; blobType: string };
    try {
      blob = await runtime.getBlob(id, request.caller);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const rpcCode = rpcErrorCode(err);
      const notFound = rpcCode !== undefined && NOT_FOUND.includes(rpcCode);
      return failure('COMPONENT_FAILED',
        notFound ? `builtin /get_blob: no blob with id "${id}"` : `builtin /get_blob: could not read blob "${id}": ${message}`,
        rpcCode === undefined ? { blob_id: id } : { blob_id: id, rpcCode });
    }
    if (blob.blobType === 'binary') {
      return failure('COMPONENT_FAILED', `builtin /get_blob: blob "${id}" holds binary data; only JSON blobs (data, flow) can be a step's output`);
    }
    return success({ data: blob.data });
  },
};
