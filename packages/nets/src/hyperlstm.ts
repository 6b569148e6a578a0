import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  ShapeMismatchError,
  affine,
  checkWeights,
  embeddingLookup,
  layerNormalize,
  linear,
  lstmCell,
  paramSpec,
  tidy,
  type ForwardOptions,
  type ParamSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { initTensor } from '@hypernets/core/internal';
import { resolveHyperLSTMConfig, type HyperLSTMConfig, type ResolvedHyperLSTMConfig } from './hyperlstm-config.js';
import { VariableOwner } from './variables.js';

export { resolveHyperLSTMConfig } from './hyperlstm-config.js';
export type { HyperLSTMConfig, ResolvedHyperLSTMConfig } from './hyperlstm-config.js';

/**
 * HyperLSTM (Ha, Dai & Le 2016, "HyperNetworks", §3.2 and the HyperLSTMCell of their
 * TensorFlow code in Magenta's sketch-rnn): a small "hyper" LSTM reads x̂_t = [h_{t-1}; x_t]
 * and, at every step, emits embeddings z_x, z_h, z_b (per gate) that rescale the rows of the
 * main LSTM's weights — the dynamic, memory-efficient form: W h is computed once and scaled,
 * W(z) is never built.
 *
 *   ĥ_t, ĉ_t   = LNLSTM_hyper(x̂_t, ĥ_{t-1}, ĉ_{t-1})
 *   z_x^y = W_ĥx^y ĥ_t + b_ĥx^y,  z_h^y = W_ĥh^y ĥ_t + b_ĥh^y,  z_b^y = W_ĥb^y ĥ_t   (size E)
 *   d_x^y = W_xz^y z_x^y,  d_h^y = W_hz^y z_h^y,  b^y(z_b) = W_bz^y z_b^y + b^y         (size H)
 *   y_t   = LN(d_h^y ⊙ W_h^y h_{t-1} + d_x^y ⊙ W_x^y x_t + b^y(z_b))     y ∈ {i, f, g, o}
 *   c_t   = σ(f_t + forgetBias) ⊙ c_{t-1} + σ(i_t) ⊙ drop(tanh(g_t))
 *   h_t   = σ(o_t) ⊙ tanh(LN(c_t))
 * LN normalises each gate's block separately (with its own scale/shift); without `layerNorm`
 * both LN(·) are identities and the hyper cell gets a bias instead. `drop` is recurrent dropout
 * without memory loss (Semeniuta et al. 2016), off by default.
 *
 * Initialisation follows the reference code: z_x, z_h projections W = 0, b = 1; d_x, d_h
 * projections constant 0.1/E (so d starts at 0.1, Cooijmans et al.'s recurrent-BN γ); z_b
 * projection N(0, 0.01²); d_b projection 0; biases 0; LN scale 1, shift 0; input weights Xavier
 * uniform (TF's default), recurrent weights orthogonal per gate block; forget bias +1 as a
 * constant. Note that this init makes the E components of z_x and z_h identical forever (they
 * get identical gradients); `zWeightStd` > 0 breaks that symmetry (the reference does not).
 *
 * Layout: gates fused in the order i, f, g, o like @hypernets/core's LSTM (`[in, 4H]`,
 * `[H, 4H]`, `[4H]`), so with d ≡ 1 and no LN the main cell is exactly core's LSTM step. The
 * hyper-projections of the 4 gates are fused too: `hyper.zx.weight` [Ĥ, 4E] (gate-major
 * columns), `hyper.dx.weight` [4, E, H] (one E→H map per gate).
 *
 * It is a TargetNet (pure `forward(x, weights)`, per-sample weights with a leading batch
 * dimension, ParamSpecs for every tensor — another hypernetwork can generate its weights) and
 * a model that owns trainable variables initialised as above (`ownWeights()`, `run()`).
 */

/** Recurrent state of both cells, each [N, size]. Zeros when a sequence starts. */
export interface HyperLSTMState {
  h: tf.Tensor;
  c: tf.Tensor;
  hyperH: tf.Tensor;
  hyperC: tf.Tensor;
}

