import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  TrainingError,
  HypernetsError,
  MLP,
  TransformerEncoder,
  lenet5,
  resnet20,
  paramSpec,
  type ParamSpec,
} from '@hypernets/core';
import { GraphBuilder, GraphError, edgesWithVirtual, levels } from './graph.js';
import { archGraph } from './describe.js';
import { channelIndex, shapeVocab, spatialIndex, shapeTo4d } from './shape-encoder.js';
import { decoderKey, groupSize, normalization } from './decode.js';

const spec = (name: string, shape: number[], kind: ParamSpec['kind'] = 'weight') =>
  paramSpec({ name, shape, kind, layer: 0, fanIn: shape[0]!, fanOut: shape[shape.length - 1]! });

describe('GraphBuilder', () => {
  const params = [
    spec('a.weight', [3, 3, 2, 4]),
    spec('a.bias', [4], 'bias'),
    spec('n.weight', [4], 'norm-scale'),
    spec('n.bias', [4], 'norm-shift'),
    spec('fc.weight', [4, 10]),
    spec('fc.bias', [10], 'bias'),
  ];

  it('builds weight → bias chains, norms as one node, PyTorch shapes, sum only with > 1 input', () => {
    const g = new GraphBuilder('t', params);
    const x = g.input();
    const a = g.layer('conv', 'a.weight', [x], 'a.bias');
    const n = g.norm('bn', 'n.weight', 'n.bias', [a]);
    expect(g.op('sum', [n, n])).toBe(n); // one distinct input: no node
    const s = g.op('sum', [n, a]);
    const p = g.op('glob_avg', [s]);
    g.layer('conv', 'fc.weight', [p], 'fc.bias');
    const graph = g.build();
    expect(graph.nodes.map((nd) => nd.type)).toEqual([
      'input',
      'conv',
      'bias',
      'bn',
      'sum',
      'glob_avg',
      'conv',
      'bias',
    ]);
    expect(graph.nodes[1]!.shape).toEqual([4, 2, 3, 3]); // [cout, cin, kh, kw]
    expect(graph.nodes[6]!.shape).toEqual([10, 4]); // [out, in]
    expect(graph.nodes[3]).toMatchObject({ param: 'n.weight', shift: 'n.bias' });
    expect(graph.unsupported).toEqual([]);
  });

  it('virtual edges: shortest paths 2…sMax, weighted by their length, none with sMax 1', () => {
    // 0 → 1 → 2 → 3 and 0 → 3 ; 1 → 3 is at distance 2, 0 → 2 at 2
    const succ = [[1, 3], [2], [3], []];
    expect(edgesWithVirtual(succ, 50)).toEqual([
      [0, 1, 1],
      [0, 2, 2],
      [0, 3, 1],
      [1, 2, 1],
      [1, 3, 2],
      [2, 3, 1],
    ]);
    expect(edgesWithVirtual(succ, 1).every((e) => e[2] === 1)).toBe(true);
    const chain = Array.from({ length: 6 }, (_, i) => (i < 5 ? [i + 1] : []));
    expect(edgesWithVirtual(chain, 3).filter((e) => e[0] === 0)).toEqual([
      [0, 1, 1],
      [0, 2, 2],
      [0, 3, 3],
    ]);
  });

  it('levels: longest path from the sources (forward) and to the sinks (backward)', () => {
    const nodes = Array.from({ length: 5 }, () => ({
      type: 'conv' as const,
      name: '',
      shape: null,
      param: null,
      shift: null,
    }));
    // 0 → 1 → 2 → 4, 0 → 3 → 4
    const lv = levels({
      nodes,
      edges: [
        [0, 1, 1],
        [1, 2, 1],
        [2, 4, 1],
        [0, 3, 1],
        [3, 4, 1],
        [0, 4, 2],
      ],
    });
    expect([...lv.forward]).toEqual([0, 1, 2, 1, 3]);
    expect([...lv.backward]).toEqual([3, 2, 1, 1, 0]);
  });

  it('errors name what is wrong: unknown or reused ParamSpecs, unclaimed ones, dangling nodes', () => {
    const g = new GraphBuilder('t', params);
    const x = g.input();
    expect(() => g.layer('conv', 'nope.weight', [x])).toThrow(/no ParamSpec named 'nope.weight'/);
    g.layer('conv', 'a.weight', [x], 'a.bias');
    expect(() => g.layer('conv', 'a.weight', [x])).toThrow(/used by two nodes/);
    expect(() => g.build()).toThrow(/ParamSpecs with no node: n.weight, n.bias, fc.weight, fc.bias/);
    const h = new GraphBuilder('u', [spec('w', [2, 2]), spec('v', [2, 2])]);
    const i = h.input();
    h.layer('conv', 'w', [i]);
    h.layer('conv', 'v', [i]); // the first layer's output goes nowhere
    expect(() => h.build()).toThrow(GraphError);
    expect(() => h.build()).toThrow(/node 1 \('w'\) does not reach the output/);
    const k = new GraphBuilder('k', params);
    expect(() => k.op('sum', [3])).toThrow(/not an earlier node/);
  });

  it('unsupported layers keep their own init and are listed', () => {
    const g = new GraphBuilder('t', [spec('w', [2, 2]), spec('odd', [5])]);
    g.layer('conv', 'w', [g.input()]);
    g.unsupported('odd', 'strange (Odd)');
    const warnings: string[] = [];
    expect(g.build({ warn: (m) => warnings.push(m) }).unsupported).toEqual(['odd']);
    expect(warnings).toEqual(['t: no GHN-2 primitive for strange (Odd): their parameters keep their own init']);
  });
});

