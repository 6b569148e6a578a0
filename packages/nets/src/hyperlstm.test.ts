import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  LSTM,
  Rng,
  ShapeMismatchError,
  assertNoLeaks,
  initBackend,
  softmaxCrossEntropy,
  type Weights,
} from '@hypernets/core';
import { HyperLSTM, orthogonalMatrix, type HyperLSTMConfig } from './hyperlstm.js';
import { checkGradients, maxAbs } from './testing/helpers.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** Random, non-trivial values for every spec (norm params near 1/0, hyper scalings not constant). */
function randomWeights(net: HyperLSTM, seed: number, lead: number[] = []): Weights {
  const rng = new Rng(seed);
  const out: Weights = {};
  for (const s of net.params) {
    const base = s.kind === 'norm-scale' ? 1 : 0;
    const std =
      s.kind === 'weight' || s.kind === 'recurrent-weight' ? Math.sqrt(2 / s.fanIn) : s.kind === 'embedding' ? 1 : 0.3;
    out[s.name] = tf.tidy(() => tf.add(rng.normal([...lead, ...s.shape], 0, std), base));
  }
  return out;
}

function assignAll(net: HyperLSTM, w: Weights) {
  const own = net.ownWeights() as Record<string, tf.Variable>;
  for (const s of net.params) own[s.name]!.assign(w[s.name]!);
}

// ---------- plain-JS reference of the cell (one sample) ----------

type M = number[][];
const sig = (v: number) => 1 / (1 + Math.exp(-v));
const vecMat = (v: number[], m: M) => m[0]!.map((_, j) => v.reduce((s, vi, i) => s + vi * m[i]![j]!, 0));
const lnBlock = (v: number[], scale: number[], shift: number[], eps: number) => {
  const mu = v.reduce((a, b) => a + b, 0) / v.length;
  const va = v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length;
  return v.map((x, j) => ((x - mu) / Math.sqrt(va + eps)) * scale[j]! + shift[j]!);
};
/** LSTM update from gate pre-activations (i, f, g, o blocks of `u`) with optional per-gate LN. */
function cellRef(z: number[], c: number[], u: number, ln: number[][] | null, fb: number, eps: number) {
  const blocks = [0, 1, 2, 3].map((k) => z.slice(k * u, (k + 1) * u));
  const nb = ln
    ? blocks.map((b, k) => lnBlock(b, ln[0]!.slice(k * u, (k + 1) * u), ln[1]!.slice(k * u, (k + 1) * u), eps))
    : blocks;
  const [i, f, g, o] = nb as [number[], number[], number[], number[]];
  const cn = c.map((cj, j) => sig(f[j]! + fb) * cj + sig(i[j]!) * Math.tanh(g[j]!));
  const cl = ln ? lnBlock(cn, ln[2]!, ln[3]!, eps) : cn;
  return { h: cl.map((v, j) => sig(o[j]!) * Math.tanh(v)), c: cn };
}

