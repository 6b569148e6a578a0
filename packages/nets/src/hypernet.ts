import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError, type ParamSpec, type TargetNet, type Weights } from '@hypernets/core';
import { numel } from '@hypernets/core/internal';

/**
 * What a hypernetwork is asked to generate for:
 * - `{ id }`: a learned embedding per condition id (a task, a class). A number (or a rank-0
 *   tensor) gives one weight set; an array / Int32Array / rank-1 int tensor gives a batch of
 *   weight sets with a leading batch dimension (feeds a TargetNet's per-sample path).
 * - `{ input }`: an external condition vector, [d] → one weight set, [B, d] → a batch.
 * - `undefined`: unconditional (one learned internal embedding).
 */
export type Condition = { id: number | readonly number[] | Int32Array | tf.Tensor } | { input: tf.Tensor } | undefined;

/**
 * A network that owns trainable variables and generates the weights of another network
 * (`targetParams`). It is itself a TargetNet: `params` are its own ParamSpecs and
 * `forward(conditionInput, weights)` maps a batch of condition inputs (int ids [N], external
 * inputs [N, d], or any [N, …] when unconditional) to the flat target parameters [N, P] — so
 * another hypernetwork can generate a hypernetwork's weights (nesting).
 */
export interface HyperNet extends TargetNet {
  /** What `generate` returns, in order. */
  readonly targetParams: readonly ParamSpec[];
  /** Its own variables, by ParamSpec name (the `weights` argument of `forward`). */
  ownWeights(): Weights;
  trainableVariables(): tf.Variable[];
  /** Target weights for a condition (see `Condition`), a batch when the condition is one. */
  generate(condition?: Condition): Weights;
  /** Splits a flat output [P] or [N, P] of `forward` into target tensors (batched for [N, P]). */
  splitTarget(flat: tf.Tensor): Weights;
  /** How the flat output is laid out within each weight tensor (see `FlatOrder`); 'native' when absent. */
  readonly flatOrder?: FlatOrder;
  dispose(): void;
}

/**
 * How a weight tensor is laid out in a hypernetwork's flat output, which decides which target
 * entries share a chunk position (and so an output unit of a chunked hypernetwork).
 * - 'native': row-major in the ParamSpec shape (tfjs: dense [in, out], conv [kh, kw, in, out]);
 * - 'torch': row-major in PyTorch's layout (dense [out, in], conv [out, in, kh, kw]), as
 *   hypnettorch/hypercl generate it. Other ranks (biases, norms) are the same in both.
 * With a chunked hypernetwork the order changes what is learned: on Permuted-MNIST (hypercl's
 * setup, 300 steps, one seed) 91.6% test accuracy from 'native', 95.6% from 'torch' (hypercl: 95.9%).
 */
export type FlatOrder = 'native' | 'torch';

/**
 * Axis order taking `spec`'s tensor from its native layout to the layout `order` puts in the
 * flat output, or null when the two agree (native order, biases and norms, other ranks).
 */
export function flatAxes(spec: ParamSpec, order: FlatOrder): number[] | null {
  if (order !== 'torch' || spec.kind !== 'weight') return null;
  if (spec.shape.length === 2) return [1, 0];
  if (spec.shape.length === 4) return [3, 2, 0, 1];
  return null;
}

/**
 * Splits flat parameters [P] (→ spec shapes) or [N, P] (→ [N, ...spec shape]) into tensors in
 * ParamSpec order. One `split` op: its gradient is a single concat.
 */
export function splitFlat(
  specs: readonly ParamSpec[],
  flat: tf.Tensor,
  owner = 'hypernetwork',
  order: FlatOrder = 'native',
): Weights {
  const sizes = specs.map((s) => numel(s.shape));
  const total = sizes.reduce((a, b) => a + b, 0);
  const p = flat.shape[flat.rank - 1];
  if ((flat.rank !== 1 && flat.rank !== 2) || p !== total)
    throw new ShapeMismatchError(
      `flat target parameters of ${owner}`,
      [total],
      flat.shape,
      `pass [${total}] or [N, ${total}]`,
    );
  return tf.tidy(() => {
    const parts = specs.length === 1 ? [flat] : tf.split(flat, sizes, flat.rank - 1);
    const out: Weights = {};
    const lead: number[] = flat.rank === 1 ? [] : [flat.shape[0]!];
    specs.forEach((s, i) => {
      const axes = flatAxes(s, order);
      if (!axes) {
        out[s.name] = tf.reshape(parts[i], [...lead, ...s.shape]);
        return;
      }
      const back = axes.map((_, j) => axes.indexOf(j) + lead.length); // the inverse permutation
      out[s.name] = tf.transpose(tf.reshape(parts[i], [...lead, ...axes.map((a) => s.shape[a]!)]), [
        ...lead.map((_, j) => j),
        ...back,
      ]);
    });
    return out;
  });
}

