import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors/index.js';
import { forwardRecorded, hostReadsAreSynchronous, recordHostReads, replayHostReads } from './host-reads.js';
import { TransformerEncoder, sinusoidalPositions, type FeedForwardSublayer } from './nets/transformer.js';
import { denseSpecs } from './nets/mlp.js';
import { linear } from './ops/index.js';
import type { ForwardOptions, StagedForward } from './target.js';
import { maxAbsDiff, noisyWeights, useCpu } from './testing/nets.js';

beforeAll(useCpu);

/**
 * A toy value-dependent sublayer: per position, one of two dense layers, chosen by the sign of
 * the position's first feature (read back on the host), the way top-k routing picks experts.
 */
const switchFfn: FeedForwardSublayer = {
  specs: (prefix, d, layer) => [
    ...denseSpecs(`${prefix}.a`, d, d, layer, 'linear'),
    ...denseSpecs(`${prefix}.b`, d, d, layer + 1, 'linear'),
  ],
  *forward(x, w, prefix): StagedForward {
    const [n, t, d] = x.shape as [number, number, number];
    const [signs] = yield {
      site: prefix,
      read: () => [tf.cast(tf.greater(tf.slice(x, [0, 0, 0], [n, t, 1]), 0), 'int32')],
    };
    const mask = tf.reshape(tf.tensor1d(Array.from(signs!), 'float32'), [n, t, 1]);
    const a = linear(x, w(`${prefix}.a.weight`), w(`${prefix}.a.bias`));
    const b = linear(x, w(`${prefix}.b.weight`), w(`${prefix}.b.bias`));
    void d;
    return tf.add(tf.mul(mask, a), tf.mul(tf.sub(1, mask), b));
  },
};

function tinyNet(extra: Partial<ConstructorParameters<typeof TransformerEncoder>[0]> = {}) {
  return new TransformerEncoder({ dModel: 8, numHeads: 2, numBlocks: 2, seqLength: 5, pooling: 'none', ...extra });
}

describe('staged forwards and host reads', () => {
  it('records the reads, replays them under a tape, and the two passes agree', async () => {
    const net = tinyNet({ feedForward: (b) => (b === 1 ? switchFfn : null) });
    expect(net.params.map((p) => p.name)).toContain('blocks.1.mlp.a.weight');
    expect(net.params.map((p) => p.name)).toContain('blocks.0.mlp.fc1.weight');
    const w = noisyWeights(net, 3);
    const x = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 7);
    const { output, log } = await forwardRecorded(net, x, w);
    expect(log.entries.map((e) => e.site)).toEqual(['blocks.1.mlp']);
    expect(log.entries[0]!.values[0]!.length).toBe(15);
    const replayed = net.forward(x, w, { hostReads: log });
    expect(maxAbsDiff(output, replayed)).toBeLessThan(1e-6);
    // Both branches are used on this input, and the gradient reaches only the chosen ones.
    const chosen = Array.from(log.entries[0]!.values[0]!);
    expect(new Set(chosen).size).toBe(2);
    const vars = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tf.variable(v, true, `hr.${k}`)]));
    const { grads, value } = tf.variableGrads(() => tf.sum(net.forward(x, vars, { hostReads: log })) as tf.Scalar);
    expect(Math.abs((await value.data())[0]! - (await tf.sum(output).data())[0]!)).toBeLessThan(1e-4);
    expect(tf.sum(tf.abs(grads['hr.blocks.1.mlp.a.weight']!)).arraySync()).toBeGreaterThan(0);
    expect(tf.sum(tf.abs(grads['hr.blocks.1.mlp.b.weight']!)).arraySync()).toBeGreaterThan(0);
    tf.dispose([output, replayed, value, x, ...Object.values(grads), ...Object.values(vars), ...Object.values(w)]);
  });

  it('reads synchronously on a host-memory backend only; refuses a log recorded elsewhere', async () => {
    const net = tinyNet({ feedForward: switchFfn });
    const w = noisyWeights(net, 4);
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 8);
    const { output, log } = await forwardRecorded(net, x, w);
    // cpu keeps tensors in host memory: forward reads there and then, in one pass, and agrees.
    expect(hostReadsAreSynchronous()).toBe(true);
    const direct = net.forward(x, w);
    expect(maxAbsDiff(direct, output)).toBeLessThan(1e-6);
    direct.dispose();
    // Where reads cannot be synchronous (webgpu), a staged forward without its log is refused, not read.
    let reads = 0;
    expect(() =>
      tf.tidy(() => replayHostReads(net.forwardStaged(x, w, {}), undefined, 'TransformerEncoder', false)),
    ).toThrow(/cannot do synchronously: run recordHostReads/);
    function* counting(): StagedForward {
      yield { site: 's', read: () => (reads++, [tf.zeros([1])]) };
      return tf.scalar(0);
    }
    expect(() => replayHostReads(counting(), undefined, 'counting', false)).toThrow(ConfigError);
    expect(reads).toBe(0);
    expect(log.entries.map((e) => e.site)).toEqual(['blocks.0.mlp', 'blocks.1.mlp']);
    expect(() => net.forward(x, w, { hostReads: { entries: log.entries.slice(0, 1) } })).toThrow(/holds only 1/);
    expect(() => net.forward(x, w, { hostReads: { entries: [...log.entries, log.entries[0]!] } })).toThrow(
      /made 2 reads but the log holds 3/,
    );
    const swapped = {
      entries: [log.entries[1]!, log.entries[0]!].map((e, i) => ({ ...e, site: i === 0 ? 'x' : e.site })),
    };
    expect(() => net.forward(x, w, { hostReads: swapped })).toThrow(/has 'x' there/);
    tf.dispose([output, x, ...Object.values(w)]);
  });

  it('leaves no tensor behind, also when the staged forward throws', async () => {
    const net = tinyNet({ feedForward: switchFfn });
    const w = noisyWeights(net, 5);
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 9);
    const before = tf.memory().numTensors;
    const { output } = await forwardRecorded(net, x, w);
    expect(tf.memory().numTensors).toBe(before + 1);
    output.dispose();
    function* failing(): StagedForward {
      tf.ones([3]);
      yield { site: 's', read: () => [tf.zeros([1])] };
      throw new ConfigError('x', 'fails after a read');
    }
    await expect(recordHostReads(failing)).rejects.toThrow(/fails after a read/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ...Object.values(w)]);
  });

  it('replays nothing for a net that never reads', () => {
    // eslint-disable-next-line require-yield
    function* plain(): StagedForward {
      return tf.scalar(2);
    }
    const y = replayHostReads(plain(), undefined, 'plain');
    expect(y.arraySync()).toBe(2);
    y.dispose();
  });
});

