import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { countParams, type Weights } from '../params.js';
import { Rng } from '../random.js';
import { initWeights } from '../init.js';
import { NetState } from '../state.js';
import { assertNoLeaks } from '../memory.js';
import {
  ImageNetResNet,
  resnet101,
  resnet152,
  resnet18,
  resnet34,
  resnet50,
  type ImageNetResNetConfig,
} from './resnet-imagenet.js';
import { maxPoolPadded } from '../ops/pool.js';
import { fromTorchWeights, torchShape } from '../torch-layout.js';
import { softmaxCrossEntropy } from '../ops/losses.js';
import {
  comparePerSampleWithLoop,
  disposeWeights,
  maxAbsDiff,
  pickSample,
  randomWeightBatch,
  useCpu,
} from '../testing/nets.js';

// Written by scripts/torchvision_resnet_fixture.py from torchvision 0.14 itself.
interface Encoded {
  shape: number[];
  data: string;
}
interface FixtureCase {
  name: string;
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  widths: [number, number, number, number];
  widthPerGroup: number;
  numClasses: number;
  paramNames: string[];
  params: Record<string, Encoded>;
  buffers: Record<string, Encoded>;
  input: Encoded;
  evalOutput: Encoded;
  trainOutput: Encoded;
  buffersAfterTrain: Record<string, Encoded>;
}
interface SpecsFixture {
  torchvision: string;
  nets: Record<string, { count: number; params: [string, number[]][]; buffers: [string, number[]][] }>;
}
const readJson = <T>(file: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')) as T;
const numbers = readJson<{ torchvision: string; cases: FixtureCase[] }>('torchvision_resnet.json');
const specs = readJson<SpecsFixture>('torchvision_resnet_specs.json');

/** base64 little-endian float32 → tensor (PyTorch layout). */
function decode(e: Encoded): tf.Tensor {
  const bytes = Uint8Array.from(Buffer.from(e.data, 'base64')); // a copy: 4-byte aligned
  return tf.tensor(new Float32Array(bytes.buffer), e.shape, 'float32');
}
const decodeAll = (r: Record<string, Encoded>): Weights =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, decode(v)]));
const nchwToNhwc = (x: tf.Tensor) => tf.transpose(x, [0, 2, 3, 1]);

/** A state with the given torch buffers (by buffer name) under condition '0'. */
function stateFrom(net: ImageNetResNet, buffers: Weights): NetState {
  const state = new NetState(net.stateSpecs);
  state.loadNamedTensors(Object.fromEntries(net.stateSpecs.map((s) => [`0/${s.name}`, buffers[s.name]])));
  return state;
}

/** Random (valid) running statistics for every BN of `net`. */
function randomState(net: ImageNetResNet, seed: number): NetState {
  const rng = new Rng(seed);
  const values: Weights = {};
  for (const s of net.stateSpecs)
    values[s.name] = s.init === 'zeros' ? rng.normal([...s.shape], 0, 0.3) : rng.uniformTensor([...s.shape], 0.5, 1.5);
  const state = stateFrom(net, values);
  disposeWeights(values);
  return state;
}

const FACTORIES = { resnet18, resnet34, resnet50, resnet101, resnet152 } as const;

