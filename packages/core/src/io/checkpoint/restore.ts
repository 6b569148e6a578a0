import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../../errors/index.js';
import { sameShape } from '../../params.js';
import type { Rng } from '../../random.js';
import type { NetState } from '../../state.js';
import { clip, quoteName } from '../bounded-json.js';
import { describeError } from '../node.js';
import type { CheckpointLike } from './load.js';
import { NO_FILE, OPTIMIZER_PREFIX, STATE_PREFIX, type NamedTensor } from './meta.js';
import { optimizerWeights, rngFromState } from './run-state.js';

// ---------------------------------------------------------------------------------------
// restore: validate everything, then assign

export interface RestoreVariablesOptions {
  /** Reject checkpoint tensors no target takes (default true). `optimizer/` and `state/` are never counted. */
  strict?: boolean;
  /** Leave targets the checkpoint has no tensor for unchanged instead of failing (default false). */
  allowMissing?: boolean;
  /** Checkpoint names are `prefix + target name` (default ''). */
  prefix?: string;
}

function isReserved(name: string): boolean {
  return name.startsWith(OPTIMIZER_PREFIX) || name.startsWith(STATE_PREFIX);
}

function fileOf(checkpoint: CheckpointLike): string {
  return checkpoint.paths?.tensors ?? NO_FILE;
}

function usable(checkpoint: CheckpointLike, name: string, file: string): tf.Tensor {
  const t = checkpoint.tensors[name];
  if (t.isDisposed)
    throw new CheckpointError(file, `tensor '${name}' has been disposed (was checkpoint.dispose() called?)`);
  return t;
}

function planVariables(
  checkpoint: CheckpointLike,
  targets: Record<string, tf.Variable>,
  { strict = true, allowMissing = false, prefix = '' }: RestoreVariablesOptions,
): [tf.Variable, tf.Tensor][] {
  const file = fileOf(checkpoint);
  const plan: [tf.Variable, tf.Tensor][] = [];
  for (const [name, v] of Object.entries(targets)) {
    const key = prefix + name;
    if (!Object.hasOwn(checkpoint.tensors, key)) {
      if (allowMissing) continue;
      const have = Object.keys(checkpoint.tensors).filter((k) => !isReserved(k));
      throw new CheckpointError(
        file,
        `no tensor '${key}' for variable '${name}' (the checkpoint holds ${have.length} model tensors: ` +
          `${have.slice(0, 8).join(', ')}${have.length > 8 ? ', …' : ''}); pass {allowMissing: true} to skip it`,
      );
    }
    const t = usable(checkpoint, key, file);
    if (v.isDisposed) throw new CheckpointError(file, `variable '${name}' has been disposed`);
    if (!sameShape(t.shape, v.shape))
      throw new CheckpointError(
        file,
        `tensor '${key}' has shape [${t.shape.join(', ')}] but variable '${name}' has shape [${v.shape.join(', ')}]`,
      );
    if (t.dtype !== v.dtype)
      throw new CheckpointError(
        file,
        `tensor '${key}' has dtype ${t.dtype} but variable '${name}' has dtype ${v.dtype}`,
      );
    plan.push([v, t]);
  }
  if (strict)
    for (const key of Object.keys(checkpoint.tensors)) {
      if (isReserved(key) || !key.startsWith(prefix)) continue;
      if (!Object.hasOwn(targets, key.slice(prefix.length)))
        throw new CheckpointError(
          file,
          `tensor '${key}' has no target variable (strict mode; pass {strict: false} to ignore it)`,
        );
    }
  return plan;
}

/**
 * Assigns checkpoint tensors to variables by name. Every name, shape and dtype is checked
 * first; on the first mismatch a CheckpointError names it and no variable has changed.
 */
export function restoreVariables(
  checkpoint: CheckpointLike,
  targets: Record<string, tf.Variable>,
  options: RestoreVariablesOptions = {},
): void {
  for (const [v, t] of planVariables(checkpoint, targets, options)) v.assign(t);
}

interface OptimizerPlan {
  optimizer: tf.Optimizer;
  iterations: number;
  weights: NamedTensor[];
  previous: tf.Tensor[];
}

