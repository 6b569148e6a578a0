import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MLP, TransformerEncoder, initBackend, lenet5, paramSpec, resnet20, type ParamSpec } from '@hypernets/core';
import { GHN2 } from './ghn2.js';
import { batchGraphs } from './batch.js';
import { archGraph } from './describe.js';
import { GraphBuilder, type ArchGraph } from './graph.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** ppuda's GatedGNN as it is written: one node at a time, forward then backward (reference). */
function sequentialGnn(ghn: GHN2, x: tf.Tensor2D, g: ArchGraph): tf.Tensor2D {
  const w = ghn.ownWeights();
  const H = ghn.config.hid;
  const lin = (t: tf.Tensor, n: string) => tf.add(tf.matMul(t, w[`${n}.weight`]!, false, true), w[`${n}.bias`]!);
  const mlp = (t: tf.Tensor, n: string) => tf.relu(lin(tf.relu(lin(t, `${n}.fc.0`)), `${n}.fc.2`));
  const cell = (m: tf.Tensor, h: tf.Tensor) => {
    const gi = tf.add(tf.matMul(m, w['gnn.gru.weight_ih']!, false, true), w['gnn.gru.bias_ih']!);
    const gh = tf.add(tf.matMul(h, w['gnn.gru.weight_hh']!, false, true), w['gnn.gru.bias_hh']!);
    const part = (t: tf.Tensor, k: number) => tf.slice(t, [0, k * H], [-1, H]);
    const r = tf.sigmoid(tf.add(part(gi, 0), part(gh, 0)));
    const z = tf.sigmoid(tf.add(part(gi, 1), part(gh, 1)));
    const n = tf.tanh(tf.add(part(gi, 2), tf.mul(r, part(gh, 2))));
    return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
  };
  return tf.tidy(() => {
    const h = tf.unstack(x).map((r) => tf.reshape(r, [1, H]));
    for (const forward of [true, false]) {
      const order = g.nodes.map((_, i) => i);
      if (!forward) order.reverse();
      for (const v of order) {
        let m: tf.Tensor = tf.zeros([1, H]);
        for (const [a, b, d] of g.edges) {
          const src = forward ? (b === v ? a : -1) : a === v ? b : -1;
          if (src < 0) continue;
          if (d === 1) m = tf.add(m, mlp(h[src]!, 'gnn.mlp'));
          m = tf.add(m, tf.div(mlp(h[src]!, 'gnn.mlp_ve'), d));
        }
        h[v] = cell(m, h[v]!);
      }
    }
    return tf.concat(h, 0) as tf.Tensor2D;
  });
}

function maxRel(a: tf.Tensor, b: tf.Tensor): number {
  const d = tf.tidy(
    () => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / Math.max(1e-12, tf.max(tf.abs(b)).dataSync()[0]!),
  );
  return d;
}