describe('graphs of core nets', () => {
  it('MLP: input → (weight → bias)×L; LeNet: convs with pools; CIFAR ResNet-20: option-A shortcuts are edges', () => {
    const mlp = archGraph(new MLP({ inputSize: 784, hiddenSizes: [100, 50], outputSize: 10 }));
    expect(mlp.nodes.map((n) => `${n.type}:${n.name}`)).toEqual([
      'input:input',
      'conv:fc1.weight',
      'bias:fc1.bias',
      'conv:fc2.weight',
      'bias:fc2.bias',
      'conv:fc3.weight',
      'bias:fc3.bias',
    ]);
    const le = archGraph(lenet5());
    expect(le.nodes.filter((n) => n.type === 'max_pool' || n.type === 'avg_pool').length).toBeGreaterThan(0);
    const r = archGraph(resnet20());
    expect(r.nodes.filter((n) => n.type === 'sum').length).toBe(9);
    expect(r.nodes.filter((n) => n.type === 'bn').length).toBe(19);
    expect(r.nodes.at(-1)!.name).toBe('fc.bias');
    expect(r.nodes.at(-2)!.name).toBe('fc.weight');
    expect(r.unsupported).toEqual([]);
  });
});

describe('graphs of transformers', () => {
  it('pre-norm blocks: ln → qkv → msa → proj → sum → ln → fc1 → fc2 → sum; pos_enc a source; token embeddings unsupported', () => {
    const net = new TransformerEncoder({
      dModel: 16,
      numHeads: 2,
      numBlocks: 2,
      seqLength: 6,
      vocabSize: 30,
      outputSize: 5,
    });
    const g = archGraph(net, { warn: null });
    expect(g.nodes.map((n) => n.type)).toEqual([
      'input',
      'pos_enc',
      'sum',
      'ln',
      'conv',
      'bias',
      'msa',
      'conv',
      'bias',
      'sum',
      'ln',
      'conv',
      'bias',
      'conv',
      'bias',
      'sum',
      'ln',
      'conv',
      'bias',
      'msa',
      'conv',
      'bias',
      'sum',
      'ln',
      'conv',
      'bias',
      'conv',
      'bias',
      'sum',
      'ln',
      'glob_avg',
      'conv',
      'bias',
    ]);
    expect(g.unsupported).toEqual(['embedding.weight']);
    expect(g.nodes[1]!.shape).toEqual([6, 16]);
  });
});

