import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, MLP, NetState, Rng, ShapeMismatchError, mse, type Weights } from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { hypernetize, LayersTargetNet, UnsupportedLayerError, type Hypernetized } from './hypernetize.js';

beforeAll(async () => {
  const { initBackend } = await import('@hypernets/core');
  await initBackend('cpu');
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** Deterministic, non-trivial weights for every layer (moving variances kept positive). */
function seedModel(model: tfl.LayersModel, seed: number, scale = 0.5) {
  const rng = new Rng(seed);
  for (const layer of model.layers) {
    const ws = layer.weights;
    if (ws.length === 0) continue;
    const values = ws.map((w) => {
      const t = rng.normal(w.shape as number[], 0, scale);
      if (w.originalName.endsWith('moving_variance')) {
        const v = tf.add(tf.abs(t), 0.5);
        t.dispose();
        return v;
      }
      return t;
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}

/** hypernetized forward with the model's own weights vs model.predict. */
function expectMatchesPredict(model: tfl.LayersModel, x: tf.Tensor, h: Hypernetized = hypernetize(model)) {
  const want = model.predict(x) as tf.Tensor;
  const got = h.forward(x, h.initial);
  expect(got.shape).toEqual(want.shape);
  const err = maxAbs(got, want);
  expect(err).toBeLessThan(1e-5);
  tf.dispose([want, got]);
  return h;
}

/** B weight sets (the model's, perturbed per sample) for the generated params. */
function perSampleWeights(
  h: Hypernetized,
  b: number,
  seed: number,
  scale = 0.1,
): { batched: Weights; sets: Weights[] } {
  const rng = new Rng(seed);
  const sets: Weights[] = [];
  for (let i = 0; i < b; i++) {
    const w: Weights = {};
    for (const s of h.params) w[s.name] = tf.tidy(() => tf.add(h.initial[s.name]!, rng.normal([...s.shape], 0, scale)));
    sets.push(w);
  }
  const batched: Weights = {};
  for (const s of h.params) batched[s.name] = tf.stack(sets.map((w) => w[s.name]!));
  return { batched, sets };
}

/** One batched pass with per-sample weights vs B passes with shared weights. */
function expectPerSampleMatches(h: Hypernetized, x: tf.Tensor, seed: number, tol = 1e-5) {
  const b = x.shape[0]!;
  const { batched, sets } = perSampleWeights(h, b, seed);
  const y = h.forward(x, batched);
  for (let i = 0; i < b; i++) {
    const xi = tf.slice(x, [i], [1]);
    const yi = h.forward(xi, sets[i]!);
    const yb = tf.slice(y, [i], [1]);
    expect(maxAbs(yb, yi)).toBeLessThan(tol);
    tf.dispose([xi, yi, yb]);
  }
  // Different weight sets really give different outputs (the check above is not vacuous).
  const shared = h.forward(x, sets[0]!);
  expect(maxAbs(shared, y)).toBeGreaterThan(1e-4);
  tf.dispose([y, shared, batched, ...sets.map((w) => Object.values(w)).flat()]);
}

function input(shape: number[], seed: number) {
  return new Rng(seed).normal(shape, 0, 1);
}

describe('tfjs-layers shares the tfjs-core engine', () => {
  it('predict returns tensors of this tfjs-core', () => {
    const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
    const y = m.predict(tf.ones([1, 3])) as tf.Tensor;
    expect(y).toBeInstanceOf(tf.Tensor);
    expect(m.layers[0]!.getWeights()[0]).toBeInstanceOf(tf.Tensor);
    y.dispose();
    m.dispose();
  });
});

describe('LayersModel → functional net equals model.predict', () => {
  it('Dense MLP (Sequential, fused activations, Activation and Dropout layers)', () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 8, inputShape: [5], activation: 'relu', name: 'dense_1' }),
          tfl.layers.dropout({ rate: 0.3, name: 'drop' }),
          tfl.layers.dense({ units: 6, name: 'dense_2' }),
          tfl.layers.activation({ activation: 'tanh', name: 'act' }),
          tfl.layers.dense({ units: 4, activation: 'softmax', useBias: false, name: 'dense_3' }),
        ],
      }),
      1,
    );
    const h = expectMatchesPredict(m, input([7, 5], 2));
    expect(h.params.map((s) => s.name)).toEqual([
      'dense_1.kernel',
      'dense_1.bias',
      'dense_2.kernel',
      'dense_2.bias',
      'dense_3.kernel',
    ]);
    const k1 = h.params[0]!;
    expect(k1).toMatchObject({ shape: [5, 8], kind: 'weight', layer: 0, fanIn: 5, fanOut: 8, activation: 'relu' });
    expect(h.params[1]).toMatchObject({ kind: 'bias', layer: 0 });
    // The activation of dense_2 comes from the Activation layer that follows it.
    expect(h.params[2]).toMatchObject({ layer: 1, activation: 'tanh' });
    expect(h.params[4]).toMatchObject({ shape: [6, 4], layer: 2, activation: 'softmax' });
    expect(h.target).toBeInstanceOf(LayersTargetNet);
    expect(h.inputShape).toEqual([5]);
    expect(h.outputShape).toEqual([4]);
    expectPerSampleMatches(h, input([3, 5], 3), 37);
    h.dispose();
    // hypernetize + dispose leaves nothing behind (its weights are snapshots it owns).
    const n = tf.memory().numTensors;
    hypernetize(m, { which: ['dense_2'] }).dispose();
    expect(tf.memory().numTensors).toBe(n);
    m.dispose();
  });

  it('functional linear chain (tf.model) with activations of every kind', () => {
    const inp = tfl.input({ shape: [4], name: 'in' });
    let t = tfl.layers.dense({ units: 6, activation: 'elu', name: 'a' }).apply(inp) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ units: 6, activation: 'selu', name: 'b' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ units: 6, activation: 'swish', name: 'c' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ units: 6, activation: 'gelu', name: 'd' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ units: 6, activation: 'softplus', name: 'e' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ units: 6, activation: 'hardSigmoid', name: 'f' }).apply(t) as tfl.SymbolicTensor;
    t = tfl.layers.dense({ units: 3, activation: 'mish', name: 'g' }).apply(t) as tfl.SymbolicTensor;
    const m = seedModel(tfl.model({ inputs: inp, outputs: t }), 4);
    const h = expectMatchesPredict(m, input([5, 4], 5));
    expect(h.params.find((s) => s.name === 'c.kernel')!.activation).toBe('silu');
    h.dispose();
    m.dispose();
  });

  it('CNN: Conv2D (same/valid, strides, dilation) + BatchNormalization + pooling + Flatten + Dense, inference mode', () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({
            filters: 4,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
            inputShape: [9, 9, 2],
            name: 'conv_1',
          }),
          tfl.layers.batchNormalization({ name: 'bn_1' }),
          tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_1' }),
          tfl.layers.conv2d({ filters: 3, kernelSize: [2, 3], strides: [1, 2], padding: 'valid', name: 'conv_2' }),
          tfl.layers.conv2d({ filters: 3, kernelSize: 2, dilationRate: 2, padding: 'same', name: 'conv_3' }),
          tfl.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'pool_2' }),
          tfl.layers.flatten({ name: 'flat' }),
          tfl.layers.dense({ units: 5, name: 'out' }),
        ],
      }),
      6,
    );
    const x = input([3, 9, 9, 2], 7);
    const h = expectMatchesPredict(m, x);
    const byName = Object.fromEntries(h.params.map((s) => [s.name, s]));
    expect(byName['conv_1.kernel']).toMatchObject({
      shape: [3, 3, 2, 4],
      kind: 'weight',
      fanIn: 18,
      fanOut: 36,
      activation: 'relu',
      layer: 0,
    });
    expect(byName['bn_1.gamma']).toMatchObject({ kind: 'norm-scale', layer: 1 });
    expect(byName['bn_1.beta']).toMatchObject({ kind: 'norm-shift', layer: 1 });
    expect(byName['conv_2.kernel']!.layer).toBe(2);
    expect(h.stateSpecs!.map((s) => s.name)).toEqual(['bn_1.moving_mean', 'bn_1.moving_variance']);
    // Moving statistics are state, never ParamSpecs or fixed weights.
    expect(Object.keys(h.fixed)).toEqual([]);
    expect(h.state!.toNamedTensors()['0/bn_1.moving_mean']!.shape).toEqual([4]);
    expectPerSampleMatches(h, x, 8);
    h.dispose();
    m.dispose();
  });

  it('GlobalAveragePooling2D / GlobalMaxPooling2D and BatchNormalization without scale/center', () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ filters: 3, kernelSize: 3, inputShape: [6, 6, 1], name: 'c1' }),
          tfl.layers.batchNormalization({ scale: false, center: false, name: 'bn' }),
          tfl.layers.globalAveragePooling2d({ name: 'gap' }),
          tfl.layers.dense({ units: 2, name: 'out' }),
        ],
      }),
      9,
    );
    const h = expectMatchesPredict(m, input([2, 6, 6, 1], 10));
    expect(h.params.map((s) => s.name)).toEqual(['c1.kernel', 'c1.bias', 'out.kernel', 'out.bias']);
    h.dispose();
    m.dispose();
    const g = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ filters: 2, kernelSize: 2, inputShape: [4, 4, 1], name: 'c1' }),
          tfl.layers.globalMaxPooling2d({ name: 'gmp' }),
        ],
      }),
      11,
    );
    expectMatchesPredict(g, input([2, 4, 4, 1], 12)).dispose();
    g.dispose();
  });

  for (const returnSequences of [false, true]) {
    it(`LSTM (returnSequences: ${returnSequences}; default hardSigmoid, and sigmoid + goBackwards)`, () => {
      const m = seedModel(
        tfl.sequential({
          layers: [
            tfl.layers.lstm({
              units: 5,
              returnSequences: true,
              inputShape: [6, 3],
              recurrentInitializer: 'glorotUniform',
              name: 'lstm_1',
            }),
            tfl.layers.lstm({
              units: 4,
              returnSequences,
              recurrentActivation: 'sigmoid',
              goBackwards: true,
              recurrentInitializer: 'glorotUniform',
              name: 'lstm_2',
            }),
            tfl.layers.dense({ units: 2, name: 'head' }),
          ],
        }),
        13,
      );
      const x = input([3, 6, 3], 14);
      const h = expectMatchesPredict(m, x);
      expect(h.outputShape).toEqual(returnSequences ? [6, 2] : [2]);
      const byName = Object.fromEntries(h.params.map((s) => [s.name, s]));
      expect(byName['lstm_1.kernel']).toMatchObject({ shape: [3, 20], kind: 'weight', fanIn: 3, fanOut: 20 });
      expect(byName['lstm_1.recurrent_kernel']).toMatchObject({ shape: [5, 20], kind: 'recurrent-weight', fanIn: 5 });
      expect(byName['lstm_2.bias']).toMatchObject({ shape: [16], kind: 'bias', layer: 1 });
      expectPerSampleMatches(h, x, 15);
      h.dispose();
      m.dispose();
    });
  }

  it('LayerNormalization (with and without center/scale) and Embedding + Reshape', () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 6, inputShape: [4], name: 'd1' }),
          tfl.layers.layerNormalization({ name: 'ln_1' }),
          tfl.layers.reshape({ targetShape: [3, 2], name: 'rs' }),
          tfl.layers.layerNormalization({ center: false, epsilon: 1e-5, name: 'ln_2' }),
          tfl.layers.flatten({ name: 'fl' }),
          tfl.layers.dense({ units: 3, name: 'd2' }),
        ],
      }),
      16,
    );
    const x = input([4, 4], 17);
    const h = expectMatchesPredict(m, x);
    const byName = Object.fromEntries(h.params.map((s) => [s.name, s]));
    expect(byName['ln_1.gamma']).toMatchObject({ shape: [6], kind: 'norm-scale', layer: 1 });
    expect(byName['ln_1.beta']).toMatchObject({ kind: 'norm-shift' });
    expect(byName['ln_2.beta']).toBeUndefined();
    expectPerSampleMatches(h, x, 18);
    h.dispose();
    m.dispose();

    const e = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.embedding({ inputDim: 7, outputDim: 3, inputLength: 4, name: 'emb' }),
          tfl.layers.lstm({ units: 2, recurrentInitializer: 'glorotUniform', name: 'lstm' }),
        ],
      }),
      19,
    );
    const ids = tf.tensor2d([0, 3, 6, 2, 1, 1, 5, 4], [2, 4]);
    const he = expectMatchesPredict(e, ids);
    expect(he.params[0]).toMatchObject({ name: 'emb.embeddings', kind: 'embedding', shape: [7, 3] });
    expectPerSampleMatches(he, ids, 20);
    he.dispose();
    e.dispose();
    ids.dispose();
  });
});

