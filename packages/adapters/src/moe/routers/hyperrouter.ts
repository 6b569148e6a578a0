import * as tf from '@tensorflow/tfjs-core';
import { linear, type Rng } from '@hypernets/core';
import type { MoeRouter } from './router.js';

/**
 * HyperRouter (Do et al., EMNLP 2023): per block, a trainable embedding e ∈ R^d and a frozen
 * random hypernetwork H = Linear(d, hyper) → ReLU → Linear(hyper, E·(d + 1)) whose output,
 * reshaped to [E, d + 1], is the router [W_r | b_r] (row e: expert e's weight then its bias).
 * Only e trains; it gets its gradient through H from the top-k gates. Init as the reference
 * code (giangdip2410/HyperRouter, `custom_gate.py`, `train.py`'s `weights_init`): e ~ N(0, 1),
 * H's weights N(0, 0.02²), its biases 0.
 * Variables: `moe.<block>.hyperrouter.embedding` [d] (trains), `….fc1.weight` [d, hyper],
 * `….fc1.bias` [hyper], `….fc2.weight` [hyper, E·(d + 1)], `….fc2.bias` [E·(d + 1)] (frozen).
 */
export function hyperRouter(
  blocks: number,
  d: number,
  experts: number,
  hyper: number,
  rng: Rng,
  std = 0.02,
): MoeRouter {
  const variables: Record<string, tf.Variable> = {};
  const trainable: string[] = [];
  const out = experts * (d + 1);
  const add = (name: string, values: () => tf.Tensor, train: boolean) => {
    variables[name] = tf.tidy(() => tf.variable(values(), train));
    if (train) trainable.push(name);
  };
  for (let b = 0; b < blocks; b++) {
    const p = `moe.${b}.hyperrouter`;
    add(`${p}.embedding`, () => tf.tensor1d(rng.normalArray([d], 0, 1)), true);
    add(`${p}.fc1.weight`, () => tf.tensor2d(rng.normalArray([d, hyper], 0, std), [d, hyper]), false);
    add(`${p}.fc1.bias`, () => tf.zeros([hyper]), false);
    add(`${p}.fc2.weight`, () => tf.tensor2d(rng.normalArray([hyper, out], 0, std), [hyper, out]), false);
    add(`${p}.fc2.bias`, () => tf.zeros([out]), false);
  }
  return {
    kind: 'hyperrouter',
    variables,
    trainable,
    weights: (b) =>
      tf.tidy(() => {
        const p = `moe.${b}.hyperrouter`;
        const v = (n: string) => variables[`${p}.${n}`]!;
        const e = tf.reshape(v('embedding'), [1, d]);
        const h = tf.relu(linear(e, v('fc1.weight'), v('fc1.bias')));
        const theta = tf.reshape(linear(h, v('fc2.weight'), v('fc2.bias')), [experts, d + 1]);
        return {
          weight: tf.transpose(tf.slice(theta, [0, 0], [experts, d])),
          bias: tf.reshape(tf.slice(theta, [0, d], [experts, 1]), [experts]),
        };
      }),
  };
}
