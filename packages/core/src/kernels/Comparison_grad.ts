// Zero gradients for comparison and logical ops. tfjs-core 4.22 has one for GreaterEqual
// but not for Greater, Less, LessEqual, Equal, NotEqual or the logical ops; since tf.grad
// walks every op between the inputs and the loss, `tf.where(tf.greater(x, 0), …)` (or a
// mask built from x) fails with "gradient function not found for Greater". Their outputs
// are boolean, so the gradient with respect to either input is zero.
import * as tf from '@tensorflow/tfjs-core';

function zeroGrad(kernelName: string, inputs: readonly string[]): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: [...inputs],
    // float32 zeros even for bool/int inputs: the tape requires float32 gradients
    gradFunc: (_dy, saved) =>
      Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i].shape, 'float32')])),
  };
}

export const comparisonGradConfigs: readonly tf.GradConfig[] = [
  zeroGrad(tf.Greater, ['a', 'b']),
  zeroGrad(tf.Less, ['a', 'b']),
  zeroGrad(tf.LessEqual, ['a', 'b']),
  zeroGrad(tf.Equal, ['a', 'b']),
  zeroGrad(tf.NotEqual, ['a', 'b']),
  zeroGrad(tf.LogicalAnd, ['a', 'b']),
  zeroGrad(tf.LogicalOr, ['a', 'b']),
  zeroGrad(tf.LogicalXor, ['a', 'b']),
  zeroGrad(tf.LogicalNot, ['x']),
];