/** The paper's equations, written out per gate (the code fuses them). */
function hyperLstmRef(
  xs: M,
  W: Record<string, number[] | M | number[][][]>,
  cfg: { H: number; Hh: number; E: number; ln: boolean; fb: number; eps: number },
) {
  const { H, Hh, E, ln, fb, eps } = cfg;
  let h = new Array(H).fill(0);
  let c = new Array(H).fill(0);
  let hh = new Array(Hh).fill(0);
  let hc = new Array(Hh).fill(0);
  const out: M = [];
  const m = (k: string) => W[k] as M;
  const v = (k: string) => W[k] as number[];
  for (const x of xs) {
    const hyperIn = [...h, ...x];
    const za = vecMat(hyperIn, m('hyper.weight_ih'));
    const zr = vecMat(hh, m('hyper.weight_hh'));
    let zhy = za.map((a, j) => a + zr[j]!);
    if (!ln) zhy = zhy.map((a, j) => a + v('hyper.bias')[j]!);
    const hy = cellRef(
      zhy,
      hc,
      Hh,
      ln
        ? [v('hyper.ln_gates.scale'), v('hyper.ln_gates.shift'), v('hyper.ln_cell.scale'), v('hyper.ln_cell.shift')]
        : null,
      fb,
      eps,
    );
    hh = hy.h;
    hc = hy.c;
    const zx = vecMat(hh, m('hyper.zx.weight')).map((a, j) => a + v('hyper.zx.bias')[j]!);
    const zh = vecMat(hh, m('hyper.zh.weight')).map((a, j) => a + v('hyper.zh.bias')[j]!);
    const zb = vecMat(hh, m('hyper.zb.weight'));
    const wx = vecMat(x, m('lstm.weight_ih'));
    const wh = vecMat(h, m('lstm.weight_hh'));
    const pre: number[] = [];
    for (let g = 0; g < 4; g++) {
      const d = (name: string, z: number[]) => vecMat(z.slice(g * E, (g + 1) * E), (W[name] as number[][][])[g]!);
      const dx = d('hyper.dx.weight', zx);
      const dh = d('hyper.dh.weight', zh);
      const db = d('hyper.db.weight', zb);
      for (let j = 0; j < H; j++)
        pre.push(dx[j]! * wx[g * H + j]! + dh[j]! * wh[g * H + j]! + db[j]! + v('lstm.bias')[g * H + j]!);
    }
    const r = cellRef(
      pre,
      c,
      H,
      ln
        ? [v('lstm.ln_gates.scale'), v('lstm.ln_gates.shift'), v('lstm.ln_cell.scale'), v('lstm.ln_cell.shift')]
        : null,
      fb,
      eps,
    );
    h = r.h;
    c = r.c;
    out.push(h);
  }
  return out;
}

const small: HyperLSTMConfig = { inputSize: 3, hiddenSize: 5, hyperHiddenSize: 4, hyperEmbeddingSize: 2, seqLength: 4 };

describe('HyperLSTM: config, ParamSpecs, init', () => {
  it('counts parameters like the hand computation (embedding, LN, head)', () => {
    const net = new HyperLSTM({ ...small, vocabSize: 7, outputSize: 6 });
    const [I, H, Hh, E, V, O] = [3, 5, 4, 2, 7, 6];
    const hyper = (H + I) * 4 * Hh + Hh * 4 * Hh + 2 * 4 * Hh + 2 * Hh;
    const proj = 3 * Hh * 4 * E + 2 * 4 * E + 3 * 4 * E * H;
    const main = I * 4 * H + H * 4 * H + 4 * H + 2 * 4 * H + 2 * H;
    expect(net.numParams).toBe(V * I + hyper + proj + main + H * O + O);
    expect(net.trainableVariables().length).toBe(net.params.length);
    expect(net.inputShape).toEqual([4]);
    expect(net.outputShape).toEqual([4, 6]);
    net.dispose();
  });

  it('starts with the reference init: d_x = d_h = 0.1, d_b = 0, orthogonal recurrent blocks', () => {
    const net = new HyperLSTM({ ...small, hiddenSize: 6, hyperHiddenSize: 5, hyperEmbeddingSize: 4 });
    const w = net.ownWeights();
    // z_x = W·ĥ + b = 1 (W = 0), d_x = Σ_e z_e · 0.1/E = 0.1
    const d = tf.tidy(() => tf.matMul(tf.ones([4, 1, 4]), w['hyper.dx.weight']!).dataSync());
    for (const v of d) expect(v).toBeCloseTo(0.1, 6);
    expect(tf.tidy(() => tf.max(tf.abs(w['hyper.zx.weight']!)).dataSync()[0])).toBe(0);
    expect(tf.tidy(() => tf.max(tf.abs(w['hyper.db.weight']!)).dataSync()[0])).toBe(0);
    const zbStd = tf.tidy(() => tf.sqrt(tf.moments(w['hyper.zb.weight']!).variance).dataSync()[0]!);
    expect(zbStd).toBeGreaterThan(0.005);
    expect(zbStd).toBeLessThan(0.02);
    // each gate block of W_hh is orthogonal: Qᵀ Q = I
    const blocks = tf.split(w['lstm.weight_hh']!, 4, 1);
    for (const q of blocks) {
      const qtq = tf.matMul(q, q, true, false);
      expect(maxAbs(qtq, tf.eye(6))).toBeLessThan(1e-5);
      tf.dispose([q, qtq]);
    }
    // wide orthogonal matrices get orthonormal rows
    const q = tf.tensor2d(orthogonalMatrix(3, 7, new Rng(1)), [3, 7]);
    expect(maxAbs(tf.matMul(q, q, false, true), tf.eye(3))).toBeLessThan(1e-5);
    q.dispose();
    net.dispose();
  });

  it('is reproducible from the seed', () => {
    const a = new HyperLSTM({ ...small, seed: 5 });
    const b = new HyperLSTM({ ...small, seed: 5 });
    const c = new HyperLSTM({ ...small, seed: 6 });
    const wa = a.ownWeights();
    expect(maxAbs(wa['lstm.weight_ih']!, b.ownWeights()['lstm.weight_ih']!)).toBe(0);
    expect(maxAbs(wa['lstm.weight_ih']!, c.ownWeights()['lstm.weight_ih']!)).toBeGreaterThan(1e-3);
    [a, b, c].forEach((n) => n.dispose());
  });

  it('rejects bad configs with ConfigError', () => {
    expect(() => new HyperLSTM({ ...small, hiddenSize: 0 })).toThrow(ConfigError);
    expect(() => new HyperLSTM({ ...small, hyperEmbeddingSize: 2.5 })).toThrow(ConfigError);
    expect(() => new HyperLSTM({ ...small, recurrentDropout: 1 })).toThrow(ConfigError);
    expect(() => new HyperLSTM({ ...small, layerNormEps: 0 })).toThrow(ConfigError);
    expect(() => new HyperLSTM({ ...small, hiddenSizes: [3] } as unknown as HyperLSTMConfig)).toThrow(
      /unknown HyperLSTM option/,
    );
  });
});

