// From GHN-2's decoder outputs to tensors of the target's shapes (ppuda/ghn/nn.py:
// _map_net_params, _tile_params, _normalize), in PyTorch layout throughout.
import { ConfigError } from '@hypernets/core';

/** ppuda's min_sz: the decoder size for one dimension, grouped so that nodes share decoder calls. */
export function groupSize(size: number, max: number): number {
  let n = Math.min(size, max);
  if (n % 3 === 0) n = (n / 3) * 4; // multiples of 3 → multiples of 4, like the decoder's channels
  if (n >= max / 2) n = max;
  return n;
}

/**
 * The decoder group of a parameter (ppuda's `key`): [c, 0] for 1-D tensors, [c, -1] for the
 * network's last bias (class bias), [o, i] for the last weight (classification layer),
 * [o, i, 1, 1] for other 2-D weights, [o, i, kh, kw] for 4-D ones. `shape` is PyTorch's.
 */
export function decoderKey(
  shape: readonly number[],
  lastWeight: boolean,
  lastBias: boolean,
  maxShape: readonly number[],
): number[] {
  const m = (j: number) => groupSize(shape[j]!, maxShape[j]!);
  if (shape.length === 1) return [m(0), lastBias ? -1 : 0];
  if (lastWeight) return [m(0), m(1)];
  if (shape.length === 2) return [m(0), m(1), 1, 1];
  if (shape.length === 4) return [m(0), m(1), shape[2]!, shape[3]!];
  throw new ConfigError(
    'shape',
    `no GHN-2 decoder for a ${shape.length}-D parameter [${shape.join(', ')}] (GHN-2 predicts 1-, 2- and 4-D parameters)`,
  );
}

/** Scale and kind of GHN-2's normalisation for a target tensor (PyTorch shape). */
export type Normalization =
  { kind: 'fan-in'; scale: number } | { kind: 'norm-scale' } | { kind: 'bias' } | { kind: 'none' };

/**
 * GHN-2's normalisation of predicted parameters (§3.4, "fan-in" scheme): weights × √(β / fan_in)
 * with β = 2 (layers followed by ReLU) or 1 (depthwise [C, 1, k, k] or kh < kw kernels);
 * norm scales 2·sigmoid(0.5 p) ∈ (0, 2); biases and norm shifts tanh(0.2 p) ∈ (−1, 1).
 * 3-D tensors with a leading 1 and 11+ rows (positional encodings) are left alone.
 */
export function normalization(shape: readonly number[], isWeight: boolean): Normalization {
  if (shape.length > 1) {
    if (shape.length > 2 && shape[2]! >= 11 && shape[0] === 1) return { kind: 'none' };
    const noRelu = shape.length > 2 && (shape[1] === 1 || shape[2]! < shape[3]!);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    return { kind: 'fan-in', scale: Math.sqrt((noRelu ? 1 : 2) / fanIn) };
  }
  return isWeight ? { kind: 'norm-scale' } : { kind: 'bias' };
}
