import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from '../errors/index.js';

/**
 * Embedding lookup with a shared table [V, D] or per-sample tables [N, V, D] (ids [N, ...]).
 * The per-sample path flattens the tables to [N·V, D] and offsets sample i's ids by i·V, so
 * it is one GatherV2 (its gradient, UnsortedSegmentSum, is registered on every backend).
 */
export function embeddingLookup(ids: tf.Tensor, table: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const idx = ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32');
    if (table.rank === 2) return tf.gather(table, idx);
    if (table.rank !== 3 || table.shape[0] !== ids.shape[0])
      throw new ShapeMismatchError(
        'per-sample embedding table',
        [ids.shape[0], table.shape[table.rank - 2], table.shape[table.rank - 1]],
        table.shape,
        'pass [vocab, dim] or [N, vocab, dim] with N equal to the batch of ids',
      );
    const [n, v, d] = table.shape;
    const offsets = tf.reshape(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), [
      n,
      ...new Array(ids.rank - 1).fill(1),
    ]);
    return tf.gather(tf.reshape(table, [n * v, d]), tf.add(idx, offsets));
  });
}
