import * as tf from '@tensorflow/tfjs-core';

/**
 * x with no gradient: torch's `.detach()` (or a value computed under `torch.no_grad()`) inside a
 * differentiated function. tfjs has no stopGradient op, so an identity whose gradient is zero.
 */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as never;
