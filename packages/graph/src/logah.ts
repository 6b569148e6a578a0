import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng } from '@hypernets/core';
import { GHN3, type Ghn3Config, type ResolvedGhn3Config } from './ghn3.js';

export interface LogahConfig extends Omit<Ghn3Config, 'isGhn2'> {
  /** Node embedding size. Default 64 (LoGAH's README and compute_params.py). */
  hid?: number;
  /**
   * Decoder key cap [out, in, k, k]: tensors up to out × in channels are predicted at their own
   * size, larger ones tiled. Default [2048, 2048, 16, 16] (LoGAH's train_ghn_ddp.py / config.py).
   */
  maxShape?: readonly [number, number, number, number];
  /** Rank r of the low-rank decoder (LoGAH's lora_r). Default hid / 2 (compute_params.py). */
  rank?: number;
  /** Rows of A and B: the largest c_out·k_out or c_in·k_in predicted (max_ck_lora). Default 16 · maxShape[0]. */
  maxCk?: number;
  /** Predict 1-D tensors with GHN-2's decoder_1d (width hid / 2) instead of the low-rank decoder. Default false (config.py). */
  use1dDecoder?: boolean;
}

export type ResolvedLogahConfig = ResolvedGhn3Config & { rank: number; maxCk: number; use1dDecoder: boolean };

/**
 * LoGAH (Zhou, Knyazev, Jolicoeur-Martineau & Fu, "LoGAH: Predicting 774-Million-Parameter
 * Transformers using Graph HyperNetworks with 1/100 Parameters", 2024; Blackzxy/LoGAH): GHN-3 with
 * a low-rank decoder (ConvDecoder3LoRA). An MLP (hid → 4·hid → 8·hid → 2r²) gives [2r, r], ReLU
 * and a Linear(r, ck) give [2r, ck], read as [2ck, r] and split into A, Bᵗ [ck, r]; a tensor of
 * key [c_out, c_in, k_out, k_in] is W = A[:c_out·k_out] · Bᵗ[:c_in·k_in]ᵀ reshaped to
 * [c_out, k_out, c_in, k_in] and transposed to [c_out, c_in, k_out, k_in]; a classifier is
 * A[:c_out] · Bᵗ[:c_in]ᵀ; a 1-D tensor of key c is A[:2c] · Bᵗ[:1]ᵀ as rows (weight, bias). The
 * decoder's size grows with ck·r, not with the channels², so wide layers are predicted whole
 * instead of tiled. Tiling and normalisation as GHN-3.
 *
 * Variables as LoGAH's state_dict: `decoder.mlp.fc.{0,2,4}`, `decoder.l1` (defined, unused, as in
 * LoGAH), `decoder.l2` (LoGAH's state_dict also lists it as `decoder.seq.1`; io.ts writes and
 * accepts both), and without use1dDecoder the unused 1×1 layers `decoder_1d.0`, `bias_class.1` that LoGAH's state_dicts carry.
 */
export class LoGAH extends GHN3 {
  declare readonly config: ResolvedLogahConfig;

  constructor(config: LogahConfig = {}) {
    const hid = config.hid ?? 64;
    const s = config.maxShape?.[3] ?? 16;
    const maxShape = config.maxShape ?? [2048, 2048, s, s];
    const rank = config.rank ?? Math.floor(hid / 2);
    const maxCk = config.maxCk ?? 16 * maxShape[0];
    if (maxShape.length !== 4 || maxShape.some((d) => !Number.isInteger(d) || d < 1) || maxShape[2] !== maxShape[3])
      throw new ConfigError('maxShape', `must be [out, in, k, k] of positive integers, got [${maxShape.join(', ')}]`);
    if (!Number.isInteger(rank) || rank < 1)
      throw new ConfigError('rank', `must be a positive integer, got ${config.rank}`);
    if (!Number.isInteger(maxCk) || maxCk < 1)
      throw new ConfigError('maxCk', `must be a positive integer, got ${config.maxCk}`);
    // the base builds GHN-3's decoders at a small max_shape (as LoGAH's from_pretrained does: at the
    // real one, GHN-2's conv decoder alone would have O·I·8·hid weights), then they are replaced
    super({ ...config, hid, isGhn2: false, maxShape: [hid, hid, s, s] });
    const use1dDecoder = config.use1dDecoder ?? false;
    (this as { config: ResolvedLogahConfig }).config = { ...this.config, maxShape, rank, maxCk, use1dDecoder };
    const rng = new Rng((this.config.seed ^ 0x6c6f6761) | 0);
    const set = (name: string, t: tf.Tensor) => {
      this.vars[name]?.dispose();
      this.vars[name] = tf.variable(t, true);
      t.dispose();
    };
    const linear = (name: string, inF: number, outF: number, small = false) => {
      const bound = 1 / Math.sqrt(inF);
      set(
        `${name}.weight`,
        tf.tidy(() => tf.div(rng.uniformTensor([outF, inF], -bound, bound), small ? 5 : 1)),
      );
      set(`${name}.bias`, small ? tf.zeros([outF]) : rng.uniformTensor([outF], -bound, bound));
    };
    for (const name of Object.keys(this.vars))
      if (name.startsWith('decoder.') || name.startsWith('decoder_1d.') || name.startsWith('bias_class.')) {
        this.vars[name]!.dispose();
        delete this.vars[name];
      }
    linear('decoder.mlp.fc.0', hid, 4 * hid);
    linear('decoder.mlp.fc.2', 4 * hid, 8 * hid);
    linear('decoder.mlp.fc.4', 8 * hid, 2 * rank * rank);
    linear('decoder.l1', rank, rank);
    linear('decoder.l2', rank, maxCk);
    if (use1dDecoder) {
      const maxCh = Math.floor(hid / 2);
      linear('decoder_1d.fc.0', hid, 2 * hid);
      linear('decoder_1d.fc.2', 2 * hid, 2 * maxCh, true); // _init_small
      linear('bias_class.1', maxCh, this.config.numClasses);
    } else {
      // LoGAH's module keeps these two 1×1 Linear layers unused when the low-rank decoder predicts the 1-D
      // tensors too; they are in its state_dicts, so they exist here for checkpoints to load
      linear('decoder_1d.0', 1, 1);
      linear('bias_class.1', 1, 1);
    }
    this.resetParams();
  }

