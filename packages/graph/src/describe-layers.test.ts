import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MLP, initBackend } from '@hypernets/core';
import { archGraph } from './describe.js';
import { layersModelGraph, layersModelParams, setLayersModelWeights } from './describe-layers.js';
import { GHN2 } from './ghn2.js';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('graphs of tfjs-layers models', () => {
  it("a Sequential MLP gets core MLP's graph, hypernetize's ParamSpec names, and the same predicted values", () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({
          units: 32,
          inputShape: [20],
          activation: 'relu',
          name: 'd1',
          kernelInitializer: 'glorotUniform',
        }),
        tfl.layers.dropout({ rate: 0.1 }),
        tfl.layers.dense({ units: 10, activation: 'softmax', name: 'd2', kernelInitializer: 'glorotUniform' }),
      ],
    });
    const g = archGraph(model);
    expect(g.nodes.map((n) => `${n.type}:${n.name}`)).toEqual([
      'input:input',
      'conv:d1.kernel',
      'bias:d1.bias',
      'conv:d2.kernel',
      'bias:d2.bias',
    ]);
    const core = archGraph(new MLP({ inputSize: 20, hiddenSizes: [32], outputSize: 10 }));
    expect(g.edges).toEqual(core.edges);
    const ghn = new GHN2({ seed: 0 });
    const [a] = ghn.predict(g);
    const [b] = ghn.predict(core);
    for (const [k, c] of [
      ['d1.kernel', 'fc1.weight'],
      ['d1.bias', 'fc1.bias'],
      ['d2.kernel', 'fc2.weight'],
      ['d2.bias', 'fc2.bias'],
    ] as const)
      expect(tf.max(tf.abs(tf.sub(a!.weights[k]!, b!.weights[c]!))).dataSync()[0]).toBe(0);
    setLayersModelWeights(model, a!.weights);
    expect(
      tf
        .max(tf.abs(tf.sub((model.layers[0] as tfl.layers.Layer).getWeights()[0]!, a!.weights['d1.kernel']!)))
        .dataSync()[0],
    ).toBe(0);
    tf.dispose([...Object.values(a!.weights), ...Object.values(b!.weights)]);
    ghn.dispose();
    model.dispose();
  });

  it('a functional residual CNN: conv/bn/sum/glob_avg/concat nodes, predicted weights run in model.predict', () => {
    const inp = tfl.input({ shape: [12, 12, 3] });
    let h = tfl.layers
      .conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'c1', kernelInitializer: 'glorotUniform' })
      .apply(inp) as tfl.SymbolicTensor;
    h = tfl.layers.batchNormalization({ name: 'b1' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.activation({ activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
    const y = tfl.layers
      .conv2d({
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        name: 'c2',
        kernelInitializer: 'glorotUniform',
      })
      .apply(h) as tfl.SymbolicTensor;
    const z = tfl.layers
      .depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw', depthwiseInitializer: 'glorotUniform' })
      .apply(h) as tfl.SymbolicTensor;
    let s = tfl.layers.add().apply([h, y]) as tfl.SymbolicTensor;
    s = tfl.layers.concatenate().apply([s, z]) as tfl.SymbolicTensor;
    s = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(s) as tfl.SymbolicTensor;
    s = tfl.layers.globalAveragePooling2d({}).apply(s) as tfl.SymbolicTensor;
    const out = tfl.layers
      .dense({ units: 10, name: 'fc', kernelInitializer: 'glorotUniform' })
      .apply(s) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: inp, outputs: out, name: 'rescnn' });
    const g = layersModelGraph(model);
    expect(g.nodes.map((n) => n.type)).toEqual([
      'input',
      'conv',
      'bias',
      'bn',
      'conv',
      'sum',
      'sep_conv',
      'bias',
      'concat',
      'max_pool',
      'glob_avg',
      'conv',
      'bias',
    ]);
    expect(g.nodes[6]!.shape).toEqual([8, 1, 3, 3]);
    expect(g.nodes[9]!.shape).toEqual([1, 1, 2, 2]);
    const real = g.edges.filter((e) => e[2] === 1).map((e) => `${e[0]}>${e[1]}`);
    expect(real).toEqual([
      '0>1',
      '1>2',
      '2>3',
      '3>4',
      '3>5',
      '3>6',
      '4>5',
      '5>8',
      '6>7',
      '7>8',
      '8>9',
      '9>10',
      '10>11',
      '11>12',
    ]);
    expect(layersModelParams(model).map((p) => p.name)).toEqual([
      'c1.kernel',
      'c1.bias',
      'b1.gamma',
      'b1.beta',
      'c2.kernel',
      'dw.depthwise_kernel',
      'dw.bias',
      'fc.kernel',
      'fc.bias',
    ]);
    const ghn = new GHN2({ seed: 0 });
    const [p] = ghn.predict(g);
    expect(p!.missing).toEqual([]);
    setLayersModelWeights(model, p!.weights);
    const logits = model.predict(tf.randomNormal([2, 12, 12, 3], 0, 1, 'float32', 1)) as tf.Tensor;
    expect(logits.shape).toEqual([2, 10]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([logits, ...Object.values(p!.weights)]);
    ghn.dispose();
    model.dispose();
  });

  it('layers without a primitive keep their weights and are named in a warning', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.embedding({ inputDim: 50, outputDim: 8, inputLength: 4, name: 'emb' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, name: 'out', kernelInitializer: 'glorotUniform' }),
      ],
    });
    const warnings: string[] = [];
    const g = layersModelGraph(model, { warn: (m) => warnings.push(m) });
    expect(g.unsupported).toEqual(['emb.embeddings']);
    expect(warnings[0]).toMatch(/emb \(Embedding\)/);
    const ghn = new GHN2({ seed: 0 });
    const [p] = ghn.predict(g);
    expect(p!.missing).toEqual(['emb.embeddings']);
    tf.dispose(Object.values(p!.weights));
    ghn.dispose();
    model.dispose();
  });
});