describe('TransformerEncoder feed-forward options', () => {
  it("ffActivation 'relu' equals the same MLP written as a feedForward sublayer", () => {
    const mlp: FeedForwardSublayer = {
      specs: (prefix, d, layer) => [
        ...denseSpecs(`${prefix}.fc1`, d, 32, layer, 'relu'),
        ...denseSpecs(`${prefix}.fc2`, 32, d, layer + 1, 'linear'),
      ],
      // eslint-disable-next-line require-yield
      *forward(x, w, prefix, _options: ForwardOptions) {
        return linear(
          tf.relu(linear(x, w(`${prefix}.fc1.weight`), w(`${prefix}.fc1.bias`))),
          w(`${prefix}.fc2.weight`),
          w(`${prefix}.fc2.bias`),
        );
      },
    };
    const a = tinyNet({ ffActivation: 'relu', ffSize: 32 });
    const b = tinyNet({ feedForward: mlp });
    expect(b.params.map((p) => [p.name, p.shape])).toEqual(a.params.map((p) => [p.name, p.shape]));
    const w = noisyWeights(a, 6);
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 10);
    const ya = a.forward(x, w);
    const yb = b.forward(x, w);
    expect(maxAbsDiff(ya, yb)).toBeLessThan(1e-6);
    const gelu = tinyNet({ ffSize: 32 }).forward(x, w);
    expect(maxAbsDiff(ya, gelu)).toBeGreaterThan(1e-3);
    tf.dispose([x, ya, yb, gelu, ...Object.values(w)]);
  });

  it('sinusoidal positions follow Vaswani et al. and add no weights', () => {
    const ref = sinusoidalPositions(6, 4).arraySync() as number[][];
    for (let pos = 0; pos < 6; pos++)
      for (let i = 0; i < 4; i += 2) {
        const angle = pos / 10000 ** (i / 4);
        expect(ref[pos]![i]).toBeCloseTo(Math.sin(angle), 6);
        expect(ref[pos]![i + 1]).toBeCloseTo(Math.cos(angle), 6);
      }
    const one = (positionalEmbedding: boolean | 'sinusoidal') =>
      new TransformerEncoder({
        dModel: 8,
        numHeads: 2,
        numBlocks: 1,
        seqLength: 5,
        pooling: 'none',
        vocabSize: 11,
        positionalEmbedding,
        finalNorm: false,
      });
    const sin = one('sinusoidal');
    const none = one(false);
    expect(sin.params.map((p) => p.name)).toEqual(none.params.map((p) => p.name));
    const w = noisyWeights(none, 8);
    // Zero both sublayers' output projections: the encoder returns its input, E[id] (+ PE[t]).
    for (const p of none.params)
      if (/^blocks\.0\.(attn\.proj|mlp\.fc2)\./.test(p.name)) {
        w[p.name]!.dispose();
        w[p.name] = tf.zeros(p.shape as number[]);
      }
    const ids = tf.tensor2d([[1, 2, 3, 1, 2]], [1, 5], 'int32');
    const diff = tf.sub(sin.forward(ids, w), none.forward(ids, w));
    const table = tf.expandDims(sinusoidalPositions(5, 8), 0);
    expect(maxAbsDiff(diff, table)).toBeLessThan(1e-6);
    expect(() => tinyNet({ positionalEmbedding: 'rotary' as never })).toThrow(ConfigError);
    tf.dispose([ids, diff, table, ...Object.values(w)]);
  });

  it('refuses a bad feedForward or ffActivation', () => {
    expect(() => tinyNet({ feedForward: {} as never })).toThrow(/FeedForwardSublayer/);
    expect(() => tinyNet({ ffActivation: 'swish' as never })).toThrow(ConfigError);
    const outside: FeedForwardSublayer = {
      ...switchFfn,
      specs: (_p, d, layer) => denseSpecs('rogue', d, d, layer, 'linear'),
    };
    expect(() => tinyNet({ feedForward: outside })).toThrow(/outside 'blocks.0.mlp.'/);
  });
});
