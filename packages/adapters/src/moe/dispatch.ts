import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@hypernets/core';

/**
 * Where each routed (token, slot) pair goes, computed on the host from the top-k expert ids:
 * the pairs sorted by expert (a counting sort, stable in token order), so that each expert runs
 * once, densely, on a contiguous block of its tokens, with no capacity limit and nothing dropped.
 */
export interface DispatchPlan {
  /** Tokens M and slots per token k. */
  readonly tokens: number;
  readonly k: number;
  readonly experts: number;
  /** For sorted position p, the token whose input goes there [M·k]. */
  readonly order: Int32Array;
  /** For pair (m, j) at m·k + j, its sorted position [M·k] (where its expert's output is). */
  readonly inverse: Int32Array;
  /** For sorted position p, its pair m·k + j [M·k] (the inverse of `inverse`). */
  readonly pairs: Int32Array;
  /** For pair (m, j), the index m·E + expert in the flattened router logits [M·k]. */
  readonly logitIndex: Int32Array;
  /** Pairs per expert [E]; expert e's block starts at offsets[e]. */
  readonly counts: Int32Array;
  readonly offsets: Int32Array;
}

/** The plan for `ids` [M·k] (row-major [M, k]: token m's j-th expert). */
export function dispatchPlan(ids: Int32Array, tokens: number, k: number, experts: number): DispatchPlan {
  if (ids.length !== tokens * k)
    throw new ConfigError('expert ids', `expected ${tokens}·${k} = ${tokens * k} ids, got ${ids.length}`);
  const counts = new Int32Array(experts);
  for (let i = 0; i < ids.length; i++) {
    const e = ids[i]!;
    if (!(e >= 0 && e < experts))
      throw new ConfigError('expert ids', `id ${e} at ${i} is not an expert in [0, ${experts})`);
    counts[e]!++;
  }
  const offsets = new Int32Array(experts);
  for (let e = 1; e < experts; e++) offsets[e] = offsets[e - 1]! + counts[e - 1]!;
  const next = Int32Array.from(offsets);
  const order = new Int32Array(ids.length);
  const inverse = new Int32Array(ids.length);
  const pairs = new Int32Array(ids.length);
  const logitIndex = new Int32Array(ids.length);
  for (let m = 0; m < tokens; m++)
    for (let j = 0; j < k; j++) {
      const i = m * k + j;
      const e = ids[i]!;
      const p = next[e]!++;
      order[p] = m;
      inverse[i] = p;
      pairs[p] = i;
      logitIndex[i] = m * experts + e;
    }
  return { tokens, k, experts, order, inverse, pairs, logitIndex, counts, offsets };
}

/**
 * k at `step` of `total` when it rises linearly from `start` to `end` (SMoE-Dropout's and
 * HyperRouter's schedule, their `linear_increase`): clip(round((end − start)·step/total) + start).
 */
export function topKAt(step: number, total: number, start: number, end: number): number {
  if (total <= 0 || start === end) return end;
  const k = Math.round(((end - start) * step) / total) + start;
  return Math.min(Math.max(k, Math.min(start, end)), Math.max(start, end));
}

/**
 * The two data movements of a dispatch, each the other's adjoint, as custom-gradient ops (so that
 * neither direction needs tfjs's UnsortedSegmentSum, a scalar loop on wasm):
 * - `spread(x)`: token rows [M, d] → pair rows in sorted order [M·k, d] (row p is token order[p]);
 * - `collect(y)`: pair rows [M·k, d] → token rows [M, d], each token's k rows summed.
 * collect gathers the pairs slot-major ([k, M, d]) and sums the leading axis.
 */
export function pairOps(plan: DispatchPlan): {
  spread: (x: tf.Tensor) => tf.Tensor;
  collect: (y: tf.Tensor) => tf.Tensor;
} {
  const { tokens: m, k } = plan;
  const order = tf.tensor1d(plan.order, 'int32');
  const slotMajor = new Int32Array(m * k);
  for (let t = 0; t < m; t++) for (let j = 0; j < k; j++) slotMajor[j * m + t] = plan.inverse[t * k + j]!;
  const bySlot = tf.tensor1d(slotMajor, 'int32');
  // The index tensors go to the backward pass as saved tensors: the caller's tidy ends before it.
  const spreadRaw = (x: tf.Tensor, o: tf.Tensor) => tf.gather(x, o);
  const collectRaw = (y: tf.Tensor, slots: tf.Tensor) => {
    const d = y.shape[1]!;
    return k === 1 ? tf.gather(y, slots) : tf.sum(tf.reshape(tf.gather(y, slots), [k, m, d]), 0);
  };
  const spread = tf.customGrad((x, save) => {
    (save as tf.GradSaveFunc)([order, bySlot]);
    return {
      value: spreadRaw(x as tf.Tensor, order),
      gradFunc: (dy, saved) => collectRaw(dy as tf.Tensor, saved[1]!),
    };
  }) as (x: tf.Tensor) => tf.Tensor;
  const collect = tf.customGrad((y, save) => {
    (save as tf.GradSaveFunc)([order, bySlot]);
    return {
      value: collectRaw(y as tf.Tensor, bySlot),
      gradFunc: (dy, saved) => spreadRaw(dy as tf.Tensor, saved[0]!),
    };
  }) as (y: tf.Tensor) => tf.Tensor;
  return { spread, collect };
}
