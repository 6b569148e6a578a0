import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, layerNormalize, linear } from '@hypernets/core';

export interface MlpGhnConfig {
  observationSize: number;
  /** The policy's output size (action dimensions, or logits). */
  outputSize: number;
  /** Node embedding width. Default 16 (the reference's `hid`). */
  hidden?: number;
  /** The decoder's largest layer, maxWidth × maxWidth (the reference's max_shape 256). Default 256. */
  maxWidth?: number;
  seed?: number;
}

/** One generated policy: per layer a weight [in, out] and a bias [out] (tensors on the caller's tape). */
export interface GeneratedPolicy {
  hidden: readonly number[];
  weights: tf.Tensor2D[];
  biases: tf.Tensor1D[];
}

/**
 * HyperPPO's graph hypernetwork (hegde95/HyperPPO `hyper/ghn_modules.py` MLP_GHN, after Zhang et
 * al.'s GHN): an MLP policy obs → h₁ → … → h_L → out is a chain graph of its parameter tensors,
 * node 0 the input, then a weight node and a bias node per layer, each node's feature a linear map
 * of its "shape indicator" (0 for the input, the layer's output width for its weight and bias).
 * One forward-then-backward sweep of a gated GNN (a two-layer ReLU message MLP and a GRU cell, the
 * same for every node) updates the node states, LayerNorm follows, then decoders predict
 * - each weight node's max-sized weight (16 → 64 → 128 → maxWidth², ReLUs between; the
 *   reference's 1×1-conv decoder), sliced (or tiled) to the layer's [out, in], scaled by √(2/in);
 * - each bias node's 2 × maxWidth vector (16 → 32 → 2·maxWidth), whose second half is the hidden
 *   layer's bias; the last layer's bias goes through ReLU → maxWidth → 2·out as the reference's
 *   `bias_class`; biases are squashed as tanh(0.2 p).
 * Initialised as torch's defaults (U(±1/√fan-in) for every linear layer and the GRU, LayerNorm 1/0).
 * All of a batch of architectures is generated in one pass: the graphs are padded to the longest
 * chain and masked, and every weight node of the batch goes through the big decoder in one product.
 */
export class MlpGhn {
  readonly observationSize: number;
  readonly outputSize: number;
  readonly hidden: number;
  readonly maxWidth: number;
  readonly variables: Record<string, tf.Variable>;

  constructor(config: MlpGhnConfig) {
    const check = (name: string, v: number, max: number) => {
      if (!Number.isInteger(v) || v < 1 || v > max)
        throw new ConfigError(name, `must be an integer from 1 to ${max}, got ${v}`);
      return v;
    };
    this.observationSize = check('observationSize', config.observationSize, 1 << 16);
    this.outputSize = check('outputSize', config.outputSize, 1 << 16);
    this.hidden = check('hidden', config.hidden ?? 16, 1024);
    this.maxWidth = check('maxWidth', config.maxWidth ?? 256, 1024);
    const h = this.hidden;
    const W = this.maxWidth;
    const rng = new Rng(config.seed ?? 0);
    const vars: Record<string, tf.Variable> = {};
    // torch's nn.Linear / GRUCell default init: U(−1/√fan_in, 1/√fan_in), weights stored [in, out]
    const lin = (name: string, fanIn: number, out: number, boundFanIn = fanIn) => {
      const b = 1 / Math.sqrt(boundFanIn);
      vars[`${name}.weight`] = tf.tidy(() =>
        tf.variable(tf.tensor2d(rng.uniformArray([fanIn, out], -b, b), [fanIn, out])),
      );
      vars[`${name}.bias`] = tf.tidy(() => tf.variable(tf.tensor1d(rng.uniformArray([out], -b, b))));
    };
    lin('shapeEnc', 1, h);
    lin('gnn.mlp1', h, h);
    lin('gnn.mlp2', h, h);
    lin('gnn.gru.ih', h, 3 * h);
    lin('gnn.gru.hh', h, 3 * h);
    vars['ln.weight'] = tf.tidy(() => tf.variable(tf.ones([h])));
    vars['ln.bias'] = tf.tidy(() => tf.variable(tf.zeros([h])));
    lin('decoder.fc', h, 4 * h);
    lin('decoder.conv1', 4 * h, 8 * h);
    lin('decoder.conv2', 8 * h, W * W);
    lin('decoder1d.fc1', h, 2 * h);
    lin('decoder1d.fc2', 2 * h, 2 * W);
    lin('biasClass', W, 2 * this.outputSize);
    this.variables = vars;
  }

