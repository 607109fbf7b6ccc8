import type { BlobId } from '../../protocol/index.js';
import type { Plugin } from '../plugins/plugin.js';
import type { PluginRouter } from '../plugins/plugin-router.js';
import type { RuntimeContext } from '../plugins/runtime-context.js';
import type { AsyncBlobStore } from '../store/async-state-store.js';
import type { WeftConfig } from './config-types.js';
import { pluginSet } from './plugin-set.js';

/** What a run keeps of the config it was submitted with: all but where the file was read from. */
export function configBlobOf(config: WeftConfig): Omit<WeftConfig, 'source'> {
  const { source: _source, ...rest } = config;
  return rest;
}

/**
 * The configs of runs submitted elsewhere (another directory, another `--config`) that
 * this runtime resumes or forks: each config blob's plugins are started once, on first
 * need, with this runtime's run manager as their callback context, and closed with it.
 */
export class RunConfigs {
  private readonly started = new Map<string, Promise<{ plugins: Plugin[]; router: PluginRouter }>>();

  constructor(private readonly blobs: AsyncBlobStore, private readonly context: () => RuntimeContext) {}

  routerFor(configId: BlobId): Promise<PluginRouter> {
    let set = this.started.get(configId);
    if (!set) {
      set = this.start(configId);
      this.started.set(configId, set);
      // A config that could not start is tried again next time (its servers may be back).
      set.catch(() => this.started.delete(configId));
    }
    return set.then((s) => s.router);
  }

  private async start(configId: BlobId): Promise<{ plugins: Plugin[]; router: PluginRouter }> {
    const blob = await this.blobs.getBlob(configId);
    if (!blob || blob.type !== 'data') throw new Error(`config blob ${configId} is not in the store`);
    const { plugins, router } = pluginSet(blob.data as WeftConfig);
    const list = [...plugins.values()];
    const inits = await Promise.allSettled(list.map((p) => p.init(this.context())));
    const failed = inits.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(list.map((p) => p.close()));
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    return { plugins: list, router };
  }

  async close(): Promise<void> {
    const sets = await Promise.allSettled(this.started.values());
    this.started.clear();
    await Promise.allSettled(sets.flatMap((s) => (s.status === 'fulfilled' ? s.value.plugins.map((p) => p.close()) : [])));
  }
}