describe('which: generated vs fixed parameters', () => {
  const build = () =>
    seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 6, inputShape: [3], activation: 'tanh', name: 'dense_1' }),
          tfl.layers.batchNormalization({ name: 'bn' }),
          tfl.layers.dense({ units: 2, name: 'dense_2' }),
        ],
      }),
      21,
    );

  it('selects by spec name, layer name, predicate and { names, layers, filter }', () => {
    const m = build();
    const names = (w: Parameters<typeof hypernetize>[1]) => {
      const h = hypernetize(m, w);
      const out = [h.params.map((s) => s.name), Object.keys(h.fixed)];
      h.dispose();
      return out;
    };
    expect(names({ which: ['dense_2.kernel', 'bn'] })).toEqual([
      ['bn.gamma', 'bn.beta', 'dense_2.kernel'],
      ['dense_1.kernel', 'dense_1.bias', 'dense_2.bias'],
    ]);
    expect(names({ which: (s) => s.kind === 'bias' })[0]).toEqual(['dense_1.bias', 'dense_2.bias']);
    expect(names({ which: { layers: ['dense_1', 'dense_2'], filter: (s) => s.kind === 'weight' } })[0]).toEqual([
      'dense_1.kernel',
      'dense_2.kernel',
    ]);
    expect(names({ which: { names: ['bn.beta'] } })[0]).toEqual(['bn.beta']);
    expect(names({})[0]).toHaveLength(6);
    expect(() => hypernetize(m, { which: ['dense_9'] })).toThrow(
      /no ParamSpec or layer named 'dense_9'.*dense_1\.kernel/,
    );
    expect(() => hypernetize(m, { which: { layers: ['dense_1.kernel'] } })).toThrow(ConfigError);
    expect(() => hypernetize(m, { which: () => false })).toThrow(/selects no parameter/);
    m.dispose();
  });

  it('fixed weights hold the model values, generated ones are merged, and the merge is checked', () => {
    const m = build();
    const h = hypernetize(m, { which: ['dense_2'] });
    const [k1, b1] = m.layers[0]!.getWeights();
    expect(maxAbs(h.fixed['dense_1.kernel']!, k1!)).toBe(0);
    expect(maxAbs(h.fixed['dense_1.bias']!, b1!)).toBe(0);
    const x = input([4, 3], 22);
    const want = m.predict(x) as tf.Tensor;
    const got = h.forward(x, h.initial);
    expect(maxAbs(got, want)).toBeLessThan(1e-5);
    // A different generated dense_2 changes the output; dense_1 stays the model's.
    const other = {
      'dense_2.kernel': tf.zerosLike(h.initial['dense_2.kernel']!),
      'dense_2.bias': tf.onesLike(h.initial['dense_2.bias']!),
    };
    const y1 = h.forward(x, other);
    expect(maxAbs(y1, tf.onesLike(y1))).toBe(0);
    expect(() => h.forward(x, { 'dense_2.kernel': other['dense_2.kernel'] })).toThrow(/dense_2\.bias/);
    expect(() => h.forward(x, { ...other, 'dense_1.bias': b1! })).toThrow(/fixed parameter/);
    expect(() => h.forward(x, { ...other, 'dense_2.bias': tf.ones([3]) })).toThrow(ShapeMismatchError);
    // Per-sample generated weights with shared fixed ones.
    expectPerSampleMatches(h, x, 23);
    tf.dispose([want, got, y1, ...Object.values(other)]);
    h.dispose();
    m.dispose();
  });

  it('fixed values can be given', () => {
    const m = build();
    const z = { 'dense_1.bias': tf.zeros([6]) };
    const h = hypernetize(m, { which: ['dense_2'], fixed: z });
    expect(maxAbs(h.fixed['dense_1.bias']!, z['dense_1.bias'])).toBe(0);
    expect(() => hypernetize(m, { fixed: { 'dense_1.bias': tf.zeros([5]) } })).toThrow(ShapeMismatchError);
    expect(() => hypernetize(m, { fixed: { nope: tf.zeros([5]) } })).toThrow(/no ParamSpec named 'nope'/);
    h.dispose();
    tf.dispose(Object.values(z));
    m.dispose();
  });
});

