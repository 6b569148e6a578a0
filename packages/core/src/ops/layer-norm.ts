import * as tf from '@tensorflow/tfjs-core';
import { paramSpec, type ParamSpec } from '../params.js';

/** Layer norm over the last axis (no affine). */
export function layerNormalize(x: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}

/** A LayerNorm's affine parameters `${name}.weight` (γ, kind norm-scale) and `${name}.bias` (β, norm-shift), [width] each. */
export function layerNormSpecs(name: string, width: number, layer: number): ParamSpec[] {
  return [
    paramSpec({ name: `${name}.weight`, shape: [width], kind: 'norm-scale', layer, fanIn: width, fanOut: width }),
    paramSpec({ name: `${name}.bias`, shape: [width], kind: 'norm-shift', layer, fanIn: width, fanOut: width }),
  ];
}