/** Concatenates weights (spec shapes) into one flat [P] tensor in ParamSpec order. */
export function flattenWeights(
  specs: readonly ParamSpec[],
  weights: Weights,
  order: FlatOrder = 'native',
): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = (s: ParamSpec) => {
      const axes = flatAxes(s, order);
      return tf.reshape(axes ? tf.transpose(weights[s.name], axes) : weights[s.name], [-1]);
    };
    return tf.concat(specs.map(flat), 0) as tf.Tensor1D;
  });
}

export type ConditionMode = 'id' | 'input' | 'none';

/**
 * Turns a Condition into the `forward` input (ids int32 [N] or inputs [N, d]) and whether the
 * caller asked for a batch. Created tensors belong to the caller's tidy scope.
 */
export function conditionInput(
  condition: Condition,
  mode: ConditionMode,
  numConditions: number,
  conditionSize: number,
  owner: string,
): { x: tf.Tensor; batched: boolean } {
  if (condition === undefined) {
    if (mode !== 'none')
      throw new ConfigError(
        'condition',
        `${owner} is conditional (${mode === 'id' ? '{ id }' : '{ input }'}): pass a condition to generate()`,
      );
    return { x: tf.zeros([1], 'int32'), batched: false };
  }
  if ('id' in condition) {
    if (mode !== 'id')
      throw new ConfigError(
        'condition.id',
        `${owner} has no condition embeddings (configure numConditions) — ${mode === 'input' ? 'pass { input }' : 'call generate() with no condition'}`,
      );
    const id = condition.id;
    if (id instanceof tf.Tensor) {
      if (id.rank > 1)
        throw new ShapeMismatchError(
          `condition ids of ${owner}`,
          [-1],
          id.shape,
          'pass a scalar or a rank-1 tensor of ids',
        );
      return { x: tf.reshape(tf.cast(id, 'int32'), [-1]), batched: id.rank === 1 };
    }
    const arr = typeof id === 'number' ? [id] : Array.from(id);
    const bad = arr.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= numConditions);
    if (bad >= 0)
      throw new ConfigError(
        'condition.id',
        `${owner} has ${numConditions} condition embeddings; id ${arr[bad]} is not in [0, ${numConditions - 1}]`,
      );
    if (arr.length === 0) throw new ConfigError('condition.id', 'an empty batch of ids');
    return { x: tf.tensor1d(arr, 'int32'), batched: typeof id !== 'number' };
  }
  if ('input' in condition) {
    if (mode !== 'input')
      throw new ConfigError('condition.input', `${owner} has no external condition input (configure conditionSize)`);
    const inp = condition.input;
    const ok = (inp.rank === 1 || inp.rank === 2) && inp.shape[inp.rank - 1] === conditionSize;
    if (!ok)
      throw new ShapeMismatchError(
        `condition input of ${owner}`,
        [conditionSize],
        inp.shape,
        `pass [${conditionSize}] or [B, ${conditionSize}]`,
      );
    return { x: inp.rank === 1 ? tf.reshape(inp, [1, conditionSize]) : inp, batched: inp.rank === 2 };
  }
  throw new ConfigError('condition', 'pass { id }, { input } or nothing');
}

/** What `generateFrom` needs of a hypernetwork whose `forward` maps condition inputs to flat [N, P]. */
export interface FlatHyperNet extends Pick<HyperNet, 'name' | 'forward' | 'splitTarget'> {
  readonly mode: ConditionMode;
  readonly numConditions: number;
  readonly conditionSize: number;
  readonly numTargetParams: number;
}

/**
 * `HyperNet.generate` for such a net: the condition's `forward` input, one forward pass with
 * `weights` (its own variables), split into target tensors (batched for a batched condition).
 */
export function generateFrom(net: FlatHyperNet, weights: Weights, condition: Condition): Weights {
  return tf.tidy(() => {
    const { x, batched } = conditionInput(condition, net.mode, net.numConditions, net.conditionSize, net.name);
    const flat = net.forward(x, weights);
    return net.splitTarget(batched ? flat : tf.reshape(flat, [net.numTargetParams]));
  });
}
