import * as tf from '@tensorflow/tfjs-core';
import { linear, type Rng } from '@hypernets/core';

/** A task's input: one text, or a pair (two texts encoded separately, then combined). */
export type TaskKind = 'single' | 'pair';

/**
 * The classifier input for a batch of sentence embeddings: the embedding itself, or for pairs
 * (rows 0…B−1 the first texts, B…2B−1 the second) [u; v; |u − v|; u ⊙ v] (InferSent's features).
 */
export function headFeatures(emb: tf.Tensor2D, kind: TaskKind): tf.Tensor2D {
  if (kind === 'single') return emb;
  return tf.tidy((): tf.Tensor2D => {
    const b = emb.shape[0] / 2;
    const u = tf.slice(emb, [0, 0], [b, -1]);
    const v = tf.slice(emb, [b, 0], [b, -1]);
    return tf.concat([u, v, tf.abs(tf.sub(u, v)), tf.mul(u, v)], 1) as tf.Tensor2D;
  });
}

/** Width of the head's input for an embedding width `d`. */
export const headInputWidth = (d: number, kind: TaskKind): number => (kind === 'pair' ? 4 * d : d);

/**
 * One linear head per task, `heads.<t>.weight` [in, classes] and `heads.<t>.bias`, initialised as
 * torch.nn.Linear (U(−1/√in, 1/√in) for both).
 */
export function headVariables(t: number, inWidth: number, classes: number, rng: Rng): Record<string, tf.Variable> {
  const k = 1 / Math.sqrt(inWidth);
  const w = tf.randomUniform([inWidth, classes], -k, k, 'float32', rng.seed());
  const b = tf.randomUniform([classes], -k, k, 'float32', rng.seed());
  const out = { [`heads.${t}.weight`]: tf.variable(w, true), [`heads.${t}.bias`]: tf.variable(b, true) };
  tf.dispose([w, b]);
  return out;
}

export function applyHead(features: tf.Tensor2D, vars: Readonly<Record<string, tf.Variable>>, t: number): tf.Tensor2D {
  return linear(features, vars[`heads.${t}.weight`]!, vars[`heads.${t}.bias`]) as tf.Tensor2D;
}