describe('ImageNetResNet (torchvision 0.14 resnet18 … resnet152)', () => {
  beforeAll(useCpu);

  it("has torchvision's parameter counts", () => {
    const expected = {
      resnet18: 11689512,
      resnet34: 21797672,
      resnet50: 25557032,
      resnet101: 44549160,
      resnet152: 60192808,
    };
    for (const [name, count] of Object.entries(expected)) {
      const net = FACTORIES[name as keyof typeof FACTORIES]();
      expect(net.name).toBe(name);
      expect(countParams(net.params), name).toBe(count);
      expect(specs.nets[name].count, `fixture ${name}`).toBe(count);
    }
    // wide_resnet50_2 is resnet50 with widthPerGroup 128.
    expect(countParams(resnet50({ widthPerGroup: 128 }).params)).toBe(specs.nets.wide_resnet50_2.count);
    expect(specs.nets.wide_resnet50_2.count).toBe(68883240);
    // fc: 512·e·(classes) + classes
    expect(countParams(resnet18({ numClasses: 10 }).params)).toBe(11689512 - 990 * 513);
    expect(countParams(resnet50({ numClasses: 10 }).params)).toBe(25557032 - 990 * 2049);
  });

  it("ParamSpecs are torchvision's named_parameters() (names, order, torch shapes) and state specs its BN buffers", () => {
    const nets: Record<string, ImageNetResNet> = {
      ...Object.fromEntries(Object.entries(FACTORIES).map(([k, f]) => [k, f()])),
      wide_resnet50_2: resnet50({ widthPerGroup: 128 }),
    };
    for (const [name, net] of Object.entries(nets)) {
      const ref = specs.nets[name];
      expect(
        net.params.map((p) => [p.name, torchShape(p)]),
        name,
      ).toEqual(ref.params);
      const running = ref.buffers.filter(([n]) => !n.endsWith('num_batches_tracked'));
      expect(
        net.stateSpecs.map((s) => [s.name, [...s.shape]]),
        name,
      ).toEqual(running);
    }
    // Spot checks that hold without the fixture.
    const r18 = nets.resnet18.params;
    expect(r18).toHaveLength(62);
    expect(r18[0]).toMatchObject({ name: 'conv1.weight', shape: [7, 7, 3, 64], kind: 'weight', fanIn: 147, layer: 0 });
    expect(r18.slice(1, 3).map((p) => p.name)).toEqual(['bn1.weight', 'bn1.bias']);
    expect(r18[3].name).toBe('layer1.0.conv1.weight');
    expect(r18.find((p) => p.name === 'layer2.0.downsample.0.weight')?.shape).toEqual([1, 1, 64, 128]);
    expect(r18.some((p) => p.name.startsWith('layer1.0.downsample'))).toBe(false);
    expect(r18.at(-2)).toMatchObject({ name: 'fc.weight', shape: [512, 1000], activation: 'linear' });
    expect(r18.at(-1)?.name).toBe('fc.bias');
    const r50 = nets.resnet50.params;
    expect(r50).toHaveLength(161);
    expect(r50.slice(3, 12).map((p) => p.name)).toEqual([
      'layer1.0.conv1.weight',
      'layer1.0.bn1.weight',
      'layer1.0.bn1.bias',
      'layer1.0.conv2.weight',
      'layer1.0.bn2.weight',
      'layer1.0.bn2.bias',
      'layer1.0.conv3.weight',
      'layer1.0.bn3.weight',
      'layer1.0.bn3.bias',
    ]);
    // layer1.0 changes channels 64 → 256 at stride 1: it has a downsample; v1.5: stride on conv2.
    expect(r50[12]).toMatchObject({ name: 'layer1.0.downsample.0.weight', shape: [1, 1, 64, 256] });
    expect(r50.find((p) => p.name === 'layer2.0.conv2.weight')?.shape).toEqual([3, 3, 128, 128]);
    expect(r50.at(-2)).toMatchObject({ name: 'fc.weight', shape: [2048, 1000] });
    expect(nets.resnet50.stateSpecs.slice(0, 2)).toEqual([
      { name: 'bn1.running_mean', shape: [64], init: 'zeros' },
      { name: 'bn1.running_var', shape: [64], init: 'ones' },
    ]);
    expect(resnet18({ trackRunningStats: false }).stateSpecs).toHaveLength(0);
  });

  it('rejects bad configs, eval without state, and wrong inputs', () => {
    const base: ImageNetResNetConfig = { block: 'basic', layers: [1, 1, 1, 1] };
    expect(() => new ImageNetResNet({ ...base, block: 'huge' as never })).toThrow(ConfigError);
    expect(() => new ImageNetResNet({ ...base, layers: [2, 2, 2] as never })).toThrow(/layers/);
    expect(() => new ImageNetResNet({ ...base, layers: [2, 0, 2, 2] })).toThrow(/layers\[1\]/);
    expect(() => new ImageNetResNet({ ...base, widthPerGroup: 32 })).toThrow(/widthPerGroup/);
    expect(() => new ImageNetResNet({ ...base, widths: [4, 8] as never })).toThrow(/widths/);
    expect(
      () => new ImageNetResNet({ block: 'bottleneck', layers: [1, 1, 1, 1], widths: [4, 4, 4, 4], widthPerGroup: 8 }),
    ).toThrow(/0 channels/);
    expect(() => resnet18({ bnMomentum: 0 })).toThrow(ConfigError);
    expect(() => resnet18({ inputShape: [32, 32] as never })).toThrow(/inputShape/);
    const net = new ImageNetResNet({ ...base, widths: [2, 2, 2, 2], numClasses: 3 });
    const w = initWeights(net.params, new Rng(0));
    const x = tf.zeros([1, 8, 8, 3]);
    expect(() => net.forward(x, w)).toThrow(/options.state/);
    expect(() => net.forward(tf.zeros([1, 8, 8, 1]), w, { training: true })).toThrow(ShapeMismatchError);
    expect(() => net.forward(x, { ...w, 'fc.weight': tf.zeros([3, 2]) }, { training: true })).toThrow(/fc.weight/);
    tf.dispose(x);
    disposeWeights(w);
  });

  it('resnet18 and resnet50 forward [N, classes] on small inputs; any H, W ≥ 1 runs', () => {
    for (const make of [resnet18, resnet50]) {
      const net = make({ numClasses: 10, inputShape: [32, 32, 3], trackRunningStats: false });
      // Cheap constant weights: only the shapes matter here.
      const w = Object.fromEntries(
        net.params.map((p) => [p.name, tf.fill([...p.shape], p.kind === 'norm-scale' ? 1 : 0.01)]),
      );
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
      const y = net.forward(x, w);
      expect(y.shape).toEqual([2, 10]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, y]);
      disposeWeights(w);
    }
    const tiny = new ImageNetResNet({ block: 'bottleneck', layers: [1, 1, 1, 1], widths: [2, 2, 2, 2], numClasses: 4 });
    const w = initWeights(tiny.params, new Rng(2));
    const state = new NetState(tiny.stateSpecs);
    for (const [h, wd] of [
      [1, 1],
      [7, 5],
      [17, 30],
    ]) {
      const x = tf.ones([1, h, wd, 3]);
      const y = tiny.forward(x, w, { state });
      expect(y.shape).toEqual([1, 4]);
      tf.dispose([x, y]);
    }
    disposeWeights(w);
    state.dispose();
  });

  it('maxPoolPadded pads with −∞ (PyTorch), not zeros, and aligns windows as PyTorch on even sizes', () => {
    // All-negative 4×4 input, 3×3 stride 2 pad 1 → 2×2: windows rows/cols {-1..1} and {1..3}.
    const v = [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16];
    const x = tf.tensor4d(v, [1, 4, 4, 1]);
    const y = maxPoolPadded(x, 3, 2, 1);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    // torch.nn.MaxPool2d(3, 2, 1)(-torch.arange(1., 17.).view(1, 1, 4, 4)) = [[-1, -2], [-5, -6]]
    expect(Array.from(y.dataSync())).toEqual([-1, -2, -5, -6]);
    // tfjs 'same' (pads only after on even sizes) picks other windows.
    const same = tf.maxPool(x, 3, 2, 'same');
    expect(Array.from(same.dataSync())).toEqual([-1, -3, -9, -11]);
    // Gradient: each window's first maximum gets it; no padded cell.
    const g = tf.grad((t: tf.Tensor) => tf.sum(maxPoolPadded(t, 3, 2, 1)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => maxPoolPadded(x, 3, 2, 2)).toThrow(/padding/);
    tf.dispose([x, y, same, g]);
  });

  for (const c of numbers.cases)
    it(`matches torchvision (${c.name}) in eval mode and in training mode, running statistics included`, async ({
      annotate,
    }) => {
      const [, , h, wd] = c.input.shape;
      const net = new ImageNetResNet({
        block: c.block,
        layers: c.layers,
        widths: c.widths,
        widthPerGroup: c.widthPerGroup,
        numClasses: c.numClasses,
        inputShape: [h, wd, 3],
      });
      expect(net.params.map((p) => p.name)).toEqual(c.paramNames);
      const torchParams = decodeAll(c.params);
      const w = fromTorchWeights(net.params, torchParams);
      const buffers = decodeAll(c.buffers);
      const state = stateFrom(net, buffers);
      const xt = decode(c.input);
      const x = nchwToNhwc(xt);
      const expectedEval = decode(c.evalOutput);
      const expectedTrain = decode(c.trainOutput);
      const yEval = net.forward(x, w, { state });
      const yTrain = net.forward(x, w, { training: true, state });
      const errEval = maxAbsDiff(yEval, expectedEval);
      const errTrain = maxAbsDiff(yTrain, expectedTrain);
      let errStats = 0;
      const after = decodeAll(c.buffersAfterTrain);
      for (const s of net.stateSpecs) errStats = Math.max(errStats, maxAbsDiff(state.get('0', s.name), after[s.name]));
      const maxOut = tf.tidy(() => tf.max(tf.abs(expectedEval)).dataSync()[0]);
      await annotate(
        `${c.name} vs torchvision ${numbers.torchvision}: eval ${errEval.toExponential(2)} (max |y| ${maxOut.toFixed(2)}), ` +
          `train ${errTrain.toExponential(2)}, running stats after train ${errStats.toExponential(2)}`,
      );
      expect(errEval).toBeLessThan(1e-4);
      expect(errTrain).toBeLessThan(1e-4);
      expect(errStats).toBeLessThan(1e-4);
      // The comparison can fail: the eval and train outputs differ by far more than the bound.
      expect(maxAbsDiff(yEval, yTrain)).toBeGreaterThan(1e-1);
      tf.dispose([xt, x, expectedEval, expectedTrain, yEval, yTrain]);
      disposeWeights(torchParams, w, buffers, after);
      state.dispose();
    });

  // γ ≈ 0.5 keeps the residual stream O(1), so float32 errors stay well under the bound.
  for (const block of ['basic', 'bottleneck'] as const)
    it(`per-sample weights equal the loop in eval mode (running stats), ${block} blocks`, async ({ annotate }) => {
      const net = new ImageNetResNet({
        block,
        layers: [1, 1, 1, 1],
        widths: [4, 4, 8, 8],
        widthPerGroup: block === 'bottleneck' ? 32 : 64,
        numClasses: 5,
      });
      const B = 2;
      const state = randomState(net, 3);
      const w = randomWeightBatch(net.params, B, 4, 0.5, 0.5);
      const x = tf.randomNormal([B, 24, 20, 3], 0, 1, 'float32', 5);
      const err = comparePerSampleWithLoop(net.params, (xx, ww) => net.forward(xx, ww, { state }), x, w);
      await annotate(
        `${net.name} (${block}) eval per-sample vs loop: forward ${err.forward.toExponential(2)}, grads ${err.grads.toExponential(2)} ` +
          `(max |y| ${err.maxOut.toFixed(2)}, max |grad| ${err.maxGrad.toFixed(2)})`,
      );
      expect(err.forward).toBeLessThan(1e-5);
      expect(err.grads).toBeLessThan(1e-5);
      disposeWeights(w);
      x.dispose();
      state.dispose();
    });

  // Training mode: every sample is its own batch; 80×80 leaves 3×3 maps in layer4.
  it('per-sample weights in training mode equal the loop of batch-of-one passes (outputs, grads, running stats)', async ({
    annotate,
  }) => {
    const net = new ImageNetResNet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], numClasses: 5 });
    const B = 2;
    const w = randomWeightBatch(net.params, B, 6, 0.5, 0.5);
    const x = tf.randomNormal([B, 80, 72, 3], 0, 1, 'float32', 7);
    const err = comparePerSampleWithLoop(net.params, (xx, ww) => net.forward(xx, ww, { training: true }), x, w);
    await annotate(
      `${net.name} training per-sample vs loop: forward ${err.forward.toExponential(2)}, grads ${err.grads.toExponential(2)} ` +
        `(max |y| ${err.maxOut.toFixed(2)}, max |grad| ${err.maxGrad.toFixed(2)})`,
    );
    expect(err.forward).toBeLessThan(1e-5);
    expect(err.grads).toBeLessThan(1e-5);
    const batched = new NetState(net.stateSpecs);
    const looped = new NetState(net.stateSpecs);
    tf.dispose(net.forward(x, w, { training: true, state: batched }));
    for (let i = 0; i < B; i++) {
      const wi = pickSample(w, i);
      const xi = tf.slice(x, [i], [1]);
      tf.dispose([xi, net.forward(xi, wi, { training: true, state: looped })]);
      disposeWeights(wi);
    }
    let worst = 0;
    for (const s of net.stateSpecs)
      worst = Math.max(worst, maxAbsDiff(batched.get('0', s.name), looped.get('0', s.name)));
    expect(worst).toBeLessThan(1e-5);
    disposeWeights(w);
    x.dispose();
    batched.dispose();
    looped.dispose();
  });

  it('a training step that updates running stats leaks nothing', async () => {
    const net = new ImageNetResNet({ block: 'bottleneck', layers: [1, 1, 1, 1], widths: [4, 4, 4, 4], numClasses: 3 });
    const w = initWeights(net.params, new Rng(8));
    const vars = Object.fromEntries(
      Object.entries(w).map(([k, t]) => [k, tf.variable(t, true, `imagenet-resnet-leak/${k}`)]),
    );
    const state = new NetState(net.stateSpecs);
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 9);
    const labels = tf.tensor1d([0, 2], 'int32');
    const opt = tf.train.sgd(0.01);
    await assertNoLeaks(
      () =>
        opt.minimize(
          () => softmaxCrossEntropy(net.forward(x, vars, { training: true, state }), labels),
          true,
          Object.values(vars),
        ),
      { label: 'ImageNetResNet training step' },
    );
    tf.dispose([x, labels]);
    disposeWeights(w, vars);
    state.dispose();
    opt.dispose();
  });
});