async function planOptimizer(checkpoint: CheckpointLike, optimizer: tf.Optimizer): Promise<OptimizerPlan> {
  const file = fileOf(checkpoint);
  const m = checkpoint.meta?.optimizer;
  if (!m) throw new CheckpointError(file, 'holds no optimizer state (it was saved without `optimizer`)');
  const cls = optimizer.getClassName();
  if (m.className !== cls)
    throw new CheckpointError(
      file,
      `holds ${clip(m.className)} optimizer state; it cannot be restored into a ${cls} optimizer`,
    );
  const weights: NamedTensor[] = m.weights.map((w) => {
    const key = OPTIMIZER_PREFIX + w;
    if (!Object.hasOwn(checkpoint.tensors, key))
      throw new CheckpointError(file, `optimizer slot ${quoteName(w)} has no tensor ${quoteName(key)}`);
    const t = usable(checkpoint, key, file);
    if (t.dtype !== 'float32')
      throw new CheckpointError(file, `optimizer slot '${key}' has dtype ${t.dtype}, not float32`);
    return { name: w, tensor: t };
  });
  // An optimizer that has already stepped has slots: the checkpoint must fit them.
  const previous = (await optimizerWeights(optimizer, file)).map((w) => w.tensor);
  if (previous.length > 0) {
    if (previous.length !== weights.length)
      throw new CheckpointError(
        file,
        `holds ${weights.length} optimizer slots but the ${cls} optimizer has ${previous.length} (trained on other variables?)`,
      );
    weights.forEach((w, i) => {
      if (!sameShape(w.tensor.shape, previous[i].shape))
        throw new CheckpointError(
          file,
          `optimizer slot '${w.name}' has shape [${w.tensor.shape.join(', ')}] but the optimizer's slot ${i} has ` +
            `shape [${previous[i].shape.join(', ')}]`,
        );
    });
  }
  return { optimizer, iterations: m.iterations, weights, previous };
}

async function applyOptimizer(p: OptimizerPlan, file: string): Promise<void> {
  const iter = tf.scalar(p.iterations, 'int32');
  try {
    await p.optimizer.setWeights([{ name: 'iter', tensor: iter }, ...p.weights]);
  } catch (e) {
    throw new CheckpointError(file, `${p.optimizer.getClassName()}.setWeights failed (${describeError(e)})`, {
      cause: e,
    });
  } finally {
    iter.dispose();
  }
  // tfjs optimizers make new slot variables in setWeights; free the ones they dropped
  const now = new Set<tf.Tensor>((await optimizerWeights(p.optimizer, file)).map((w) => w.tensor));
  for (const t of p.previous) if (!now.has(t) && !t.isDisposed) t.dispose();
}

/**
 * Restores a tfjs optimizer's slots and iteration counter (validated first: class, slot
 * tensors, and shapes against slots the optimizer already has). The optimizer must be given
 * the variables in the same order as when it was saved.
 */
export async function restoreOptimizer(checkpoint: CheckpointLike, optimizer: tf.Optimizer): Promise<void> {
  await applyOptimizer(await planOptimizer(checkpoint, optimizer), fileOf(checkpoint));
}

function planNetState(checkpoint: CheckpointLike, state: NetState): Record<string, tf.Tensor> {
  const file = fileOf(checkpoint);
  const out: Record<string, tf.Tensor> = {};
  for (const key of Object.keys(checkpoint.tensors)) {
    if (!key.startsWith(STATE_PREFIX)) continue;
    const entry = key.slice(STATE_PREFIX.length);
    const slash = entry.indexOf('/');
    const name = entry.slice(slash + 1);
    const spec = state.specs.find((s) => s.name === name);
    if (slash < 0 || !spec)
      throw new CheckpointError(
        file,
        `state entry '${entry}' matches no StateSpec of this NetState (has: ${state.specs.map((s) => s.name).join(', ')})`,
      );
    const t = usable(checkpoint, key, file);
    if (!sameShape(t.shape, spec.shape))
      throw new CheckpointError(
        file,
        `state entry '${entry}' has shape [${t.shape.join(', ')}] but StateSpec '${name}' has [${spec.shape.join(', ')}]`,
      );
    if (t.dtype !== 'float32')
      throw new CheckpointError(file, `state entry '${entry}' has dtype ${t.dtype}, not float32`);
    out[entry] = t;
  }
  return out;
}

/** Loads `state/` entries into a NetState (validated first against its StateSpecs). */
export function restoreNetState(checkpoint: CheckpointLike, state: NetState): void {
  state.loadNamedTensors(planNetState(checkpoint, state));
}

/** A generator continuing the saved random stream, or undefined when none was saved. */
export function restoreRng(checkpoint: CheckpointLike): Rng | undefined {
  const s = checkpoint.meta?.rng;
  return s === undefined ? undefined : rngFromState(s, fileOf(checkpoint));
}

export interface RestoreCheckpointOptions extends RestoreVariablesOptions {
  variables?: Record<string, tf.Variable>;
  optimizer?: tf.Optimizer;
  state?: NetState;
}

/**
 * Restores variables, optimizer and NetState together: all three are validated before any
 * of them changes. Returns the step and a generator continuing the saved random stream.
 */
export async function restoreCheckpoint(
  checkpoint: CheckpointLike,
  options: RestoreCheckpointOptions,
): Promise<{ step?: number; rng?: Rng }> {
  // every check first (the RNG state included), then the assignments
  const rng = restoreRng(checkpoint);
  const vars = options.variables ? planVariables(checkpoint, options.variables, options) : [];
  const state = options.state ? planNetState(checkpoint, options.state) : undefined;
  const opt = options.optimizer ? await planOptimizer(checkpoint, options.optimizer) : undefined;
  if (opt) await applyOptimizer(opt, fileOf(checkpoint));
  for (const [v, t] of vars) v.assign(t);
  if (state && options.state) options.state.loadNamedTensors(state);
  return { step: checkpoint.meta?.step, rng };
}