export interface HyperLSTMForwardOptions extends ForwardOptions {
  /** State to continue from (e.g. the `state` of a previous `run`). Default zeros. */
  initialState?: HyperLSTMState;
}

export interface HyperLSTMRunOptions extends HyperLSTMForwardOptions {
  /** Weights to run with (ParamSpec names; shared or per-sample). Default: own variables. */
  weights?: Weights;
}

export interface HyperLSTMResult {
  /** Hidden state of the main LSTM at every step, [N, T, H]. */
  output: tf.Tensor;
  /** Head output at every step, [N, T, outputSize]; null without a head. */
  logits: tf.Tensor | null;
  /** State after the last step, to continue the sequence. */
  state: HyperLSTMState;
}

/** Token ids: an int tensor [N, T] (not range-checked) or nested arrays (checked). */
export type TokenIds = tf.Tensor | readonly (readonly number[])[];

/** Checks nested-array token ids on the host and makes an int32 [N, T] tensor. */
export function tokenTensor(ids: readonly (readonly number[])[], vocabSize: number, owner = 'HyperLSTM'): tf.Tensor2D {
  const n = ids.length;
  const t = n > 0 ? ids[0].length : 0;
  if (n === 0 || t === 0)
    throw new ShapeMismatchError(
      `${owner} token ids`,
      [-1, -1],
      [n, t],
      'pass at least one sequence of at least one id',
    );
  const flat = new Int32Array(n * t);
  for (let i = 0; i < n; i++) {
    const row = ids[i];
    if (row.length !== t)
      throw new ShapeMismatchError(
        `${owner} token ids (row ${i})`,
        [t],
        [row.length],
        'every sequence in a batch needs the same length',
      );
    for (let j = 0; j < t; j++) {
      const v = row[j];
      if (!Number.isInteger(v) || v < 0 || v >= vocabSize)
        throw new ConfigError(
          'x',
          `${owner} has vocabSize ${vocabSize}; token id ${v} at [${i}, ${j}] is not in [0, ${vocabSize - 1}]`,
        );
      flat[i * t + j] = v;
    }
  }
  return tf.tensor2d(flat, [n, t], 'int32');
}

/**
 * A [rows, cols] matrix with orthonormal columns (rows ≥ cols) or rows (rows < cols): modified
 * Gram–Schmidt on a Gaussian draw, on the host (init only).
 */
export function orthogonalMatrix(rows: number, cols: number, rng: Rng): Float32Array {
  const tall = rows >= cols;
  const m = tall ? rows : cols; // vector length
  const k = tall ? cols : rows; // number of orthonormal vectors
  const g = rng.normalArray([k, m]); // the values rng.normal([k, m]) holds, drawn on the host
  const v = Array.from({ length: k }, (_, i) => Float64Array.from(g.subarray(i * m, (i + 1) * m)));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let e = 0; e < m; e++) dot += v[i][e] * v[j][e];
      for (let e = 0; e < m; e++) v[i][e] -= dot * v[j][e];
    }
    let norm = 0;
    for (let e = 0; e < m; e++) norm += v[i][e] * v[i][e];
    norm = Math.sqrt(norm) || 1;
    for (let e = 0; e < m; e++) v[i][e] /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = tall ? v[c][r] : v[r][c];
  return out;
}

/**
 * Layout inside the loop: gate-major [4, N, U] (gates i, f, g, o). Unstacking the gate axis
 * takes contiguous slices (cheap on every backend; tfjs-cpu copies non-contiguous slices
 * element by element, which made splitting [N, 4U] along its last axis the bottleneck).
 */
function toGates(t: tf.Tensor, n: number, units: number): tf.Tensor {
  return tf.transpose(tf.reshape(t, [n, 4, units]), [1, 0, 2]);
}

/**
 * A fused [4U] parameter (or per-sample [N, 4U]) laid out to broadcast against [4, N, U],
 * plus `forgetBias` on the f block (a constant: one add per sequence instead of per step).
 */
