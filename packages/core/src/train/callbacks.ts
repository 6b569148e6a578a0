import { ConfigError } from '../errors/index.js';

/** An event: a `type` tag and its fields. Trainers define a union of these. */
export interface TrainerEventBase {
  type: string;
}

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** The callback name for an event type: `'task-begin'` → `'onTaskBegin'`. */
export type CallbackName<T extends string> = `on${Capitalize<Camel<T>>}`;

/**
 * Callbacks in the style of tfjs's `model.fit({ callbacks })`: one optional handler per event
 * type (`onStep`, `onCheckpoint`, `onTaskEnd`, …) and `onEvent` for every event. A handler may
 * be async; the trainer awaits it before going on.
 */
export type TrainerCallbacks<E extends TrainerEventBase> = {
  [K in E['type'] as CallbackName<K>]?: (event: Extract<E, { type: K }>) => unknown;
} & { onEvent?: (event: E) => unknown };

export function callbackName<T extends string>(type: T): CallbackName<T> {
  const camel = type.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return `on${camel[0]!.toUpperCase()}${camel.slice(1)}` as CallbackName<T>;
}

/**
 * Checks a callbacks object against the event types a trainer emits (a misspelt `onStepEnd` is
 * a ConfigError listing the names it has) and returns the function that delivers an event: to
 * its handler, then to `onEvent`.
 */
export function eventEmitter<E extends TrainerEventBase>(
  types: readonly E['type'][],
  callbacks: TrainerCallbacks<E> | Record<string, unknown> = {},
): (event: E) => Promise<void> {
  const names = new Set<string>([...types.map(callbackName), 'onEvent']);
  const table = callbacks as Record<string, unknown>;
  for (const [k, v] of Object.entries(table)) {
    if (!names.has(k))
      throw new ConfigError(`callbacks.${k}`, `is not a callback of this trainer; it has ${[...names].join(', ')}`);
    if (v !== undefined && typeof v !== 'function') throw new ConfigError(`callbacks.${k}`, 'must be a function');
  }
  const onEvent = table.onEvent as ((e: E) => unknown) | undefined;
  // each event type's handler looked up once, not per event
  const handlers = new Map(types.map((t) => [t, table[callbackName(t)] as ((e: E) => unknown) | undefined]));
  return async (event) => {
    const handler = handlers.get(event.type);
    if (handler) await handler(event);
    if (onEvent) await onEvent(event);
  };
}