describe('a HyperMLP generates chosen parameters of a hypernetized LayersModel', () => {
  it('trains (loss falls), gradients reach only the hypernet, fixed weights and the model are untouched, no leaks', () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 8, inputShape: [2], activation: 'tanh', name: 'dense_1' }),
          tfl.layers.batchNormalization({ name: 'bn' }),
          tfl.layers.dense({ units: 1, name: 'dense_2' }),
        ],
      }),
      24,
      0.4,
    );
    const before = m.getWeights().map((t) => t.dataSync().slice());
    const h = hypernetize(m, { which: ['dense_2', 'bn.gamma'] });
    const fixedBefore = Object.fromEntries(Object.entries(h.fixed).map(([k, t]) => [k, t.dataSync().slice()]));
    const hnet = new HyperMLP({ target: h, numConditions: 2, hiddenSizes: [16], seed: 5 });
    // Two tasks on the same inputs: y = ±(x0 − x1); each sample uses its task's weights.
    const rng = new Rng(25);
    const x = rng.normal([32, 2], 0, 1);
    const ids = tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 2),
      'int32',
    );
    const y = tf.tidy(() => {
      const d = tf.sub(tf.slice(x, [0, 0], [32, 1]), tf.slice(x, [0, 1], [32, 1]));
      return tf.mul(d, tf.reshape(tf.sub(tf.mul(tf.cast(ids, 'float32'), -2), -1), [32, 1]));
    });
    const loss = () => mse(h.forward(x, hnet.generate({ id: ids })), y);
    const opt = tf.train.adam(0.01);
    const first = tf.tidy(() => loss().dataSync()[0]!);
    // Gradients (no var list: every trainable variable in the engine) reach only hnet's.
    const { value, grads } = tf.variableGrads(loss);
    const own = new Set(hnet.trainableVariables().map((v) => v.name));
    expect(Object.keys(grads).length).toBe(own.size);
    for (const k of Object.keys(grads)) expect(own.has(k)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    let n0 = 0;
    let last = first;
    for (let step = 0; step < 60; step++) {
      const c = opt.minimize(loss, true, hnet.trainableVariables())!;
      last = c.dataSync()[0]!;
      c.dispose();
      if (step === 4) n0 = tf.memory().numTensors;
      if (step > 4) expect(tf.memory().numTensors).toBe(n0);
    }
    expect(last).toBeLessThan(0.3 * first);
    for (const [k, v] of Object.entries(fixedBefore)) expect(Array.from(h.fixed[k]!.dataSync())).toEqual(Array.from(v));
    m.getWeights().forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(before[i]!)));
    opt.dispose();
    hnet.dispose();
    h.dispose();
    tf.dispose([x, ids, y]);
    m.dispose();
  });
});

