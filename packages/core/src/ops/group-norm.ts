import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';

/**
 * Group normalisation (Wu & He 2018; torch.nn.GroupNorm without its affine part) of a
 * channels-last x [N, …, C]: the C channels split into `groups` contiguous groups of C/groups,
 * each sample's group normalised over its positions and channels with the biased variance:
 * (x − mean) / √(var + eps). Follow with `affine` for γ, β (shared [C] or per-sample [N, C]).
 *
 * @throws ConfigError when `groups` does not divide C.
 * @throws ShapeMismatchError when x has rank < 2.
 */
export function groupNormalize(x: tf.Tensor, groups: number, eps = 1e-5): tf.Tensor {
  if (x.rank < 2) throw new ShapeMismatchError('groupNormalize input [N, …, C]', [-1, -1], x.shape);
  const shape = x.shape as number[];
  const c = shape[shape.length - 1]!;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0)
    throw new ConfigError('groups', `must divide the ${c} channels, got ${groups}`);
  return tf.tidy(() => {
    const n = shape[0]!;
    const g = tf.reshape(x, [n, -1, groups, c / groups]); // [N, positions, G, C/G]
    const { mean, variance } = tf.moments(g, [1, 3], true);
    return tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, eps))), shape);
  });
}