describe('HyperLSTM: equations', () => {
  for (const ln of [false, true]) {
    it(`matches the per-gate equations written out in plain JS (${ln ? 'with' : 'without'} LN)`, () => {
      const cfg = { ...small, layerNorm: ln, forgetBias: 0.7 };
      const net = new HyperLSTM(cfg);
      const w = randomWeights(net, 11);
      const x = tf.tidy(() => tf.randomNormal([2, 4, 3], 0, 1, 'float32', 3));
      const y = net.forward(x, w);
      const W: Record<string, never> = {};
      for (const s of net.params) W[s.name] = w[s.name]!.arraySync() as never;
      const xs = x.arraySync() as number[][][];
      const ys = y.arraySync() as number[][][];
      xs.forEach((seq, i) => {
        const ref = hyperLstmRef(seq, W, { H: 5, Hh: 4, E: 2, ln, fb: 0.7, eps: 1e-3 });
        ref.forEach((ht, t) => ht.forEach((v, j) => expect(Math.abs(v - ys[i]![t]![j]!)).toBeLessThan(2e-5)));
      });
      tf.dispose([x, y, ...Object.values(w)]);
      net.dispose();
    });
  }

  it("with d ≡ 1 and no LN it is core's LSTM on the same weights (forget bias folded into b_f)", () => {
    const H = 5;
    const net = new HyperLSTM({ ...small, layerNorm: false, forgetBias: 1 });
    const w = randomWeights(net, 21);
    // z_x = z_h = 1 (W = 0, b = 1), d = Σ_e 1 · 1/E = 1; d_b = 0 whatever z_b is
    for (const p of ['zx', 'zh']) {
      w[`hyper.${p}.weight`] = tf.zerosLike(w[`hyper.${p}.weight`]!);
      w[`hyper.${p}.bias`] = tf.onesLike(w[`hyper.${p}.bias`]!);
    }
    w['hyper.dx.weight'] = tf.fill([4, 2, H], 0.5);
    w['hyper.dh.weight'] = tf.fill([4, 2, H], 0.5);
    w['hyper.db.weight'] = tf.zeros([4, 2, H]);
    const lstm = new LSTM({ inputSize: 3, hiddenSize: H, seqLength: 4, output: 'sequence' });
    const forget = tf.concat([tf.zeros([H]), tf.ones([H]), tf.zeros([2 * H])]);
    const lw: Weights = {
      'lstm.0.weight_ih': w['lstm.weight_ih']!,
      'lstm.0.weight_hh': w['lstm.weight_hh']!,
      'lstm.0.bias': tf.add(w['lstm.bias']!, forget),
    };
    const x = tf.tidy(() => tf.randomNormal([3, 4, 3], 0, 1, 'float32', 8));
    const a = net.forward(x, w);
    const b = lstm.forward(x, lw);
    expect(maxAbs(a, b)).toBeLessThan(1e-5);
    // and the default (non-trivial) scalings do change the output
    const d = net.forward(x, net.ownWeights());
    expect(maxAbs(d, b)).toBeGreaterThan(1e-2);
    tf.dispose([x, a, b, d, forget, lw['lstm.0.bias']!, ...Object.values(w)]);
    net.dispose();
  });

  it('per-sample weights [N, …] run sample i with weight set i in one pass', () => {
    const net = new HyperLSTM({ ...small, vocabSize: 6, outputSize: 4 });
    const wb = randomWeights(net, 31, [3]);
    const ids = [
      [0, 5, 2, 1],
      [3, 3, 4, 0],
      [1, 2, 5, 5],
    ];
    const yb = net.forward(ids, wb);
    expect(yb.shape).toEqual([3, 4, 4]);
    ids.forEach((row, i) => {
      const wi: Weights = {};
      for (const s of net.params) wi[s.name] = tf.squeeze(tf.slice(wb[s.name]!, [i], [1]), [0]);
      const yi = net.forward([row], wi);
      const ybi = tf.slice(yb, [i], [1]);
      expect(maxAbs(yi, ybi)).toBeLessThan(1e-5);
      tf.dispose([yi, ybi, ...Object.values(wi)]);
    });
    tf.dispose([yb, ...Object.values(wb)]);
    net.dispose();
  });

  it('continues a sequence from the returned state (split run = whole run)', () => {
    const net = new HyperLSTM({ ...small, vocabSize: 6, outputSize: 4, seed: 2 });
    const ids = tf.tensor2d(
      [
        [0, 5, 2, 1, 4, 3],
        [3, 3, 4, 0, 1, 1],
      ],
      [2, 6],
      'int32',
    );
    const whole = net.run(ids);
    const first = net.run(tf.slice(ids, [0, 0], [2, 4]));
    const second = net.run(tf.slice(ids, [0, 4], [2, 2]), { initialState: first.state });
    const split = tf.concat([first.logits!, second.logits!], 1);
    expect(maxAbs(split, whole.logits!)).toBeLessThan(1e-5);
    expect(maxAbs(second.state.hyperC, whole.state.hyperC)).toBeLessThan(1e-5);
    // an explicit zero state is the default start
    const z = net.zeroState(2);
    const fromZero = net.run(ids, { initialState: z });
    expect(maxAbs(fromZero.output, whole.output)).toBeLessThan(1e-6);
    tf.dispose([ids, split, whole, first, second, z, fromZero] as never);
    net.dispose();
  });

  it('recurrent dropout: needs an rng in training mode, seeded masks, inactive in eval', () => {
    const net = new HyperLSTM({ ...small, recurrentDropout: 0.3, hyperRecurrentDropout: 0.2 });
    const x = tf.tidy(() => tf.randomNormal([2, 4, 3], 0, 1, 'float32', 4));
    const w = net.ownWeights();
    expect(() => net.forward(x, w, { training: true })).toThrow(ConfigError);
    const a = net.forward(x, w, { training: true, rng: new Rng(1) });
    const b = net.forward(x, w, { training: true, rng: new Rng(1) });
    const e = net.forward(x, w);
    expect(maxAbs(a, b)).toBe(0);
    expect(maxAbs(a, e)).toBeGreaterThan(1e-4);
    tf.dispose([x, a, b, e]);
    net.dispose();
  });
});