describe('gradients through the hypernetized forward vs finite differences', () => {
  it('per-sample weights of Dense + LayerNormalization + LSTM + Conv2D', () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ filters: 2, kernelSize: 2, inputShape: [3, 4, 1], activation: 'tanh', name: 'conv' }),
          tfl.layers.reshape({ targetShape: [2, 6], name: 'rs' }),
          tfl.layers.layerNormalization({ name: 'ln' }),
          tfl.layers.lstm({
            units: 3,
            recurrentInitializer: 'glorotUniform',
            recurrentActivation: 'sigmoid',
            name: 'lstm',
          }),
          tfl.layers.dense({ units: 2, name: 'out' }),
        ],
      }),
      26,
    );
    const h = hypernetize(m, {
      which: ['conv.kernel', 'ln.gamma', 'lstm.recurrent_kernel', 'lstm.kernel', 'out.bias'],
    });
    const x = input([2, 3, 4, 1], 27);
    const target = input([2, 2], 28);
    const { batched, sets } = perSampleWeights(h, 2, 29);
    const names = h.params.map((s) => s.name);
    const f = (...ws: tf.Tensor[]) => mse(h.forward(x, Object.fromEntries(names.map((n, i) => [n, ws[i]!]))), target);
    const grads = tf.grads(f)(names.map((n) => batched[n]!));
    const eps = 1e-2;
    names.forEach((n, i) => {
      const base = batched[n]!.dataSync().slice();
      const g = grads[i]!.dataSync();
      for (const idx of [0, Math.floor(base.length / 2), base.length - 1]) {
        const at = (d: number) => {
          const v = base.slice();
          v[idx]! += d;
          return tf.tidy(() => {
            const ws = names.map((m2, j) => (j === i ? tf.tensor(v, batched[n]!.shape) : batched[m2]!));
            return f(...ws).dataSync()[0]!;
          });
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(fd - g[idx]!), `${n}[${idx}]: fd ${fd} vs grad ${g[idx]}`).toBeLessThan(
          2e-2 * Math.abs(fd) + 2e-3,
        );
      }
    });
    tf.dispose([x, target, ...grads, ...Object.values(batched), ...sets.flatMap((w) => Object.values(w))]);
    h.dispose();
    m.dispose();
  });
});

