import type { FastifyInstance } from 'fastify';
import { ErrorCodes, ProtocolError } from '../../protocol/index.js';
import type { Runtime } from '../api/runtime.js';
import type { ItemState, RunEventType } from '../store/state-store.js';
import { checkBody } from './check-body.js';

interface ListItemsQuery { status?: string; from?: string; limit?: string }
interface EventLogQuery { order?: 'newest' | 'oldest'; cursor?: string; limit?: string; types?: string; itemIndex?: string; stepId?: string }
type RunParams = { Params: { id: string } };

/**
 * What the debug page reads of one run besides its status: items in pages, one item with
 * its steps, counts per step, the event log in pages (newest or oldest first), and on a
 * shared store the executors: all of them, and those holding the run's items.
 */
export function registerInspectRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get('/executors', async () => ({ executors: await rt.executors() }));
  app.get<RunParams>('/runs/:id/executors', async (req) => {
    await rt.getRun(req.params.id); // 404 for an unknown run rather than an empty list
    return { executors: await rt.runHolders(req.params.id) };
  });
  app.get<RunParams>('/runs/:id/items', async (req) => {
    const q = checkBody<ListItemsQuery>('ListItemsQuery', req.query, 'query');
    return rt.listItems(req.params.id, {
      ...(q.from !== undefined ? { from: Number(q.from) } : {}),
      ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}),
      ...(q.status ? { statuses: q.status.split(',') as ItemState[] } : {}),
    });
  });
  app.get<{ Params: { id: string; index: string } }>('/runs/:id/items/:index', async (req) => {
    if (!/^[0-9]+$/.test(req.params.index)) throw new ProtocolError(ErrorCodes.InvalidParams, `path: item index "${req.params.index}" is not a non-negative integer`);
    return rt.getItem(req.params.id, Number(req.params.index));
  });
  app.get<RunParams>('/runs/:id/steps', async (req) => ({ steps: await rt.stepCounts(req.params.id) }));
  app.get<RunParams>('/runs/:id/log', async (req) => {
    const q = checkBody<EventLogQuery>('EventLogQuery', req.query, 'query');
    return rt.eventLog(req.params.id, {
      ...(q.order ? { order: q.order } : {}),
      ...(q.cursor !== undefined ? { cursor: Number(q.cursor) } : {}),
      ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}),
      ...(q.types ? { types: q.types.split(',') as RunEventType[] } : {}),
      ...(q.itemIndex !== undefined ? { itemIndex: Number(q.itemIndex) } : {}),
      ...(q.stepId !== undefined ? { stepId: q.stepId } : {}),
    });
  });
}
