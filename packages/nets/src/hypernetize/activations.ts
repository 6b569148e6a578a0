import * as tf from '@tensorflow/tfjs-core';
import { activate, gelu, geluTanh } from '@hypernets/core';
import { UnsupportedLayerError } from './errors.js';
import type { LayerLike } from './types.js';

// ----- activations (Keras names) -----

export type ActFn = (x: tf.Tensor) => tf.Tensor;

/** Keras activation names → functions; the ones core's `activate` has go through it. */
const KERAS_ACTIVATIONS: Record<string, ActFn> = {
  linear: (x) => activate(x, 'linear'),
  relu: (x) => activate(x, 'relu'),
  relu6: (x) => tf.relu6(x),
  elu: (x) => activate(x, 'elu'),
  selu: (x) => tf.selu(x),
  sigmoid: (x) => activate(x, 'sigmoid'),
  hardSigmoid: (x) => tf.clipByValue(tf.add(0.5, tf.mul(0.2, x)), 0, 1),
  softplus: (x) => tf.softplus(x),
  softsign: (x) => tf.div(x, tf.add(1, tf.abs(x))),
  tanh: (x) => activate(x, 'tanh'),
  softmax: (x) => tf.softmax(x, -1),
  logSoftmax: (x) => tf.logSoftmax(x, -1),
  gelu: (x) => gelu(x),
  gelu_new: (x) => geluTanh(x),
  mish: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
  swish: (x) => activate(x, 'silu'),
};

/** Keras activation names as the fan-based inits of core know them. */
const INIT_ACTIVATION: Record<string, string> = { relu6: 'relu', swish: 'silu', gelu_new: 'gelu-tanh' };

export function activationOf(layer: LayerLike, value: unknown, field = 'activation'): { name: string; fn: ActFn } {
  const name = value === undefined || value === null ? 'linear' : value;
  if (typeof name !== 'string' || !(name in KERAS_ACTIVATIONS))
    throw new UnsupportedLayerError(
      layer.name,
      layer.getClassName(),
      `uses ${field} ${JSON.stringify(name)}, which has no functional re-implementation (known: ${Object.keys(KERAS_ACTIVATIONS).join(', ')})`,
    );
  return { name, fn: KERAS_ACTIVATIONS[name]! };
}

/** The init hint of a layer's specs: its own activation, or (when linear) the next layer's. */
export function initActivation(name: string, next: string | null): string {
  const n = name === 'linear' && next ? next : name;
  return INIT_ACTIVATION[n] ?? n;
}