  /**
   * The low-rank decoder for `n` node embeddings: [n, cOut·kOut, cIn·kIn] = A[:cOut·kOut] · Bᵗ[:cIn·kIn]ᵀ
   * (ConvDecoder3LoRA.forward before its final reshape).
   */
  lowRank(x: tf.Tensor, cOut: number, cIn: number, kOut: number, kIn: number): tf.Tensor {
    const { rank: r, maxCk: ck } = this.config;
    if (cOut * kOut > ck || cIn * kIn > ck)
      throw new ConfigError(
        'maxCk',
        `a ${cOut}×${cIn}×${kOut}×${kIn} tensor needs maxCk ≥ ${Math.max(cOut * kOut, cIn * kIn)}, this LoGAH has ${ck}`,
      );
    return tf.tidy(() => {
      const n = x.shape[0]!;
      const h = tf.relu(tf.reshape(this.mlp(x, 'decoder.mlp', 3, false), [n, 2 * r, r])); // [n, 2r, r]
      // LoGAH computes l2 = decoder.l2(h) for all 2r rows ([n, 2r, ck]), views it as [n, 2·ck, r] and
      // keeps A = rows [0, cOut·kOut) and Bᵗ = rows [ck, ck + cIn·kIn). In the flat [2r·ck] layout A is
      // a prefix and Bᵗ starts at r·ck, i.e. at l2's row r: only the first ⌈cOut·kOut·r/ck⌉ rows from 0
      // and ⌈cIn·kIn·r/ck⌉ from r are needed. Same numbers, but memory ~(cOut·kOut + cIn·kIn)·r per
      // node instead of 2r·ck (3 GB for 8 CellNets at ck = 16·2048, past wasm's heap).
      const part = (row0: number, rows: number): tf.Tensor => {
        const need = Math.ceil((rows * r) / ck);
        const l2 = this.linear(tf.reshape(tf.slice(h, [0, row0, 0], [n, need, r]), [n * need, r]), 'decoder.l2'); // [n·need, ck]
        return tf.reshape(tf.slice(tf.reshape(l2, [n, need * ck]), [0, 0], [n, rows * r]), [n, rows, r]);
      };
      return tf.matMul(part(0, cOut * kOut), part(r, cIn * kIn), false, true);
    });
  }

  /** 4-D keys → [n, c_out, c_in, k_out, k_in]; a classifier (classPred) → [n, c_out, c_in]. */
  protected override convDecoder(x: tf.Tensor, key: readonly number[], classPred: boolean): tf.Tensor {
    const [o, i, kh, kw] = key as [number, number, number, number];
    if (classPred) return this.lowRank(x, o, i, 1, 1);
    const W = this.lowRank(x, o, i, kh, kw);
    return tf.transpose(tf.reshape(W, [x.shape[0]!, o, kh, i, kw]), [0, 1, 3, 2, 4]);
  }

  /** 1-D keys [c, 0 | -1] → [n, 2, c] (rows: weight or norm scale, bias or shift); with use1dDecoder GHN-2's decoder_1d. */
  protected override decoder1d(x: tf.Tensor, classBias: boolean, key?: readonly number[]): tf.Tensor {
    if (this.config.use1dDecoder) return super.decoder1d(x, classBias);
    const c = key![0]!;
    return tf.reshape(this.lowRank(x, 2 * c, 1, 1, 1), [x.shape[0]!, 2, c]);
  }
}