describe('unsupported layers', () => {
  it('a GRU or DepthwiseConv2D layer → UnsupportedLayerError naming it', () => {
    const g = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 3, inputShape: [4, 2], name: 'd' }),
        tfl.layers.gru({ units: 2, recurrentInitializer: 'glorotUniform', name: 'gru_1' }),
      ],
    });
    let err: unknown;
    try {
      hypernetize(g);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedLayerError);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as UnsupportedLayerError).layerName).toBe('gru_1');
    expect((err as Error).message).toMatch(/'gru_1' \(GRU\).*Dense, Conv2D, LSTM.*unsupported: 'fixed'/);
    g.dispose();
    const d = tfl.sequential({
      layers: [tfl.layers.depthwiseConv2d({ kernelSize: 2, inputShape: [4, 4, 2], name: 'dw' })],
    });
    expect(() => hypernetize(d)).toThrow(/'dw' \(DepthwiseConv2D\)/);
    d.dispose();
    // A supported class with a configuration that is not re-implemented.
    const c = tfl.sequential({
      layers: [tfl.layers.lstm({ units: 2, inputShape: [3, 2], returnState: false, stateful: false, name: 'ok' })],
    });
    const s = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          filters: 1,
          kernelSize: 1,
          dataFormat: 'channelsFirst',
          inputShape: [1, 3, 3],
          name: 'cf',
        }),
      ],
    });
    expect(() => hypernetize(s)).toThrow(/'cf' \(Conv2D\) has dataFormat 'channelsFirst'/);
    expect(() => hypernetize({ foo: 1 } as never)).toThrow(/TargetNet .* or a tfjs-layers LayersModel/);
    c.dispose();
    s.dispose();
  });

  it("unsupported: 'fixed' keeps the layer (layer.apply) and its weights out of `which`", () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 3, inputShape: [5, 2], name: 'd1' }),
          tfl.layers.gru({ units: 4, recurrentInitializer: 'glorotUniform', name: 'gru_1' }),
          tfl.layers.dense({ units: 2, name: 'd2' }),
        ],
      }),
      30,
    );
    const h = hypernetize(m, { unsupported: 'fixed' });
    expect(h.params.map((s) => s.name)).toEqual(['d1.kernel', 'd1.bias', 'd2.kernel', 'd2.bias']);
    const x = input([3, 5, 2], 31);
    expectMatchesPredict(m, x, h);
    // The kept layer's weights are shared by every sample; the generated ones may be per-sample.
    expectPerSampleMatches(h, x, 32);
    expect(() => hypernetize(m, { unsupported: 'fixed', which: ['gru_1'] })).toThrow(/'gru_1' \(GRU\), kept fixed/);
    expect(() => hypernetize(m, { unsupported: 'fixed', which: ['gru_1.kernel'] })).toThrow(/cannot be generated/);
    h.dispose();
    m.dispose();
  });

  it('a branching functional model is rejected with what to do', () => {
    const inp = tfl.input({ shape: [3] });
    const a = tfl.layers.dense({ units: 2, name: 'a' }).apply(inp) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 2, name: 'b' }).apply(inp) as tfl.SymbolicTensor;
    const s = tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: inp, outputs: s });
    expect(() => hypernetize(m)).toThrow(/linear chains/);
    m.dispose();
  });
});

