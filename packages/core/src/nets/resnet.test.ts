import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors/index.js';
import { countParams, type Weights } from '../params.js';
import { Rng } from '../random.js';
import { createVariables, initWeights } from '../init.js';
import { NetState } from '../state.js';
import { assertNoLeaks } from '../memory.js';
import { ResNet, resnet20, resnet32, zeroPadShortcut } from './resnet.js';
import { softmaxCrossEntropy } from '../ops/losses.js';
import {
  comparePerSampleWithLoop,
  disposeWeights,
  finiteDifferenceError,
  maxAbsDiff,
  pickSample,
  randomWeightBatch,
  useCpu,
} from '../testing/nets.js';

/** A state with random (but valid) running statistics for every BN of `net`. */
function randomState(net: ResNet, seed: number): NetState {
  const state = new NetState(net.stateSpecs);
  const rng = new Rng(seed);
  const values: Record<string, tf.Tensor> = {};
  for (const s of net.stateSpecs)
    values[`0/${s.name}`] =
      s.init === 'zeros' ? rng.normal([...s.shape], 0, 0.3) : rng.uniformTensor([...s.shape], 1, 2);
  state.loadNamedTensors(values);
  tf.dispose(Object.values(values));
  return state;
}

describe('ResNet (CIFAR, He et al. 2016 §4.2)', () => {
  beforeAll(useCpu);

  it('ResNet-20 has 269,722 parameters with option A, ResNet-32 464,154; option B adds the projections', () => {
    // conv1 432 + bn1 32; stage 1: 3 × (2·2,304 + 2·32); stage 2: 4,608 + 9,216 + 128 then 2 × (2·9,216 + 128);
    // stage 3: 18,432 + 36,864 + 256 then 2 × (2·36,864 + 256); fc 64·10 + 10.
    expect(countParams(resnet20().params)).toBe(269722);
    expect(countParams(resnet32().params)).toBe(464154);
    // + layer2.0.downsample (1·1·16·32 + 2·32) + layer3.0.downsample (1·1·32·64 + 2·64)
    expect(countParams(resnet20({ shortcut: 'B' }).params)).toBe(269722 + 576 + 2176);
    expect(countParams(resnet20({ numClasses: 100 }).params)).toBe(269722 + 90 * 65);
  });

  it('names params and running statistics like the PyTorch port', () => {
    const net = resnet20({ shortcut: 'B' });
    const byName = Object.fromEntries(net.params.map((p) => [p.name, p]));
    expect(byName['conv1.weight']).toMatchObject({
      shape: [3, 3, 3, 16],
      kind: 'weight',
      fanIn: 27,
      fanOut: 144,
      layer: 0,
    });
    expect(byName['bn1.weight']).toMatchObject({ shape: [16], kind: 'norm-scale', layer: 1 });
    expect(byName['layer1.0.conv1.weight'].shape).toEqual([3, 3, 16, 16]);
    expect(byName['layer2.0.conv1.weight'].shape).toEqual([3, 3, 16, 32]);
    expect(byName['layer2.0.downsample.0.weight'].shape).toEqual([1, 1, 16, 32]);
    expect(byName['layer2.0.downsample.1.bias'].kind).toBe('norm-shift');
    expect(byName['layer3.2.bn2.bias'].shape).toEqual([64]);
    expect(byName['fc.weight']).toMatchObject({ shape: [64, 10], activation: 'linear' });
    expect(net.params.filter((p) => p.name.endsWith('conv1.weight') || p.name.endsWith('conv2.weight'))).toHaveLength(
      19,
    );
    expect(resnet20().params.some((p) => p.name.includes('downsample'))).toBe(false);
    // 19 BNs (+2 projections' BNs with option B), 2 state tensors each
    expect(resnet20().stateSpecs).toHaveLength(38);
    expect(net.stateSpecs).toHaveLength(42);
    expect(net.stateSpecs.slice(0, 2)).toEqual([
      { name: 'bn1.running_mean', shape: [16], init: 'zeros' },
      { name: 'bn1.running_var', shape: [16], init: 'ones' },
    ]);
    expect(resnet20({ trackRunningStats: false }).stateSpecs).toHaveLength(0);
  });

  it('rejects bad configs and eval without state', () => {
    expect(() => new ResNet({ depth: 21 })).toThrow(/6n \+ 2/);
    expect(() => new ResNet({ depth: 20, shortcut: 'C' as never })).toThrow(/shortcut/);
    expect(() => new ResNet({ depth: 20, widths: [16, 8, 4] })).toThrow(/widths/);
    expect(() => new ResNet({ depth: 20, bnMomentum: 0 })).toThrow(ConfigError);
    const net = new ResNet({ depth: 8 });
    const w = initWeights(net.params, new Rng(0));
    expect(() => net.forward(tf.zeros([2, 8, 8, 3]), w)).toThrow(/options.state/);
    expect(() => net.forward(tf.zeros([2, 8, 8, 1]), w, { training: true })).toThrow(/input/);
    disposeWeights(w);
  });

  it('forward shapes on small inputs, training and eval; running statistics move in training only', () => {
    const net = resnet20();
    const w = initWeights(net.params, new Rng(1));
    const state = new NetState(net.stateSpecs);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 2);
    const y = net.forward(x, w, { training: true, state });
    expect(y.shape).toEqual([2, 10]);
    const rm = Array.from(state.get('0', 'layer3.2.bn2.running_mean').dataSync());
    expect(rm.some((v) => v !== 0)).toBe(true);
    const ye = net.forward(x, w, { state });
    expect(ye.shape).toEqual([2, 10]);
    expect(Array.from(state.get('0', 'layer3.2.bn2.running_mean').dataSync())).toEqual(rm);
    const free = resnet20({ trackRunningStats: false }).forward(x, w);
    expect(maxAbsDiff(free, y)).toBeLessThan(1e-5); // batch statistics either way
    tf.dispose([x, y, ye, free]);
    disposeWeights(w);
    state.dispose();
  });

  it('option A shortcut: subsample and zero-pad channels half before, half after', () => {
    const x = tf.reshape(tf.range(1, 1 + 4 * 4 * 2), [1, 4, 4, 2]);
    const s = zeroPadShortcut(x, 6, 2);
    expect(s.shape).toEqual([1, 2, 2, 6]);
    expect(Array.from(tf.slice(s, [0, 0, 1, 0], [1, 1, 1, 6]).dataSync())).toEqual([0, 0, 5, 6, 0, 0]);
    tf.dispose([x, s]);
  });

  // Weights with γ ≈ 0.5 keep the residual stream O(1) across 20 layers, so absolute float32
  // errors are comparable to the 1e-5 bound (random γ ≈ 1 gives |grad| ≈ 40 and errors ≈ 1e-5).
  for (const shortcut of ['A', 'B'] as const)
    it(`per-sample weights equal the loop in eval mode (running stats), ResNet-20 option ${shortcut}`, async ({
      annotate,
    }) => {
      const net = resnet20({ shortcut });
      const B = 2;
      const state = randomState(net, 4);
      const w = randomWeightBatch(net.params, B, 5, 0.5, 0.5);
      const x = tf.randomNormal([B, 8, 8, 3], 0, 1, 'float32', 6);
      const err = comparePerSampleWithLoop(net.params, (xx, ww) => net.forward(xx, ww, { state }), x, w);
      await annotate(
        `${net.name} (${shortcut}) eval per-sample vs loop: forward ${err.forward.toExponential(2)}, grads ${err.grads.toExponential(2)} ` +
          `(max |y| ${err.maxOut.toFixed(2)}, max |grad| ${err.maxGrad.toFixed(2)})`,
      );
      expect(err.forward).toBeLessThan(1e-5);
      expect(err.grads).toBeLessThan(1e-5);
      disposeWeights(w);
      x.dispose();
      state.dispose();
    });

  // Training mode: each sample is its own batch (statistics over its H×W; see ops/batch-norm.ts).
  // 12×12 inputs leave 3×3 maps in stage 3: with 2×2 maps the per-sample variance of 4 values
  // amplifies float32 rounding (ResNet-20, 8×8, γ ≈ 1: grads differed by 8.6e-4 at |grad| ≈ 79).
  for (const shortcut of ['A', 'B'] as const)
    it(`per-sample weights in training mode equal the loop of batch-of-one passes (outputs, grads, running stats), option ${shortcut}`, async ({
      annotate,
    }) => {
      const net = new ResNet({ depth: 8, shortcut });
      const B = 3;
      const w = randomWeightBatch(net.params, B, 7, 0.5, 0.5);
      const x = tf.randomNormal([B, 12, 12, 3], 0, 1, 'float32', 8);
      // Outputs and gradients (batch statistics, no state).
      const err = comparePerSampleWithLoop(net.params, (xx, ww) => net.forward(xx, ww, { training: true }), x, w);
      await annotate(
        `${net.name} (${shortcut}) training per-sample vs loop: forward ${err.forward.toExponential(2)}, grads ${err.grads.toExponential(2)} ` +
          `(max |y| ${err.maxOut.toFixed(2)}, max |grad| ${err.maxGrad.toFixed(2)})`,
      );
      expect(err.forward).toBeLessThan(1e-5);
      expect(err.grads).toBeLessThan(1e-5);
      // Running statistics: one per-sample pass = B sequential batch-of-one passes.
      const batched = new NetState(net.stateSpecs);
      const looped = new NetState(net.stateSpecs);
      tf.dispose(net.forward(x, w, { training: true, state: batched }));
      for (let i = 0; i < B; i++) {
        const wi: Weights = pickSample(w, i);
        tf.dispose(net.forward(tf.slice(x, [i], [1]), wi, { training: true, state: looped }));
        disposeWeights(wi);
      }
      let worst = 0;
      for (const s of net.stateSpecs)
        worst = Math.max(worst, maxAbsDiff(batched.get('0', s.name), looped.get('0', s.name)));
      await annotate(
        `${net.name} (${shortcut}) per-sample running stats vs sequential loop: ${worst.toExponential(2)}`,
      );
      expect(worst).toBeLessThan(1e-5);
      disposeWeights(w);
      x.dispose();
      batched.dispose();
      looped.dispose();
    });

  it('gradient of a conv layer matches finite differences (training mode, batch statistics)', () => {
    const net = new ResNet({ depth: 8, widths: [4, 8, 8] });
    const w = initWeights(net.params, new Rng(10));
    const x = tf.randomNormal([3, 6, 6, 3], 0, 1, 'float32', 11);
    const labels = [1, 4, 7];
    const f = (k: tf.Tensor) =>
      softmaxCrossEntropy(net.forward(x, { ...w, 'layer2.0.conv1.weight': k }, { training: true }), labels);
    expect(finiteDifferenceError(f, w['layer2.0.conv1.weight'], 8)).toBeLessThan(1e-2);
    x.dispose();
    disposeWeights(w);
  });

  it('same seed, same weights; training steps that update running stats leak nothing', async () => {
    const net = new ResNet({ depth: 8, widths: [4, 8, 8] });
    const a = createVariables(net.params, new Rng(12), 'auto', 'res-a/');
    const b = createVariables(net.params, new Rng(12), 'auto', 'res-b/');
    for (const p of net.params) expect(maxAbsDiff(a[p.name], b[p.name])).toBe(0);
    const state = new NetState(net.stateSpecs);
    const x = tf.randomNormal([4, 8, 8, 3]);
    const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
    const opt = tf.train.adam(0.01);
    const step = () =>
      opt.minimize(
        () => softmaxCrossEntropy(net.forward(x, a, { training: true, state }), labels),
        true,
        Object.values(a),
      );
    await assertNoLeaks(step, { label: 'ResNet training step' });
    const evalOut = net.forward(x, a, { state });
    expect(evalOut.shape).toEqual([4, 10]);
    tf.dispose([x, labels, evalOut]);
    disposeWeights(a, b);
    state.dispose();
    opt.dispose();
  });
});
