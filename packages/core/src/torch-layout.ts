import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from './errors/index.js';
import { sameShape, type ParamSpec, type Weights } from './params.js';

/**
 * ParamSpec tensors between the TargetNet layout (tfjs) and PyTorch's, for porting
 * state_dicts both ways and for hypernetworks that predict PyTorch-shaped tensors (GHNs):
 *
 * - rank 4 (conv kernels): tfjs [kh, kw, cin, cout] ↔ torch [cout, cin, kh, kw]
 * - rank 2 (dense / recurrent matrices): [in, out] ↔ [out, in] (tfjs computes x·W,
 *   nn.Linear x·Wᵀ)
 * - embedding tables (kind 'embedding', [vocab, dim] in both) and every other rank
 *   (biases, norm γ/β): unchanged
 *
 * @hypernets/graph's GHNs use this rule (torchShape, torchLayoutKind). A
 * tensor may carry a leading batch dimension (per-sample weights); it stays in front.
 *
 * Only the memory layout changes: a dense layer after an NHWC flatten (cnn.ts) still
 * differs from PyTorch's NCHW flatten by a permutation of its input rows, and rnn.ts keeps
 * one fused bias where PyTorch has two.
 */
export type TorchLayoutKind = 'conv' | 'dense' | 'same';

/** How a spec's tensor maps to PyTorch's layout. */
export function torchLayoutKind(spec: Pick<ParamSpec, 'shape' | 'kind'>): TorchLayoutKind {
  if (spec.kind === 'embedding') return 'same';
  if (spec.shape.length === 4) return 'conv';
  if (spec.shape.length === 2) return 'dense';
  return 'same';
}

/** [kh, kw, cin, cout] → [cout, cin, kh, kw]. */
const TO_TORCH: Record<TorchLayoutKind, number[]> = { conv: [3, 2, 0, 1], dense: [1, 0], same: [] };
/** [cout, cin, kh, kw] → [kh, kw, cin, cout]. */
const FROM_TORCH: Record<TorchLayoutKind, number[]> = { conv: [2, 3, 1, 0], dense: [1, 0], same: [] };

/** The shape PyTorch gives the tensor of `spec` (e.g. a conv kernel's [cout, cin, kh, kw]). */
export function torchShape(spec: Pick<ParamSpec, 'shape' | 'kind'>): number[] {
  const perm = TO_TORCH[torchLayoutKind(spec)];
  return perm.length ? perm.map((a) => spec.shape[a]) : [...spec.shape];
}

function relayout(t: tf.Tensor, from: readonly number[], perm: number[], what: string, spec: ParamSpec): tf.Tensor {
  let batched: boolean;
  if (sameShape(t.shape, from)) batched = false;
  else if (t.rank === from.length + 1 && sameShape(t.shape.slice(1), from)) batched = true;
  else
    throw new ShapeMismatchError(
      `ParamSpec '${spec.name}' (${what})`,
      from,
      t.shape,
      'pass that shape, or [B, ...that shape] for per-sample weights',
    );
  if (!perm.length) return t.clone();
  return tf.transpose(t, batched ? [0, ...perm.map((a) => a + 1)] : perm);
}

/** A tensor of `spec` in TargetNet layout (optionally [B, ...]) → PyTorch layout. A new tensor. */
export function toTorchLayout(spec: ParamSpec, t: tf.Tensor): tf.Tensor {
  return relayout(t, spec.shape, TO_TORCH[torchLayoutKind(spec)], 'TargetNet layout', spec);
}

/** A tensor of `spec` in PyTorch layout (optionally [B, ...]) → TargetNet layout. A new tensor. */
export function fromTorchLayout(spec: ParamSpec, t: tf.Tensor): tf.Tensor {
  return relayout(t, torchShape(spec), FROM_TORCH[torchLayoutKind(spec)], 'PyTorch layout', spec);
}

function convertAll(
  specs: readonly ParamSpec[],
  weights: Weights,
  shapeOf: (s: ParamSpec) => readonly number[],
  f: (s: ParamSpec, t: tf.Tensor) => tf.Tensor,
  what: string,
): Weights {
  // Validate every entry before making any tensor, so a bad state_dict leaves nothing behind.
  for (const s of specs) {
    const t = weights[s.name];
    if (t === undefined) throw new ConfigError(`weights.${s.name}`, `no tensor for ParamSpec '${s.name}' (${what})`);
    const expected = shapeOf(s);
    if (!sameShape(t.shape, expected) && !(t.rank === expected.length + 1 && sameShape(t.shape.slice(1), expected)))
      throw new ShapeMismatchError(
        `ParamSpec '${s.name}' (${what})`,
        expected,
        t.shape,
        'pass that shape, or [B, ...that shape] for per-sample weights',
      );
  }
  const out: Weights = {};
  for (const s of specs) out[s.name] = f(s, weights[s.name]);
  return out;
}

/** Every ParamSpec's tensor to PyTorch layout (a state_dict-shaped record). New tensors. */
export function toTorchWeights(specs: readonly ParamSpec[], weights: Weights): Weights {
  return convertAll(specs, weights, (s) => s.shape, toTorchLayout, 'TargetNet layout');
}

/**
 * Tensors in PyTorch layout by ParamSpec name (e.g. a state_dict's parameters) → TargetNet
 * weights. Checks every entry first; extra names (buffers such as running_mean) are ignored.
 */
export function fromTorchWeights(specs: readonly ParamSpec[], torchWeights: Weights): Weights {
  return convertAll(specs, torchWeights, torchShape, fromTorchLayout, 'PyTorch layout');
}
