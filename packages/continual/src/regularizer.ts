import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type ParamSpec } from '@hypernets/core';
import { numel } from '@hypernets/core/internal';
import type { HeadLayout } from './scenario.js';
import { type FlatOrder } from '@hypernets/nets';
import { flatAxes } from '@hypernets/nets/internal';

/**
 * The output regulariser of von Oswald et al. (2020), eq. 2, for the k past tasks being
 * regularised this step: (1/k) Σ_i ‖h(e_i, θ*) − h(e_i, θ + Δθ)‖², with `targets` = h(e_i, θ*)
 * [k, P] and `predicted` = h(e_i, θ + Δθ) [k, P] (the trainer multiplies by β). With a head
 * mask, output units of heads other than task i's are left out of task i's term (hypnettorch's
 * `inds_of_out_heads`): `mask` [k, P − start] weights the entries from `start` on.
 */
export function outputRegularizer(
  predicted: tf.Tensor,
  targets: tf.Tensor,
  headMask?: { start: number; mask: tf.Tensor },
): tf.Scalar {
  if (predicted.rank !== 2 || predicted.shape.join() !== targets.shape.join())
    throw new ConfigError(
      'targets',
      `regulariser needs predicted and target outputs of one shape [k, P], got [${predicted.shape}] and [${targets.shape}]`,
    );
  const [k, P] = predicted.shape as [number, number];
  const masked = headMask != null && headMask.start < P;
  if (masked && headMask.mask.shape.join() !== `${k},${P - headMask.start}`)
    throw new ConfigError(
      'headMask',
      `head mask must be [${k}, ${P - headMask.start}] (k tasks × entries from ${headMask.start} on), got [${headMask.mask.shape}]`,
    );
  // The gradient is written out: tfjs's own, through squaredDifference and sum, builds a ones
  // tensor of the full [k, P], multiplies by it with broadcasting, then pads the head part's
  // gradient back to [k, P] and adds it: ~2.8x the time of this one (on [5, 2.1M], wasm).
  // Only `predicted` gets a gradient: the targets are snapshots.
  const reg = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const d = tf.sub(x, targets);
    const all = tf.sum(tf.square(d));
    if (!masked) {
      save([d]);
      return {
        value: tf.div(all, k),
        gradFunc: (dy: tf.Tensor, [diff]: tf.Tensor[]) => [tf.mul(diff!, tf.mul(dy, 2 / k))] as tf.Tensor[],
      };
    }
    // everything, less the masked-out entries of the (small) head region: no copy of the large body
    const { start } = headMask;
    const off = tf.sub(headMask.mask, 1); // −1 where an entry is left out; saved: the mask may be gone by the backward pass
    save([d, off]);
    const dropped = tf.sum(tf.mul(tf.square(tf.slice(d, [0, start], [k, P - start])), off)); // ≤ 0
    return {
      value: tf.div(tf.add(all, dropped), k),
      gradFunc: (dy: tf.Tensor, [diff, offs]: tf.Tensor[]) => {
        const c = tf.mul(dy, 2 / k); // rank 0: wasm multiplies by a scalar fast, by a [1, 1] slowly
        const head = tf.mul(tf.slice(diff!, [0, start], [k, P - start]), tf.mul(offs!, c));
        return [
          tf.add(
            tf.mul(diff!, c),
            tf.pad(head, [
              [0, 0],
              [start, 0],
            ]),
          ),
        ] as tf.Tensor[];
      },
    };
  });
  return reg(predicted) as tf.Scalar;
}

/**
 * Per-task masks over the output layer of a multi-head target: the suffix of the flat
 * parameter vector from the first output-layer tensor on, 1 where an entry belongs to task t's
 * head or to no head, 0 where it belongs to another task's head. Output-layer tensors are the
 * specs of the last layer whose last dimension is the number of outputs (weight [h, O], bias [O]).
 * Null for a shared head (cl2): every entry is regularised.
 */
export function headMasks(
  specs: readonly ParamSpec[],
  layout: HeadLayout,
  order: FlatOrder = 'native',
): { start: number; masks: Float32Array[] } | null {
  if (layout.scenario === 'cl2') return null;
  const last = Math.max(...specs.map((s) => s.layer));
  const isHead = (s: ParamSpec) => s.layer === last && s.shape[s.shape.length - 1] === layout.outputs;
  const first = specs.findIndex(isHead);
  if (first < 0)
    throw new ConfigError(
      'target',
      `no tensor of the target's last layer ends in ${layout.outputs} outputs: cannot tell its heads apart ` +
        '(a multi-head target needs numTasks · classesPerTask outputs)',
    );
  let start = 0;
  for (let i = 0; i < first; i++) start += numel(specs[i]!.shape);
  let size = 0;
  for (let i = first; i < specs.length; i++) size += numel(specs[i]!.shape);
  const k = layout.classesPerTask;
  const masks: Float32Array[] = [];
  for (let t = 0; t < layout.numTasks; t++) {
    const m = new Float32Array(size).fill(1);
    let off = 0;
    for (let i = first; i < specs.length; i++) {
      const s = specs[i]!;
      const n = numel(s.shape);
      if (isHead(s)) {
        const O = layout.outputs;
        // Native order: the output unit is the last axis, which varies fastest. PyTorch's order
        // puts it first ([out, in]): e / (entries per unit).
        const unitFirst = flatAxes(s, order) !== null;
        for (let e = 0; e < n; e++) {
          const unit = unitFirst ? Math.floor(e / (n / O)) : e % O;
          if (unit < t * k || unit >= (t + 1) * k) m[off + e] = 0;
        }
      }
      off += n;
    }
    masks.push(m);
  }
  return { start, masks };
}
