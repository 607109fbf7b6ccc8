import type { ValidateFunction } from 'ajv';
import { compileUserSchema } from '../../protocol/index.js';
import type { Plugin } from '../plugins/plugin.js';

/** The compiled input/output schemas a component declares (absent: nothing to check). */
export interface ComponentValidators {
  readonly input?: ValidateFunction;
  readonly output?: ValidateFunction;
}

const NONE: ComponentValidators = Object.freeze({});
// One componentInfo call and one compilation per plugin instance and component, for all items.
const cache = new WeakMap<Plugin, Map<string, Promise<ComponentValidators>>>();
// The same, once loaded: read synchronously, so a step does not wait a microtask turn for it.
const ready = new WeakMap<Plugin, Map<string, ComponentValidators>>();

/** The validators if already loaded, else undefined (then await `componentValidators`). */
export function loadedComponentValidators(plugin: Plugin, component: string): ComponentValidators | undefined {
  return ready.get(plugin)?.get(component);
}

export function componentValidators(plugin: Plugin, component: string): Promise<ComponentValidators> {
  let byComponent = cache.get(plugin);
  if (!byComponent) cache.set(plugin, (byComponent = new Map()));
  let entry = byComponent.get(component);
  if (!entry) {
    byComponent.set(component, (entry = load(plugin, component)));
    void entry.then((validators) => {
      let loaded = ready.get(plugin);
      if (!loaded) ready.set(plugin, (loaded = new Map()));
      loaded.set(component, validators);
    });
  }
  return entry;
}

async function load(plugin: Plugin, component: string): Promise<ComponentValidators> {
  let info;
  try {
    info = await plugin.componentInfo(component);
  } catch {
    // A server that cannot describe a component can still execute it; execute reports real failures.
    return NONE;
  }
  if (!info) return NONE;
  return { input: compileOrSkip(info.input_schema), output: compileOrSkip(info.output_schema) };
}

function compileOrSkip(schema: unknown): ValidateFunction | undefined {
  if (schema === undefined || schema === null || schema === true) return undefined;
  if (typeof schema === 'object' && Object.keys(schema).length === 0) return undefined;
  try {
    return compileUserSchema(schema);
  } catch {
    // A component's own unusable schema is not the flow author's error: execute without the check.
    return undefined;
  }
}