describe('HyperLSTM: bad input', () => {
  it('wrong shapes → ShapeMismatchError, ids out of range / missing weights → ConfigError', () => {
    const dense = new HyperLSTM(small);
    const tok = new HyperLSTM({ ...small, vocabSize: 6, outputSize: 2 });
    const w = dense.ownWeights();
    tf.tidy(() => {
      expect(() => dense.forward(tf.zeros([2, 4, 5]), w)).toThrow(ShapeMismatchError); // feature size
      expect(() => dense.forward(tf.zeros([2, 3]), w)).toThrow(ShapeMismatchError); // rank
      expect(() => dense.forward(tf.zeros([2, 0, 3]), w)).toThrow(ShapeMismatchError); // empty sequence
      expect(() => tok.forward(tf.zeros([2, 4, 3]), tok.ownWeights())).toThrow(ShapeMismatchError); // ids need [N, T]
      expect(() => tok.forward([[0, 6]], tok.ownWeights())).toThrow(/token id 6 at \[0, 1\]/);
      expect(() => tok.forward([[0, -1]], tok.ownWeights())).toThrow(ConfigError);
      expect(() => tok.forward([[0, 1], [2]], tok.ownWeights())).toThrow(ShapeMismatchError);
      expect(() => dense.forward([[0, 1]], w)).toThrow(ConfigError); // ids without an embedding
      const { 'lstm.bias': _, ...missing } = w;
      expect(() => dense.forward(tf.zeros([2, 4, 3]), missing)).toThrow(ConfigError);
      const bad = { ...w, 'hyper.dx.weight': tf.zeros([4, 3, 5]) };
      expect(() => dense.forward(tf.zeros([2, 4, 3]), bad)).toThrow(ShapeMismatchError);
      const perSample = randomWeights(dense, 1, [3]);
      expect(() => dense.forward(tf.zeros([2, 4, 3]), perSample)).toThrow(ShapeMismatchError); // 3 weight sets, 2 samples
      const st = dense.zeroState(2);
      expect(() => dense.run(tf.zeros([2, 4, 3]), { initialState: { ...st, hyperC: tf.zeros([2, 5]) } })).toThrow(
        ShapeMismatchError,
      );
    });
    dense.dispose();
    tok.dispose();
  });
});