function gateParam(p: tf.Tensor, n: number, units: number, forgetBias = 0): tf.Tensor {
  const g = p.rank === 1 ? tf.reshape(p, [4, 1, units]) : toGates(p, n, units);
  return forgetBias === 0 ? g : tf.add(g, tf.reshape(tf.tensor1d([0, forgetBias, 0, 0]), [4, 1, 1]));
}

interface CellNorm {
  gateScale: tf.Tensor; // [4, 1|N, U]
  gateShift: tf.Tensor;
  cellScale: tf.Tensor; // [U] or [N, U]
  cellShift: tf.Tensor;
}

/**
 * One LSTM cell update from gate pre-activations z [4, N, U] and c_{t-1} [N, U] (null =
 * zeros): optional per-gate LN, recurrent dropout on the candidate, LN on the cell before its
 * tanh. The forget bias is already in z (folded into the bias or LN shift by the caller).
 */
function lstmUpdate(z: tf.Tensor, cPrev: tf.Tensor | null, norm: CellNorm | null, eps: number, mask: tf.Tensor | null) {
  if (norm) z = tf.add(tf.mul(layerNormalize(z, eps), norm.gateScale), norm.gateShift);
  const [zi, zf, zg, zo] = tf.unstack(z, 0);
  return lstmCell(zi, zf, zg, zo, cPrev, {
    candidateMask: mask,
    cellOutput: norm ? (c) => affine(layerNormalize(c, eps), norm.cellScale, norm.cellShift) : undefined,
  });
}

export class HyperLSTM extends VariableOwner implements TargetNet {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: ResolvedHyperLSTMConfig;

  constructor(config: HyperLSTMConfig) {
    super();
    const c = resolveHyperLSTMConfig(config);
    this.config = c;
    this.name = config.name ?? 'hyper-lstm';
    const { inputSize: I, hiddenSize: H, hyperHiddenSize: Hh, hyperEmbeddingSize: E } = c;
    const specs: ParamSpec[] = [];
    const add = (
      name: string,
      shape: number[],
      kind: ParamSpec['kind'],
      layer: number,
      fanIn: number,
      fanOut: number,
      activation?: string,
    ) => specs.push(paramSpec({ name, shape, kind, layer, fanIn, fanOut, ...(activation ? { activation } : {}) }));
    let layer = 0;
    if (c.vocabSize !== null) add('embedding.weight', [c.vocabSize, I], 'embedding', layer++, c.vocabSize, I);
    // hyper LSTM: input x̂ = [h_{t-1}; x_t]
    add('hyper.weight_ih', [H + I, 4 * Hh], 'weight', layer, H + I, 4 * Hh, 'tanh');
    add('hyper.weight_hh', [Hh, 4 * Hh], 'recurrent-weight', layer, Hh, 4 * Hh, 'tanh');
    if (c.layerNorm) {
      add('hyper.ln_gates.scale', [4 * Hh], 'norm-scale', layer, 4 * Hh, 4 * Hh);
      add('hyper.ln_gates.shift', [4 * Hh], 'norm-shift', layer, 4 * Hh, 4 * Hh);
      add('hyper.ln_cell.scale', [Hh], 'norm-scale', layer, Hh, Hh);
      add('hyper.ln_cell.shift', [Hh], 'norm-shift', layer, Hh, Hh);
    } else add('hyper.bias', [4 * Hh], 'bias', layer, H + I, 4 * Hh, 'tanh');
    layer++;
    // ĥ → z (E per gate, 4 gates fused) → d (H per gate)
    for (const p of ['zx', 'zh', 'zb']) {
      add(`hyper.${p}.weight`, [Hh, 4 * E], 'weight', layer, Hh, 4 * E, 'linear');
      if (p !== 'zb') add(`hyper.${p}.bias`, [4 * E], 'norm-scale', layer, Hh, 4 * E, 'linear');
    }
    layer++;
    for (const p of ['dx', 'dh', 'db']) add(`hyper.${p}.weight`, [4, E, H], 'weight', layer, E, H, 'linear');
    layer++;
    add('lstm.weight_ih', [I, 4 * H], 'weight', layer, I, 4 * H, 'tanh');
    add('lstm.weight_hh', [H, 4 * H], 'recurrent-weight', layer, H, 4 * H, 'tanh');
    add('lstm.bias', [4 * H], 'bias', layer, I, 4 * H, 'tanh');
    if (c.layerNorm) {
      add('lstm.ln_gates.scale', [4 * H], 'norm-scale', layer, 4 * H, 4 * H);
      add('lstm.ln_gates.shift', [4 * H], 'norm-shift', layer, 4 * H, 4 * H);
      add('lstm.ln_cell.scale', [H], 'norm-scale', layer, H, H);
      add('lstm.ln_cell.shift', [H], 'norm-shift', layer, H, H);
    }
    layer++;
    if (c.outputSize !== null) {
      add('head.weight', [H, c.outputSize], 'weight', layer, H, c.outputSize, 'linear');
      add('head.bias', [c.outputSize], 'bias', layer, H, c.outputSize, 'linear');
    }
    this.params = specs;
    this.inputShape = c.vocabSize !== null ? [c.seqLength] : [c.seqLength, I];
    this.outputShape = [c.seqLength, c.outputSize ?? H];

    const rng = config.seed instanceof Rng ? config.seed : new Rng(config.seed ?? 0);
    const init = this.initialWeights(rng);
    for (const s of specs) this.vars[s.name] = tf.variable(init[s.name], true);
    tf.dispose(Object.values(init));
  }

