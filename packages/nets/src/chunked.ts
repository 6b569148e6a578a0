import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, paramSpec, type ParamSpec, type Weights } from '@hypernets/core';
import { checkPositiveInt } from '@hypernets/core/internal';
import { MLPHyperNetBase, lookup, type HyperMLPConfig } from './base.js';
import { chunkedStats, type EntryStats } from './init.js';

export interface ChunkedHyperMLPConfig extends HyperMLPConfig {
  /** Outputs per call of the chunk generator. */
  chunkSize: number;
  /** Size of the learned chunk embeddings. Default 8. */
  chunkEmbeddingSize?: number;
  /** One set of chunk embeddings per condition id instead of one shared set. Default false. */
  chunkEmbeddingsPerCondition?: boolean;
}

/**
 * Chunked hypernetwork (hypnettorch's ChunkedHMLP): one small MLP maps
 * [condition embedding ; chunk embedding c] to `chunkSize` numbers, for every chunk
 * c = 0 … K−1 (K = ⌈P / chunkSize⌉). The chunks are concatenated, the surplus of the last
 * chunk dropped, and the result split into the target's tensors. All K chunks (of all N
 * conditions) run as one batched pass: the trunk input is [N, K, E + C].
 *
 * Init: hyperfan with the chunked heuristic of `chunkedStats` (each output unit gets the
 * variance averaged over the target entries it produces across chunks).
 *
 * Own ParamSpecs: `embeddings` (id/unconditional modes), `chunkEmbeddings` [K, C] (or
 * [numConditions, K, C] per condition), `fc{l}.*`, `out.weight` [h, chunkSize], `out.bias`,
 * and `theta0` [P] with MIP.
 */
export class ChunkedHyperMLP extends MLPHyperNetBase {
  readonly chunkSize: number;
  readonly numChunks: number;
  readonly chunkEmbeddingSize: number;
  readonly chunkEmbeddingsPerCondition: boolean;

  constructor(config: ChunkedHyperMLPConfig) {
    super(config, 'chunked-hyper-mlp');
    this.chunkSize = checkPositiveInt('chunkSize', config.chunkSize);
    this.numChunks = Math.ceil(this.numTargetParams / this.chunkSize);
    this.chunkEmbeddingSize = checkPositiveInt('chunkEmbeddingSize', config.chunkEmbeddingSize ?? 8);
    this.chunkEmbeddingsPerCondition = config.chunkEmbeddingsPerCondition ?? false;
    if (this.chunkEmbeddingsPerCondition && this.mode !== 'id')
      throw new ConfigError(
        'chunkEmbeddingsPerCondition',
        'per-condition chunk embeddings need condition ids (numConditions)',
      );
    this.build();
  }

  protected override extraSpecs(): ParamSpec[] {
    const C = this.chunkEmbeddingSize;
    const shape = this.chunkEmbeddingsPerCondition ? [this.numConditions, this.numChunks, C] : [this.numChunks, C];
    return [paramSpec({ name: 'chunkEmbeddings', shape, kind: 'embedding', layer: 0, fanIn: C, fanOut: C })];
  }

  protected trunkInputSize(): number {
    return this.condFeatures + this.chunkEmbeddingSize;
  }

  protected trunkOutputSize(): number {
    return this.chunkSize;
  }

  protected override trunkSecondMoment(): number {
    // Mixture of the condition features' and the N(0, 1) chunk embeddings' second moments.
    const F = this.condFeatures;
    const C = this.chunkEmbeddingSize;
    return (F * super.trunkSecondMoment() + C) / (F + C);
  }

  protected outputStats(stats: EntryStats): EntryStats {
    return chunkedStats(stats, this.chunkSize);
  }

  protected trunkInput(feats: tf.Tensor, ids: tf.Tensor | null, w: Weights, batch: number | null): tf.Tensor {
    const n = feats.shape[0];
    const K = this.numChunks;
    const C = this.chunkEmbeddingSize;
    const F = feats.shape[1]!;
    const table = w.chunkEmbeddings;
    let chunk: tf.Tensor; // [N, K, C]
    if (this.chunkEmbeddingsPerCondition) chunk = lookup(table, ids!, batch);
    else if (batch === null) chunk = tf.broadcastTo(tf.reshape(table, [1, K, C]), [n, K, C]);
    else chunk = table;
    const cond = tf.broadcastTo(tf.reshape(feats, [n, 1, F]), [n, K, F]);
    return tf.concat([cond, chunk], 2);
  }

  /** Rows (i, k): [features of condition i ; chunk embedding k (of condition i when per condition)]. */
  protected trunkInputHost(feats: Float32Array, n: number): { x: Float32Array; rows: number } {
    const K = this.numChunks;
    const C = this.chunkEmbeddingSize;
    const F = feats.length / n;
    const table = this.initValues!.chunkEmbeddings!;
    const width = F + C;
    const x = new Float32Array(n * K * width);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < K; k++) {
        const row = (i * K + k) * width;
        x.set(feats.subarray(i * F, (i + 1) * F), row);
        const c = ((this.chunkEmbeddingsPerCondition ? i * K : 0) + k) * C;
        x.set(table.subarray(c, c + C), row + F);
      }
    return { x, rows: n * K };
  }

  protected trunkOutputToFlat(out: tf.Tensor, n: number): tf.Tensor {
    const flat = tf.reshape(out, [n, this.numChunks * this.chunkSize]);
    if (this.numChunks * this.chunkSize === this.numTargetParams) return flat;
    return tf.slice(flat, [0, 0], [n, this.numTargetParams]);
  }
}