describe('HyperLSTM: gradients', () => {
  it('match central finite differences on every variable (LN, embedding, head)', async ({ annotate }) => {
    const net = new HyperLSTM({ ...small, vocabSize: 5, outputSize: 5, seed: 3 });
    const rw = randomWeights(net, 41);
    assignAll(net, rw);
    tf.dispose(Object.values(rw));
    const ids = tf.tensor2d(
      [
        [0, 4, 2, 1],
        [3, 3, 0, 2],
      ],
      [2, 4],
      'int32',
    );
    const labels = tf.tensor2d(
      [
        [4, 2, 1, 0],
        [3, 0, 2, 2],
      ],
      [2, 4],
      'int32',
    );
    const loss = () => tf.tidy(() => softmaxCrossEntropy(net.run(ids).logits!, labels));
    const worst = checkGradients(net, loss, 3);
    await annotate(`HyperLSTM worst relative FD error ${worst.toExponential(2)} over ${net.params.length} variables`);
    tf.dispose([ids, labels]);
    net.dispose();
  });

  it('match finite differences without LN (hyper bias path) on dense inputs', () => {
    const net = new HyperLSTM({ ...small, layerNorm: false, outputSize: 2, seed: 4 });
    const rw = randomWeights(net, 42);
    assignAll(net, rw);
    tf.dispose(Object.values(rw));
    const x = tf.randomNormal([2, 3, 3], 0, 1, 'float32', 9);
    const y = tf.randomNormal([2, 3, 2], 0, 1, 'float32', 10);
    const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(net.run(x).logits!, y))) as tf.Scalar);
    checkGradients(net, loss, 2);
    tf.dispose([x, y]);
    net.dispose();
  });
});