  /**
   * Fresh tensors with the reference initialisation (see the class comment), in ParamSpec
   * order from one random stream. The caller owns them.
   */
  initialWeights(rng: Rng = new Rng(0)): Weights {
    const { hyperEmbeddingSize: E, zWeightStd } = this.config;
    const out: Weights = {};
    const orthoBlocks = (s: ParamSpec) => {
      const [r, g] = s.shape;
      const u = g / 4;
      const vals = new Float32Array(r * g);
      for (let b = 0; b < 4; b++) {
        const q = orthogonalMatrix(r, u, rng);
        for (let i = 0; i < r; i++) for (let j = 0; j < u; j++) vals[i * g + b * u + j] = q[i * u + j];
      }
      return tf.tensor2d(vals, [r, g]);
    };
    for (const s of this.params) {
      const shape = [...s.shape];
      const n = s.name;
      let t: tf.Tensor;
      if (s.kind === 'recurrent-weight') t = orthoBlocks(s);
      else if (n === 'hyper.zx.weight' || n === 'hyper.zh.weight')
        t = zWeightStd > 0 ? rng.normal(shape, 0, zWeightStd) : tf.zeros(shape);
      else if (n === 'hyper.zx.bias' || n === 'hyper.zh.bias') t = tf.ones(shape);
      else if (n === 'hyper.zb.weight') t = rng.normal(shape, 0, 0.01);
      else if (n === 'hyper.dx.weight' || n === 'hyper.dh.weight') t = tf.fill(shape, 0.1 / E);
      else if (n === 'hyper.db.weight') t = tf.zeros(shape);
      else t = initTensor(s, rng, s.kind === 'weight' ? 'xavier-uniform' : 'auto');
      out[n] = t;
    }
    return out;
  }

  /** Zero state for a batch of n sequences. */
  zeroState(n: number): HyperLSTMState {
    const { hiddenSize: H, hyperHiddenSize: Hh } = this.config;
    return { h: tf.zeros([n, H]), c: tf.zeros([n, H]), hyperH: tf.zeros([n, Hh]), hyperC: tf.zeros([n, Hh]) };
  }