describe("shape encoder (ppuda's vocabularies)", () => {
  const v = shapeVocab(10, 11);
  it('has ppuda’s tables', () => {
    // [1, 3, 10] + 8…56 step 8 + 64…4080 step 16 + 4096…8192 step 32
    expect(v.channels.length).toBe(3 + 7 + 252 + 129);
    expect(v.spatial).toEqual([1, 3, 5, 7, 9, 11, 14, 16]);
  });
  it('maps unseen sizes like ppuda: nearest (ties to the smaller), 4-7 → 8, 2 → 3, beyond → last', () => {
    const ch = (c: number) => v.channels[channelIndex(v, c)];
    expect([ch(64), ch(100), ch(5), ch(2), ch(9000), ch(8192), ch(10)]).toEqual([64, 96, 8, 1, 8192, 8192, 10]);
    const sp = (s: number) => v.spatial[spatialIndex(v, s)];
    expect([sp(2), sp(4), sp(12), sp(13), sp(15), sp(40)]).toEqual([3, 3, 11, 14, 14, 16]);
    expect(channelIndex(shapeVocab(5, 11), 5)).toBe(shapeVocab(5, 11).channels.indexOf(8)); // 4-7 → 8 even when in the table
    expect(shapeTo4d([7])).toEqual([7, 1, 1, 1]);
    expect(shapeTo4d([1, 197, 768])).toEqual([1, 768, 14, 14]);
  });
});

describe('decoder keys and normalisation (ppuda _map_net_params / _normalize)', () => {
  const ms = [64, 64, 11, 11];
  it('groups sizes as min_sz does', () => {
    expect([3, 9, 18, 20, 24, 31, 32, 48, 64, 512].map((n) => groupSize(n, 64))).toEqual([
      4, 12, 24, 20, 64, 31, 64, 64, 64, 64,
    ]);
    expect(decoderKey([64, 3, 7, 7], false, false, ms)).toEqual([64, 4, 7, 7]);
    expect(decoderKey([1000, 512], true, false, ms)).toEqual([64, 64]);
    expect(decoderKey([1000], false, true, ms)).toEqual([64, -1]);
    expect(decoderKey([16], false, false, ms)).toEqual([16, 0]);
    expect(decoderKey([100, 784], false, false, ms)).toEqual([64, 64, 1, 1]);
  });
  it('a parameter of another rank is a ConfigError naming its shape', () => {
    const err = (() => {
      try {
        decoderKey([8, 4, 3], false, false, ms);
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(err)).toBe(true);
    expect((err as Error).message).toMatch(/no GHN-2 decoder for a 3-D parameter \[8, 4, 3\]/);
  });
  it('fan-in scaling with β = 2, or 1 for depthwise / kh < kw kernels; sigmoid/tanh for 1-D', () => {
    expect(normalization([64, 64, 3, 3], true)).toEqual({ kind: 'fan-in', scale: Math.sqrt(2 / 576) });
    expect(normalization([32, 1, 3, 3], true)).toEqual({ kind: 'fan-in', scale: Math.sqrt(1 / 9) });
    expect(normalization([8, 4, 1, 3], true)).toEqual({ kind: 'fan-in', scale: Math.sqrt(1 / 12) });
    expect(normalization([10, 512], true)).toEqual({ kind: 'fan-in', scale: Math.sqrt(2 / 512) });
    expect(normalization([64], true)).toEqual({ kind: 'norm-scale' });
    expect(normalization([64], false)).toEqual({ kind: 'bias' });
    expect(normalization([1, 197, 768], true)).toEqual({ kind: 'none' });
  });
});

describe('graph errors', () => {
  it('GraphError and TrainingError: names, cause, and isInstance that tells them apart and holds across package copies', () => {
    const cause = new Error('inner');
    const g = new GraphError('resnet20', 'node 3 is unreachable', { cause });
    const t = new TrainingError('3 non-finite steps in a row', { cause });
    expect([g.name, g.message, g.cause]).toEqual([
      'GraphError',
      "architecture graph 'resnet20': node 3 is unreachable",
      cause,
    ]);
    expect([t.name, t.cause]).toEqual(['TrainingError', cause]);
    expect([GraphError.isInstance(g), TrainingError.isInstance(g), HypernetsError.isInstance(g)]).toEqual([
      true,
      false,
      true,
    ]);
    expect([GraphError.isInstance(t), TrainingError.isInstance(t), HypernetsError.isInstance(t)]).toEqual([
      false,
      true,
      true,
    ]);
    expect(GraphError.isInstance(new ConfigError('heads', 'x'))).toBe(false);
    const copy = Object.assign(new Error('x'), {
      [Symbol.for('hypernets.error')]: true,
      [Symbol.for('hypernets.error.GraphError')]: true,
    });
    expect(GraphError.isInstance(copy)).toBe(true);
  });
});