describe('batch norm state and training mode', () => {
  it('inference uses the model moving statistics; training updates the NetState, not the model', () => {
    const m = seedModel(
      tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 3, inputShape: [2], name: 'd' }),
          tfl.layers.batchNormalization({ name: 'bn' }),
        ],
      }),
      33,
    );
    const h = hypernetize(m, { which: ['d'] });
    const x = input([8, 2], 34);
    // A fresh NetState for a new condition starts from the model's statistics.
    const st = new NetState(h.stateSpecs!);
    const a = h.forward(x, h.initial, { state: st, condition: 'task-1' });
    const want = m.predict(x) as tf.Tensor;
    expect(maxAbs(a, want)).toBeLessThan(1e-5);
    const meanBefore = h.state!.get('0', 'bn.moving_mean').dataSync().slice();
    const t = h.forward(x, h.initial, { training: true });
    // Training normalises with batch statistics (mean ≈ β per channel) and moves the state.
    const colMean = tf.mean(t, 0);
    expect(maxAbs(colMean, h.initial['bn.beta'] ?? h.fixed['bn.beta']!)).toBeLessThan(1e-4);
    const meanAfter = h.state!.get('0', 'bn.moving_mean').dataSync();
    expect(Array.from(meanAfter)).not.toEqual(Array.from(meanBefore));
    expect(Array.from(m.layers[1]!.getWeights()[2]!.dataSync())).toEqual(
      Array.from(st.get('task-1', 'bn.moving_mean').dataSync()),
    );
    // Training steps (state updates included) leak nothing.
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) h.forward(x, h.initial, { training: true }).dispose();
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([a, want, t, colMean, x]);
    st.dispose();
    h.dispose();
    m.dispose();
  });
});