// A short fixed English text (public-domain style prose written for this test).
const TEXT =
  'the cat sat on the mat and the dog sat on the log. the cat saw the dog and the dog saw the cat. ' +
  'a bird sang in the tree and the cat looked up at the bird. the dog ran to the tree and the bird flew away. ' +
  'then the cat and the dog sat in the sun and the bird came back to the tree to sing again. ' +
  'the sun was warm and the day was long, and the cat, the dog and the bird were all at rest in the garden.';

describe('HyperLSTM: character-level language model', () => {
  it('trains: bits per character fall well below the uniform and unigram baselines', async ({ annotate }) => {
    const chars = [...new Set(TEXT)].sort();
    const V = chars.length;
    const ids = [...TEXT].map((ch) => chars.indexOf(ch));
    const counts = new Array(V).fill(0);
    for (const i of ids) counts[i]++;
    const unigram = -counts.reduce((s, c) => s + (c / ids.length) * Math.log2(c / ids.length), 0);
    const uniform = Math.log2(V);

    const T = 16;
    const net = new HyperLSTM({
      inputSize: 16,
      hiddenSize: 32,
      hyperHiddenSize: 16,
      hyperEmbeddingSize: 4,
      vocabSize: V,
      outputSize: V,
      seqLength: T,
      seed: 1,
    });
    const rng = new Rng(7);
    const windows = (n: number) => {
      const xs: number[][] = [];
      const ys: number[][] = [];
      for (let b = 0; b < n; b++) {
        const s = rng.int(0, ids.length - T - 2);
        xs.push(ids.slice(s, s + T));
        ys.push(ids.slice(s + 1, s + T + 1));
      }
      return { x: tf.tensor2d(xs, [n, T], 'int32'), y: tf.tensor2d(ys, [n, T], 'int32') };
    };
    // Every window of the text, teacher-forced: mean CE in bits.
    const evalBpc = () => {
      const starts: number[] = [];
      for (let s = 0; s + T + 1 <= ids.length; s += T) starts.push(s);
      const x = tf.tensor2d(
        starts.map((s) => ids.slice(s, s + T)),
        [starts.length, T],
        'int32',
      );
      const y = tf.tensor2d(
        starts.map((s) => ids.slice(s + 1, s + T + 1)),
        [starts.length, T],
        'int32',
      );
      const ce = tf.tidy(() => softmaxCrossEntropy(net.run(x).logits!, y).dataSync()[0]!);
      tf.dispose([x, y]);
      return ce / Math.LN2;
    };
    const opt = tf.train.adam(1e-2);
    const step = () => {
      const b = windows(8);
      const l = opt.minimize(() => softmaxCrossEntropy(net.run(b.x).logits!, b.y), true, net.trainableVariables());
      tf.dispose([b.x, b.y]);
      return l;
    };
    const before = evalBpc();
    const steps = 40;
    // no tensor leaks across training steps (Adam slots are created in the warm-up step)
    await assertNoLeaks(step, { warmup: 1, steps: 3, label: 'HyperLSTM train step' });
    for (let i = 4; i < steps; i++) step()?.dispose();
    const after = evalBpc();
    await annotate(
      `HyperLSTM char-LM (V=${V}, ${ids.length} chars, H=32, Ĥ=16, E=4, ${net.numParams} params): ` +
        `bpc ${before.toFixed(3)} → ${after.toFixed(3)} after ${steps} Adam steps (batch 8 × T=${T}); ` +
        `uniform ${uniform.toFixed(3)}, unigram ${unigram.toFixed(3)}`,
    );
    expect(before).toBeGreaterThan(uniform - 0.3);
    expect(after).toBeLessThan(unigram - 1);
    expect(after).toBeLessThan(uniform - 1.5);
    opt.dispose();
    net.dispose();
  }, 120_000);
});
