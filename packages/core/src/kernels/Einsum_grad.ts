// Gradient of Einsum. tfjs-core 4.22 registers none (tf.grad through tf.einsum fails on
// every backend), so core registers this one, backend-independent.
//
// For out = einsum('A,B->O', a, b):  da = einsum('O,B->A′', dy, b), where A′ is A without
// the labels that occur only in A (those were summed away in the forward pass); the result
// is then broadcast back over them. Same for b, and for one operand: da = einsum('O->A′', dy).
import * as tf from '@tensorflow/tfjs-core';

function parseLabels(equation: string): { inputs: string[]; output: string } {
  const eq = equation.replace(/\s/g, '');
  const [lhs, output] = eq.split('->');
  // invariant: tf.einsum rejects equations without '->' before any kernel runs (a bug here, not bad input).
  if (output === undefined) throw new Error(`Einsum gradient: equation '${equation}' has no '->'`);
  return { inputs: lhs.split(','), output };
}

function gradFor(
  dy: tf.Tensor,
  x: tf.Tensor,
  labels: string,
  output: string,
  other?: { t: tf.Tensor; labels: string },
): tf.Tensor {
  const visible = output + (other?.labels ?? '');
  const kept = [...labels].filter((l) => visible.includes(l)).join('');
  let g: tf.Tensor;
  if (other == null && kept === output) g = dy;
  else if (other == null) g = tf.einsum(`${output}->${kept}`, dy);
  else g = tf.einsum(`${output},${other.labels}->${kept}`, dy, other.t);
  if (kept.length === labels.length) return g;
  const expanded = [...labels].map((l, i) => (kept.includes(l) ? x.shape[i] : 1));
  return tf.broadcastTo(tf.reshape(g, expanded), x.shape);
}

export const einsumGradConfig: tf.GradConfig = {
  kernelName: tf.Einsum,
  saveAllInputs: true,
  gradFunc: (dy, saved, attrs): Record<string, () => tf.Tensor> => {
    const { equation } = attrs as unknown as tf.EinsumAttrs;
    const { inputs, output } = parseLabels(equation);
    const d = dy as tf.Tensor;
    if (saved.length === 1) return { 0: () => gradFor(d, saved[0], inputs[0], output) };
    const [a, b] = saved;
    return {
      0: () => gradFor(d, a, inputs[0], output, { t: b, labels: inputs[1] }),
      1: () => gradFor(d, b, inputs[1], output, { t: a, labels: inputs[0] }),
    };
  },
};