describe('a TargetNet', () => {
  it('generates chosen params; fixed ones get a seeded init; per-sample generated weights broadcast the fixed ones', () => {
    const net = new MLP({ inputSize: 3, hiddenSizes: [5], outputSize: 2, activation: 'tanh' });
    const h = hypernetize(net, { which: ['fc2'], seed: 3 });
    expect(h.params.map((s) => s.name)).toEqual(['fc2.weight', 'fc2.bias']);
    expect(Object.keys(h.fixed)).toEqual(['fc1.weight', 'fc1.bias']);
    const again = hypernetize(net, { which: ['fc2'], seed: 3 });
    expect(maxAbs(again.fixed['fc1.weight']!, h.fixed['fc1.weight']!)).toBe(0);
    again.dispose();
    const x = input([4, 3], 35);
    const y = h.forward(x, h.initial);
    const want = net.forward(x, { ...h.fixed, ...h.initial });
    expect(maxAbs(y, want)).toBe(0);
    expectPerSampleMatches(h, x, 36);
    const hnet = new HyperMLP({ target: h, hiddenSizes: [4], seed: 1 });
    const out = tf.tidy(() => h.forward(x, hnet.generate()));
    expect(out.shape).toEqual([4, 2]);
    // No leaks across forward calls.
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(() => h.forward(x, hnet.generate()).dataSync());
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([x, y, want, out]);
    hnet.dispose();
    h.dispose();
  });
});

describe('errors leave nothing behind', () => {
  it('a failed conversion or selection frees the snapshots it took', () => {
    const g = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 3, inputShape: [4, 2], name: 'd' }),
        tfl.layers.gru({ units: 2, recurrentInitializer: 'glorotUniform', name: 'gru_1' }),
      ],
    });
    const d = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 3, inputShape: [2], name: 'd' }),
        tfl.layers.dense({ units: 2, activation: 'relu6', name: 'e' }),
      ],
    });
    const n = tf.memory().numTensors;
    expect(() => hypernetize(g)).toThrow(UnsupportedLayerError);
    expect(() => hypernetize(d, { which: ['zzz'] })).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(n);
    g.dispose();
    d.dispose();
  });
});

describe('nested models and dropout', () => {
  it('a Sequential inside a Sequential is flattened; Dropout is active only in training (needs options.rng)', () => {
    const inner = tfl.sequential({
      name: 'block',
      layers: [
        tfl.layers.dense({ units: 4, inputShape: [3], activation: 'relu', name: 'inner_1' }),
        tfl.layers.dropout({ rate: 0.5, name: 'drop' }),
      ],
    });
    const m = seedModel(tfl.sequential({ layers: [inner, tfl.layers.dense({ units: 2, name: 'outer' })] }), 40);
    seedModel(inner, 41);
    const x = input([5, 3], 42);
    const h = expectMatchesPredict(m, x);
    expect(h.params.map((s) => s.name)).toEqual(['inner_1.kernel', 'inner_1.bias', 'outer.kernel', 'outer.bias']);
    expect(() => h.forward(x, h.initial, { training: true })).toThrow(/'drop' \(Dropout, rate 0.5\).*options\.rng/);
    const a = h.forward(x, h.initial, { training: true, rng: new Rng(1) });
    const b = h.forward(x, h.initial);
    expect(maxAbs(a, b)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, x]);
    h.dispose();
    m.dispose();
  });
});
