import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { DomainBedMnistCnn } from './domainbed-cnn.js';
import { groupNormalize } from '../ops/group-norm.js';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { useCpu } from '../testing/nets.js';
import type { Weights } from '../params.js';

beforeAll(useCpu);

// The fixture script's weight formula (scripts/domainbed-cnn-fixture.py), by coordinates.
const value = (a: number, b: number, c: number, d: number, p: number) =>
  0.08 * Math.sin(0.37 * a + 0.11 * b + 0.05 * c + 0.23 * d + 0.7 * p);

function fixtureWeights(net: DomainBedMnistCnn): Weights {
  const w: Weights = {};
  let p = 0;
  for (let k = 1; k <= 4; k++) {
    const kernel = net.params.find((s) => s.name === `conv${k}.weight`)!.shape as number[];
    const [kh, kw, cin, cout] = kernel as [number, number, number, number];
    const data = new Float32Array(kh * kw * cin * cout);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) data[((y * kw + x) * cin + i) * cout + o] = value(y, x, i, o, p);
    w[`conv${k}.weight`] = tf.tensor4d(data, [kh, kw, cin, cout]);
    const vec = (q: number, base = 0) =>
      tf.tensor1d(Array.from({ length: cout }, (_, j) => base + value(0, 0, 0, j, q)));
    w[`conv${k}.bias`] = vec(p + 1);
    w[`gn${k}.weight`] = vec(p + 2, 1);
    w[`gn${k}.bias`] = vec(p + 3);
    p += 4;
  }
  const classes = net.numClasses!;
  const wc = new Float32Array(128 * classes);
  for (let i = 0; i < 128; i++) for (let j = 0; j < classes; j++) wc[i * classes + j] = value(i, j, 0, 0, p);
  w['classifier.weight'] = tf.tensor2d(wc, [128, classes]);
  w['classifier.bias'] = tf.tensor1d(Array.from({ length: classes }, (_, j) => value(0, 0, 0, j, p + 1)));
  return w;
}

describe('groupNormalize', () => {
  it('normalises each sample’s channel group over positions and channels (hand computation)', () => {
    const x = tf.tensor4d(
      Array.from({ length: 2 * 2 * 1 * 4 }, (_, i) => Math.sin(i) * 3 + i * 0.1),
      [2, 2, 1, 4],
    );
    const y = groupNormalize(x, 2).arraySync() as number[][][][];
    const xs = x.arraySync() as number[][][][];
    for (let n = 0; n < 2; n++)
      for (let g = 0; g < 2; g++) {
        const vals: number[] = [];
        for (let h = 0; h < 2; h++) for (let c = 2 * g; c < 2 * g + 2; c++) vals.push(xs[n]![h]![0]![c]!);
        const mean = vals.reduce((a, b) => a + b, 0) / 4;
        const v = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
        for (let h = 0; h < 2; h++)
          for (let c = 2 * g; c < 2 * g + 2; c++)
            expect(y[n]![h]![0]![c]!).toBeCloseTo((xs[n]![h]![0]![c]! - mean) / Math.sqrt(v + 1e-5), 5);
      }
    expect(() => groupNormalize(x, 3)).toThrow(ConfigError);
    x.dispose();
  });
});

describe('DomainBedMnistCnn', () => {
  it("equals DomainBed's MNIST_CNN in PyTorch (recorded fixture: features and classifier logits)", () => {
    const fx = JSON.parse(readFileSync(new URL('./fixtures/domainbed-cnn.json', import.meta.url), 'utf8')) as {
      channels: number;
      classes: number;
      n: number;
      features: number[][];
      logits: number[][];
    };
    const net = new DomainBedMnistCnn({ channels: fx.channels, numClasses: fx.classes });
    const features = new DomainBedMnistCnn({ channels: fx.channels });
    const w = fixtureWeights(net);
    const xs = new Float32Array(fx.n * 28 * 28 * fx.channels);
    for (let s = 0; s < fx.n; s++)
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++)
          for (let c = 0; c < fx.channels; c++)
            xs[((s * 28 + y) * 28 + x) * fx.channels + c] =
              0.5 + 0.5 * Math.sin(0.37 * s + 0.11 * y + 0.05 * x + 0.23 * c);
    const x = tf.tensor4d(xs, [fx.n, 28, 28, fx.channels]);
    const logits = net.forward(x, w);
    const feats = features.forward(x, w);
    const err = (a: tf.Tensor, b: number[][]) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(a, tf.tensor2d(b)))).dataSync()[0]!);
    expect(err(feats, fx.features)).toBeLessThan(1e-4);
    expect(err(logits, fx.logits)).toBeLessThan(1e-4);
    expect(net.params).toHaveLength(18);
    tf.dispose([x, logits, feats, ...Object.values(w)]);
  });

  it('refuses other inputs and unknown options', () => {
    const net = new DomainBedMnistCnn({ channels: 2 });
    expect(net.outputShape).toEqual([128]);
    expect(() => net.forward(tf.zeros([1, 28, 28, 1]), {} as Weights)).toThrow();
    expect(() => new DomainBedMnistCnn({ colour: 1 } as never)).toThrow(ConfigError);
    void ShapeMismatchError;
  });
});
