import { success } from '../../../protocol/index.js';
import type { BlobType } from '../../../protocol/index.js';
import type { BuiltinComponent } from './builtin-component.js';
import { BLOB_ID_SCHEMA, FLOW_SHAPE_SCHEMA } from './schemas.js';

interface PutBlobInput { data: unknown; blob_type: Extract<BlobType, 'data' | 'flow'> }

export const putBlob: BuiltinComponent<PutBlobInput> = {
  component: '/put_blob',
  description: 'Store a JSON value (or a flow) as a content-addressed blob; the same value always gets the same id.',
  input_schema: {
    type: 'object',
    required: ['data', 'blob_type'],
    properties: {
      data: { description: 'Any JSON value.' },
      blob_type: { enum: ['data', 'flow'] },
    },
    // A flow blob must look like a flow: it is what /eval and runs/submit will run.
    if: { properties: { blob_type: { const: 'flow' } }, required: ['blob_type'] },
    then: { properties: { data: FLOW_SHAPE_SCHEMA } },
  },
  output_schema: { type: 'object', required: ['blob_id'], properties: { blob_id: BLOB_ID_SCHEMA } },
  async run(input, request, runtime) {
    const blobId = await runtime.putBlob(input.data, input.blob_type, request.caller);
    return success({ blob_id: blobId });
  },
};