describe('GHN2', () => {
  it('the level-by-level sweeps equal ppuda’s node-by-node loop, for a batch of graphs', () => {
    const ghn = new GHN2({ seed: 3 });
    const graphs = [
      archGraph(resnet20()),
      archGraph(new MLP({ inputSize: 20, hiddenSizes: [16, 16], outputSize: 10 })),
      archGraph(lenet5()),
    ];
    const batch = batchGraphs(graphs, ghn.vocab, ghn.config.sMax);
    const x = ghn.embedNodes(batch);
    const ours = ghn.propagate(x, batch);
    let off = 0;
    for (const g of graphs) {
      const n = g.nodes.length;
      const xi = tf.slice(x, [off, 0], [n, -1]) as tf.Tensor2D;
      const ref = sequentialGnn(ghn, xi, g);
      const mine = tf.slice(ours, [off, 0], [n, -1]);
      expect(maxRel(mine, ref), g.name).toBeLessThan(1e-5);
      tf.dispose([xi, ref, mine]);
      off += n;
    }
    // the sweeps really change the embeddings (a no-op would also "match" a buggy reference)
    expect(maxRel(ours, x)).toBeGreaterThan(0.1);
    tf.dispose([x, ours]);
    ghn.dispose();
  });

  it('predicting a batch of graphs equals predicting each alone, with no tensors left behind', () => {
    const ghn = new GHN2({ seed: 1 });
    const nets = [resnet20(), new MLP({ inputSize: 30, hiddenSizes: [40], outputSize: 10 })];
    const graphs = nets.map((n) => archGraph(n));
    const before = tf.memory().numTensors;
    const both = ghn.predict(graphs);
    nets.forEach((net, i) => {
      const [alone] = ghn.predict(graphs[i]!);
      for (const s of net.params) {
        expect(both[i]!.weights[s.name]!.shape, s.name).toEqual(s.shape);
        expect(maxRel(both[i]!.weights[s.name]!, alone!.weights[s.name]!), s.name).toBeLessThan(1e-6);
      }
      tf.dispose(Object.values(alone!.weights));
    });
    for (const p of both) tf.dispose(Object.values(p.weights));
    expect(tf.memory().numTensors).toBe(before);
    ghn.dispose();
  });

  it('predicted weights have GHN-2’s normalised scales: fan-in std for weights, (0, 2) norm scales, (−1, 1) biases', () => {
    const ghn = new GHN2({ seed: 2 });
    const net = resnet20();
    const [p] = ghn.predict(archGraph(net));
    for (const s of net.params) {
      const v = p!.weights[s.name]!.dataSync();
      if (s.kind === 'norm-scale')
        expect(
          v.every((a) => a > 0 && a < 2),
          s.name,
        ).toBe(true);
      if (s.kind === 'bias' || s.kind === 'norm-shift')
        expect(
          v.every((a) => a > -1 && a < 1),
          s.name,
        ).toBe(true);
    }
    tf.dispose(Object.values(p!.weights));
    ghn.dispose();
  });

  it('gradients through prediction (decoders, tiling, normalisation, GNN) match finite differences', () => {
    const ghn = new GHN2({ hid: 8, maxShape: [8, 8, 3, 3], numClasses: 3, seed: 5 });
    const net = new MLP({ inputSize: 12, hiddenSizes: [5], outputSize: 4 }); // 12 > 8 and 4 > 3: tiling on both axes
    const g = archGraph(net);
    const R = Object.fromEntries(
      net.params.map((s, i) => [s.name, tf.randomNormal([...s.shape], 0, 1, 'float32', 100 + i)]),
    );
    const loss = () => {
      const [p] = ghn.predict(g);
      return tf.addN(net.params.map((s) => tf.sum(tf.mul(p!.weights[s.name]!, R[s.name]!)))) as tf.Scalar;
    };
    const names = [
      'embed.weight',
      'shape_enc.embed_channel.weight',
      'gnn.mlp_ve.fc.0.weight',
      'gnn.gru.weight_hh',
      'ln.weight',
      'decoder.fc.0.weight',
      'decoder.conv.2.bias',
      'decoder.class_layer_predictor.1.weight',
      'decoder_1d.fc.2.weight',
      'bias_class.1.bias',
    ];
    const own = ghn.ownWeights();
    const vars = names.map((n) => own[n] as tf.Variable);
    const { grads } = tf.variableGrads(loss, vars);
    let checked = 0;
    for (const v of vars) {
      const gv = grads[v.name]!.dataSync();
      const base = v.dataSync().slice();
      // the coordinate with the largest gradient (a zero gradient would pass trivially)
      let k = 0;
      for (let i = 1; i < gv.length; i++) if (Math.abs(gv[i]!) > Math.abs(gv[k]!)) k = i;
      // at 1e-2 one coordinate's curvature put the difference 4% off; at 1e-3 it is within 0.1%
      const eps = 1e-3 * Math.max(1, Math.abs(base[k]!));
      const at = (delta: number) => {
        const b = base.slice();
        b[k] = b[k]! + delta;
        v.assign(tf.tensor(b, v.shape));
        return tf.tidy(() => loss().dataSync()[0]!);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      expect(Math.abs(gv[k]!), v.name).toBeGreaterThan(1e-4);
      expect(Math.abs(fd - gv[k]!) / Math.abs(gv[k]!), `${v.name}[${k}]: fd ${fd} vs ${gv[k]}`).toBeLessThan(2e-2);
      checked++;
    }
    expect(checked).toBe(names.length);
    tf.dispose([...Object.values(grads), ...Object.values(R)]);
    ghn.dispose();
  });

  it("depthwise kernels are predicted as PyTorch's grouped conv [C, 1, k, k] and laid out as tfjs [k, k, C, 1]", () => {
    const ghn = new GHN2({ seed: 4 });
    const mk = (name: string, shape: number[]): ParamSpec =>
      paramSpec({ name, shape, kind: 'weight', layer: 0, fanIn: 9, fanOut: 9 });
    const build = (depthwise: boolean) => {
      const specs = [mk('dw.weight', depthwise ? [3, 3, 8, 1] : [3, 3, 1, 8]), mk('fc.weight', [8, 10])];
      const b = new GraphBuilder('dw', specs);
      let h = b.layer('sep_conv', 'dw.weight', [b.input()], null, { depthwise });
      h = b.op('glob_avg', [h]);
      b.layer('conv', 'fc.weight', [h]);
      return b.build();
    };
    const gd = build(true);
    expect(gd.nodes[1]!.shape).toEqual([8, 1, 3, 3]);
    const [pd] = ghn.predict(gd);
    const [pc] = ghn.predict(build(false)); // same node shape [8, 1, 3, 3]: same prediction, other layout
    expect(pd!.weights['dw.weight']!.shape).toEqual([3, 3, 8, 1]);
    expect(maxRel(pd!.weights['dw.weight']!, tf.reshape(pc!.weights['dw.weight']!, [3, 3, 8, 1]))).toBe(0);
    tf.dispose([...Object.values(pd!.weights), ...Object.values(pc!.weights)]);
    ghn.dispose();
  });

  it('predicts a transformer encoder (all but the token embedding) that runs with finite logits', () => {
    const ghn = new GHN2({ seed: 6 });
    const net = new TransformerEncoder({
      dModel: 16,
      numHeads: 2,
      numBlocks: 2,
      seqLength: 6,
      inputSize: 8,
      outputSize: 5,
    });
    const [p] = ghn.predict(archGraph(net));
    expect(p!.missing).toEqual([]);
    const y = net.forward(tf.randomNormal([3, 6, 8], 0, 1, 'float32', 2), p!.weights);
    expect(y.shape).toEqual([3, 5]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([y, ...Object.values(p!.weights)]);
    ghn.dispose();
  });

  it('rejects bad configs with the field named', () => {
    expect(() => new GHN2({ hid: 30 })).toThrow(/'hid'/);
    expect(() => new GHN2({ maxShape: [64, 64, 3, 5] })).toThrow(/'maxShape'/);
    expect(() => new GHN2({ virtualEdges: 0 })).toThrow(/'virtualEdges'/);
  });
});

describe('GHN2 kernels larger than maxShape', () => {
  it('repeat the decoded kernel 2×2 as ppuda does, differentiably', () => {
    const ghn = new GHN2({ hid: 8, maxShape: [8, 8, 3, 3], numClasses: 3, seed: 7 });
    const mk = (name: string, shape: number[]): ParamSpec =>
      paramSpec({ name, shape, kind: 'weight', layer: 0, fanIn: 4, fanOut: 4 });
    const b = new GraphBuilder('big', [mk('c.weight', [5, 5, 2, 4]), mk('fc.weight', [4, 3])]);
    let h = b.layer('conv', 'c.weight', [b.input()]);
    h = b.op('glob_avg', [h]);
    b.layer('conv', 'fc.weight', [h]);
    const g = b.build();
    const own = ghn.ownWeights();
    const { value, grads } = tf.variableGrads(() => {
      const [p] = ghn.predict(g);
      const w = p!.weights['c.weight']!; // [5, 5, 2, 4] from a 3×3 prediction repeated to 6×6, cropped
      // rows 3-4 repeat rows 0-1 (the 2×2 repeat), so this difference is 0
      const d = tf.sum(
        tf.abs(tf.sub(tf.slice(w, [3, 0, 0, 0], [2, 5, 2, 4]), tf.slice(w, [0, 0, 0, 0], [2, 5, 2, 4]))),
      );
      expect(d.dataSync()[0]).toBe(0);
      return tf.sum(tf.square(w)) as tf.Scalar;
    }, [own['decoder.conv.2.weight'] as tf.Variable]);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    expect(tf.max(tf.abs(grads['decoder.conv.2.weight'] ?? Object.values(grads)[0]!)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([value, ...Object.values(grads)]);
    ghn.dispose();
  });
});
