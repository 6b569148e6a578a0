import type * as tf from '@tensorflow/tfjs-core';
import { MLPHyperNetBase, type HyperMLPConfig } from './base.js';
import type { EntryStats } from './init.js';

/**
 * Full hypernetwork (hypnettorch's HMLP): condition embedding (or external input) → MLP
 * hidden layers → one linear output of size P = Σ numel(targetParams), split and reshaped
 * into the target's tensors in ParamSpec order. The output layer is initialised hyperfan-in
 * by default, so generated tensors start with the variance of the target's own init.
 *
 * Own ParamSpecs (`params`): `embeddings` [numConditions, E] (or [1, E] unconditional),
 * `fc{l}.weight`/`.bias` hidden layers, `out.weight` [h, P], `out.bias` [P], and with MIP
 * `theta0` [P].
 */
export class HyperMLP extends MLPHyperNetBase {
  constructor(config: HyperMLPConfig) {
    super(config, 'hyper-mlp');
    this.build();
  }

  protected trunkInputSize(): number {
    return this.condFeatures;
  }

  protected trunkOutputSize(): number {
    return this.numTargetParams;
  }

  protected outputStats(stats: EntryStats): EntryStats {
    return stats;
  }

  protected trunkInput(feats: tf.Tensor): tf.Tensor {
    return feats;
  }

  protected trunkInputHost(feats: Float32Array, n: number): { x: Float32Array; rows: number } {
    return { x: feats, rows: n };
  }

  protected trunkOutputToFlat(out: tf.Tensor): tf.Tensor {
    return out;
  }
}