  /**
   * TargetNet forward: x [N, T, inputSize] (or token ids [N, T]) → head logits [N, T, outputSize]
   * (or hidden states [N, T, H] without a head). Pure given `weights`.
   */
  forward(x: TokenIds, weights: Weights, options: HyperLSTMForwardOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const r = this.unroll(x, weights, options);
      return r.logits ?? r.output;
    });
  }

  /** Runs a sequence with the own variables (or `options.weights`); returns outputs, logits and the final state. */
  run(x: TokenIds, options: HyperLSTMRunOptions = {}): HyperLSTMResult {
    return tidy(() => this.unroll(x, options.weights ?? this.vars, options));
  }

  private unroll(xIn: TokenIds, weights: Weights, options: HyperLSTMForwardOptions): HyperLSTMResult {
    const c = this.config;
    const { hiddenSize: H, hyperHiddenSize: Hh, hyperEmbeddingSize: E, inputSize: I } = c;
    const batch = checkWeights(this.params, weights, this.name);
    const tokens = c.vocabSize !== null;
    if (!(xIn instanceof tf.Tensor)) {
      if (!tokens)
        throw new ConfigError('x', `${this.name} has no embedding (vocabSize): pass x as a tensor [N, T, ${I}]`);
      xIn = tokenTensor(xIn, c.vocabSize!, this.name);
    }
    const x = xIn;
    const shape = x.shape as number[];
    const okRank = tokens ? x.rank === 2 : x.rank === 3 && shape[2] === I;
    if (!okRank || shape[0] < 1 || shape[1] < 1)
      throw new ShapeMismatchError(
        `${this.name} input`,
        tokens ? [x.shape[0] ?? -1, c.seqLength] : [x.shape[0] ?? -1, c.seqLength, I],
        x.shape,
        tokens ? 'pass token ids [N, T] (int32)' : `pass [N, T, ${I}] (any T ≥ 1)`,
      );
    const n = shape[0];
    if (batch !== null && batch !== n)
      throw new ShapeMismatchError(
        `input of ${this.name} (per-sample weights)`,
        [batch, ...shape.slice(1)],
        shape,
        `the weights carry ${batch} weight sets: pass one sequence per weight set`,
      );
    const init = options.initialState;
    if (init) {
      const want: [keyof HyperLSTMState, number][] = [
        ['h', H],
        ['c', H],
        ['hyperH', Hh],
        ['hyperC', Hh],
      ];
      for (const [k, size] of want) {
        const t = init[k];
        if (!(t instanceof tf.Tensor) || t.rank !== 2 || t.shape[0] !== n || t.shape[1] !== size)
          throw new ShapeMismatchError(
            `${this.name} initialState.${k}`,
            [n, size],
            t instanceof tf.Tensor ? t.shape : [],
            'pass the state of a run on the same batch',
          );
      }
    }
    const training = options.training === true;
    const dropMain = training && c.recurrentDropout > 0;
    const dropHyper = training && c.hyperRecurrentDropout > 0;
    if ((dropMain || dropHyper) && !options.rng)
      throw new ConfigError(
        'options.rng',
        `${this.name} has recurrent dropout and runs in training mode: pass options.rng (new Rng(seed)) for the masks`,
      );

    const w = (k: string) => weights[k];
    const T = shape[1];
    // Weight prep, once per sequence. Per-sample weights keep their leading N through it.
    const seq = tokens ? embeddingLookup(x, w('embedding.weight')) : x; // [N, T, I]
    const [wHyperH, wHyperX] = tf.split(w('hyper.weight_ih'), [H, I], w('hyper.weight_ih').rank - 2); // rows of x̂ = [h; x]
    const zW = tf.concat(
      ['zx', 'zh', 'zb'].map((p) => w(`hyper.${p}.weight`)),
      -1,
    ); // [Ĥ, 12E]
    const zB = tf.concat([w('hyper.zx.bias'), w('hyper.zh.bias'), tf.zeros(batch === null ? [4 * E] : [n, 4 * E])], -1); // [12E]
    const dW = tf.concat(
      ['dx', 'dh', 'db'].map((p) => w(`hyper.${p}.weight`)),
      batch === null ? 0 : 1,
    ); // [12, E, H]
    const dW3 = batch === null ? dW : tf.reshape(dW, [n * 12, E, H]);
    const norm = (cell: 'lstm' | 'hyper', units: number): CellNorm | null =>
      c.layerNorm
        ? {
            gateScale: gateParam(w(`${cell}.ln_gates.scale`), n, units),
            gateShift: gateParam(w(`${cell}.ln_gates.shift`), n, units, c.forgetBias),
            cellScale: w(`${cell}.ln_cell.scale`),
            cellShift: w(`${cell}.ln_cell.shift`),
          }
        : null;
    const mainNorm = norm('lstm', H);
    const hyperNorm = norm('hyper', Hh);
    // the forget bias goes after LN (reference): into the LN shift, or the bias without LN
    const bias = gateParam(w('lstm.bias'), n, H, c.layerNorm ? 0 : c.forgetBias);
    const hyperBias = c.layerNorm ? null : gateParam(w('hyper.bias'), n, Hh, c.forgetBias);

    /** d = W_d z per gate: z [N, 12E] → d_x, d_h, d_b, each [4, N, H]. */
    const project = (z: tf.Tensor): tf.Tensor[] => {
      let d: tf.Tensor;
      if (batch === null)
        d = tf.matMul(tf.transpose(tf.reshape(z, [n, 12, E]), [1, 0, 2]), dW3); // [12, N, H]
      else d = tf.transpose(tf.reshape(tf.matMul(tf.reshape(z, [n * 12, 1, E]), dW3), [n, 12, H]), [1, 0, 2]);
      return tf.unstack(tf.reshape(d, [3, 4, n, H]), 0);
    };
    /** Input projections of every step at once: [N, T, I] → T × [4, N, U]. */
    const stepInputs = (wIn: tf.Tensor, units: number) =>
      tf.unstack(tf.transpose(tf.reshape(linear(seq, wIn), [n, T, 4, units]), [1, 2, 0, 3]), 0);

    const xMainSteps = stepInputs(w('lstm.weight_ih'), H);
    const xHyperSteps = stepInputs(wHyperX, Hh);
    let h: tf.Tensor | null = init ? init.h : null;
    let cs: tf.Tensor | null = init ? init.c : null;
    let hh: tf.Tensor | null = init ? init.hyperH : null;
    let hc: tf.Tensor | null = init ? init.hyperC : null;
    const hs: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      // hyper cell on x̂_t = [h_{t-1}; x_t]
      let hyperRec: tf.Tensor | null = h === null ? null : linear(h, wHyperH);
      if (hh !== null) {
        const r = linear(hh, w('hyper.weight_hh'));
        hyperRec = hyperRec === null ? r : tf.add(hyperRec, r);
      }
      let hyperPre = hyperRec === null ? xHyperSteps[t] : tf.add(xHyperSteps[t], toGates(hyperRec, n, Hh));
      if (hyperBias) hyperPre = tf.add(hyperPre, hyperBias);
      const hyperMask = dropHyper ? options.rng!.dropoutMask([n, Hh], c.hyperRecurrentDropout) : null;
      const hyper = lstmUpdate(hyperPre, hc, hyperNorm, c.layerNormEps, hyperMask);
      hh = hyper.h;
      hc = hyper.c;
      // main cell with rescaled rows: d_x ⊙ W_x x_t + d_h ⊙ W_h h_{t-1} + d_b + b
      const [dx, dh, db] = project(linear(hh, zW, zB));
      let pre = tf.add(tf.add(tf.mul(dx, xMainSteps[t]), db), bias);
      if (h !== null) pre = tf.add(pre, tf.mul(dh, toGates(linear(h, w('lstm.weight_hh')), n, H)));
      const mask = dropMain ? options.rng!.dropoutMask([n, H], c.recurrentDropout) : null;
      const main = lstmUpdate(pre, cs, mainNorm, c.layerNormEps, mask);
      h = main.h;
      cs = main.c;
      hs.push(h);
    }
    // stack on axis 0 + transpose: the gradient unstacks contiguous slices
    const output = tf.transpose(tf.stack(hs, 0), [1, 0, 2]); // [N, T, H]
    const logits = c.outputSize !== null ? linear(output, w('head.weight'), w('head.bias')) : null;
    return { output, logits, state: { h: h!, c: cs!, hyperH: hh!, hyperC: hc! } };
  }
}