  private v(name: string): tf.Variable {
    return this.variables[name]!;
  }

  /** The chain's shape indicators: [0, h₁, h₁, …, h_L, h_L, out, out]. */
  shapeIndicators(hidden: readonly number[]): number[] {
    return [0, ...[...hidden, this.outputSize].flatMap((w) => [w, w])];
  }

  /** Generates the policies of `archs` (hidden widths each), on the caller's tape. */
  generate(archs: readonly (readonly number[])[]): GeneratedPolicy[] {
    if (archs.length === 0) throw new ConfigError('archs', 'needs at least one architecture');
    for (const a of archs)
      if (a.length === 0 || a.some((w) => !Number.isInteger(w) || w < 1))
        throw new ConfigError('archs', `each needs ≥ 1 positive integer hidden width, got [${a.join(', ')}]`);
    const G = archs.length;
    const inds = archs.map((a) => this.shapeIndicators(a));
    const lengths = inds.map((s) => s.length);
    const maxLen = Math.max(...lengths);
    return tf.tidy(() => {
      // node states per chain position: [G, hid]; padded positions masked out
      const states: tf.Tensor2D[] = [];
      const masks: tf.Tensor2D[] = [];
      for (let k = 0; k < maxLen; k++) {
        const s = tf.tensor2d(
          inds.map((v) => v[k] ?? 0),
          [G, 1],
        );
        states.push(linear(s, this.v('shapeEnc.weight'), this.v('shapeEnc.bias')) as tf.Tensor2D);
        masks.push(
          tf.tensor2d(
            lengths.map((n) => (k < n ? 1 : 0)),
            [G, 1],
          ),
        );
      }
      const message = (x: tf.Tensor2D) =>
        tf.relu(
          linear(
            tf.relu(linear(x, this.v('gnn.mlp1.weight'), this.v('gnn.mlp1.bias'))),
            this.v('gnn.mlp2.weight'),
            this.v('gnn.mlp2.bias'),
          ),
        ) as tf.Tensor2D;
      const update = (k: number, m: tf.Tensor2D | null) => {
        const hPrev = states[k]!;
        const next = this.gru(m ?? tf.zerosLike(hPrev), hPrev);
        states[k] = tf.add(tf.mul(masks[k]!, next), tf.mul(tf.sub(1, masks[k]!), hPrev)) as tf.Tensor2D;
      };
      // forward sweep: node k hears node k − 1 (already updated); then backward: node k hears k + 1
      for (let k = 0; k < maxLen; k++) update(k, k > 0 ? message(states[k - 1]!) : null);
      for (let k = maxLen - 1; k >= 0; k--)
        update(k, k + 1 < maxLen ? (tf.mul(message(states[k + 1]!), masks[k + 1]!) as tf.Tensor2D) : null);
      const ln = states.map(
        (x) => tf.add(tf.mul(layerNormalize(x), this.v('ln.weight')), this.v('ln.bias')) as tf.Tensor2D,
      );
      // weight nodes at positions 1, 3, …; bias nodes at 2, 4, …
      const wRows: tf.Tensor2D[] = [];
      const bRows: tf.Tensor2D[] = [];
      archs.forEach((a, g) => {
        for (let l = 0; l <= a.length; l++) {
          wRows.push(tf.slice(ln[2 * l + 1]!, [g, 0], [1, this.hidden]));
          bRows.push(tf.slice(ln[2 * l + 2]!, [g, 0], [1, this.hidden]));
        }
      });
      const W = this.maxWidth;
      const wx = tf.concat(wRows, 0);
      let d = tf.relu(linear(wx, this.v('decoder.fc.weight'), this.v('decoder.fc.bias')));
      d = tf.relu(linear(d, this.v('decoder.conv1.weight'), this.v('decoder.conv1.bias')));
      const big = tf.reshape(linear(d, this.v('decoder.conv2.weight'), this.v('decoder.conv2.bias')), [-1, W, W]);
      const bx = tf.concat(bRows, 0);
      const b1 = linear(
        tf.relu(linear(bx, this.v('decoder1d.fc1.weight'), this.v('decoder1d.fc1.bias'))),
        this.v('decoder1d.fc2.weight'),
        this.v('decoder1d.fc2.bias'),
      );
      const bSecond = tf.slice(b1, [0, W], [-1, W]); // the [1] half of the reference's view(N, 2, W)
      const out: GeneratedPolicy[] = [];
      let node = 0;
      for (const a of archs) {
        const sizes = [this.observationSize, ...a, this.outputSize];
        const weights: tf.Tensor2D[] = [];
        const biases: tf.Tensor1D[] = [];
        for (let l = 0; l + 1 < sizes.length; l++, node++) {
          const fanIn = sizes[l]!;
          const fanOut = sizes[l + 1]!;
          const raw = tf.reshape(tf.slice(big, [node, 0, 0], [1, W, W]), [W, W]) as tf.Tensor2D; // [out, in]
          const wOutIn = tileTo(raw, fanOut, fanIn);
          weights.push(tf.mul(tf.transpose(wOutIn), Math.sqrt(2 / fanIn)) as tf.Tensor2D);
          const last = l + 2 === sizes.length;
          const bRaw = tf.reshape(tf.slice(bSecond, [node, 0], [1, W]), [W]);
          const bVec = last
            ? tf.reshape(
                linear(tf.reshape(tf.relu(bRaw), [1, W]), this.v('biasClass.weight'), this.v('biasClass.bias')),
                [-1],
              )
            : bRaw;
          biases.push(tf.tanh(tf.mul(tileTo1(bVec, fanOut), 0.2)) as tf.Tensor1D);
        }
        out.push({ hidden: [...a], weights, biases });
      }
      return out as unknown as tf.TensorContainer;
    }) as unknown as GeneratedPolicy[];
  }

  /** torch.nn.GRUCell with gates (r, z, n): h' = (1 − z) n + z h. */
  private gru(x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    const H = this.hidden;
    const gi = linear(x, this.v('gnn.gru.ih.weight'), this.v('gnn.gru.ih.bias'));
    const gh = linear(h, this.v('gnn.gru.hh.weight'), this.v('gnn.gru.hh.bias'));
    const [ir, iz, inn] = tf.split(gi, [H, H, H], 1);
    const [hr, hz, hn] = tf.split(gh, [H, H, H], 1);
    const r = tf.sigmoid(tf.add(ir!, hr!));
    const z = tf.sigmoid(tf.add(iz!, hz!));
    const n = tf.tanh(tf.add(inn!, tf.mul(r, hn!)));
    return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
  }

  /** Number of trainable values. */
  get parameterCount(): number {
    return Object.values(this.variables).reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    tf.dispose(Object.values(this.variables));
  }
}

/** A predicted [W, W] slice to [rows, cols]: sliced when it fits, else tiled (index mod W), as the reference's `_tile_params`. */
function tileTo(w: tf.Tensor2D, rows: number, cols: number): tf.Tensor2D {
  const [R, C] = w.shape;
  let x: tf.Tensor2D = rows <= R ? tf.slice(w, [0, 0], [rows, Math.min(cols, C)]) : tf.gather(w, modIndex(rows, R), 0);
  if (cols > C) x = tf.gather(rows <= R ? x : tf.slice(x, [0, 0], [rows, C]), modIndex(cols, C), 1);
  else if (rows > R) x = tf.slice(x, [0, 0], [rows, cols]);
  return x;
}

function tileTo1(b: tf.Tensor, n: number): tf.Tensor1D {
  const N = b.shape[0]!;
  return (n <= N ? tf.slice(b, [0], [n]) : tf.gather(b, modIndex(n, N))) as tf.Tensor1D;
}

function modIndex(n: number, m: number): tf.Tensor1D {
  return tf.tensor1d(
    Int32Array.from({ length: n }, (_, i) => i % m),
    'int32',
  );
}
