import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, initBackend } from '@hypernets/core';
import { GHN2 } from '../ghn2.js';
import {
  ARCH_FAMILIES,
  ArchSampler,
  SPLITS,
  canonicalKey,
  type ArchFamily,
  type SampledArch,
  type ArchSamplerConfig,
} from './sampler.js';

// wasm: GHN-2 on ~20 graphs and the nets' forward passes take ~25 s on cpu, ~3 s here
beforeAll(async () => {
  await initBackend('wasm');
});

const sampler = new ArchSampler();
const train = sampler.ranges('train');

/** Whether a sample's depth / width lie inside the training ranges of its family. */
function inTrainRanges(s: SampledArch): { depth: boolean; width: boolean } {
  const between = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;
  switch (s.family) {
    case 'mlp':
      return {
        depth: between(s.info.depth, train.mlp.depth),
        width: s.spec.family === 'mlp' && s.spec.hidden.every((w) => between(w, train.mlp.width)),
      };
    case 'cnn':
      return {
        depth: between(s.info.depth, train.cnn.depth),
        width: s.spec.family === 'cnn' && s.spec.convs.every((c) => between(c.filters, train.cnn.width)),
      };
    case 'resnet':
      return {
        depth: s.spec.family === 'resnet' && between(s.spec.blocks, train.resnet.blocks),
        width: between(s.info.width, train.resnet.width),
      };
    case 'cellnet':
      return {
        depth: between(s.info.depth, train.cellnet.cells),
        width: between(s.info.width, train.cellnet.channels),
      };
  }
}

describe('ArchSampler', () => {
  it('validates its config, naming the field', () => {
    const bad = (cfg: unknown, field: string) =>
      expect(() => new ArchSampler(cfg as ArchSamplerConfig)).toThrow(
        new RegExp(`'${field.replace(/[.[\]]/g, '\\$&')}'`),
      );
    bad({ inputShape: [28, 28] }, 'inputShape');
    bad({ cellnet: { stemMultiplier: 0 } }, 'cellnet.stemMultiplier');
    bad({ families: { vit: 1 } }, 'families.vit');
    bad({ families: { mlp: -1 } }, 'families.mlp');
    bad({ families: { mlp: 0, cnn: 0, cellnet: 0, resnet: 0 } }, 'families');
    bad({ mlp: { width: [32, 100] } }, 'mlp.width');
    bad({ cellnet: { cells: [3, 2] } }, 'cellnet.cells');
    bad({ cellnet: { channels: [6, 16] } }, 'cellnet.channels');
    bad({ cellnet: { ops: ['conv_3x3', 'zero'] } }, 'cellnet.ops[1]');
    bad({ cellnet: { ops: ['max_pool_3x3', 'skip_connect'] } }, 'cellnet.ops');
    bad({ testFraction: 1 }, 'testFraction');
    bad({ sMax: 0 }, 'sMax');
    expect(() => new ArchSampler({ families: { cellnet: 0 } }).split('dense', 1)).toThrow(ConfigError);
    expect(() => sampler.split('huge' as 'train', 1)).toThrow(/'split'/);
  });

  it('is deterministic: same seed, same architectures', () => {
    const a = sampler.split('train', 12, 7).map((s) => s.id);
    const b = sampler.split('train', 12, 7).map((s) => s.id);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(12);
    expect(sampler.split('train', 12, 8).map((s) => s.id)).not.toEqual(a);
    expect(sampler.sample(new Rng(5)).id).toBe(sampler.sample(new Rng(5)).id);
    // the id is the canonical spec's: rebuilding a spec gives the same id and parameters
    const s = sampler.sample(new Rng(6));
    const again = sampler.build(JSON.parse(JSON.stringify(s.spec)));
    expect(again.id).toBe(s.id);
    expect(again.net.params.map((p) => p.name)).toEqual(s.net.params.map((p) => p.name));
  });

  it('keeps test architectures out of training (disjoint by a hash of the canonical spec)', () => {
    const rng = new Rng(11);
    const trainKeys = new Set(Array.from({ length: 3000 }, () => canonicalKey(sampler.sampleSpec(rng, 'train'))));
    const testSpecs = Array.from({ length: 300 }, () => sampler.sampleSpec(rng, 'test'));
    expect(testSpecs.every((s) => sampler.isTestArch(s))).toBe(true);
    expect(testSpecs.filter((s) => trainKeys.has(canonicalKey(s)))).toEqual([]);
    const trainIds = new Set(sampler.split('train', 30, 1).map((s) => s.id));
    expect(sampler.split('test', 30, 1).filter((s) => trainIds.has(s.id))).toEqual([]);
    // the same distribution: every family, and in-distribution ranges
    const fams = new Set(testSpecs.map((s) => s.family));
    expect([...fams].sort()).toEqual([...ARCH_FAMILIES].sort());
    // the hash puts about testFraction of all architectures on the test side ('wide' draws are not filtered by it)
    const r2 = new Rng(12);
    const share =
      Array.from({ length: 2000 }, () => sampler.isTestArch(sampler.sampleSpec(r2, 'wide'))).filter(Boolean).length /
      2000;
    expect(share).toBeGreaterThan(0.05);
    expect(share).toBeLessThan(0.2);
  });

  it('draws the training families in their ranges, CellNets the bulk', () => {
    const samples = sampler.split('train', 40, 3);
    const count = (f: ArchFamily) => samples.filter((s) => s.family === f).length;
    expect(count('cellnet')).toBeGreaterThan(20);
    for (const s of samples) {
      expect(inTrainRanges(s), s.id).toEqual({ depth: true, width: true });
      if (s.family === 'cellnet') {
        expect(s.info.bn).toBe(true);
        expect(s.info.steps).toBeLessThanOrEqual(train.cellnet.steps[1]);
      }
      expect(s.info.params).toBeGreaterThan(0);
      expect(s.graph.nodes.length).toBe(s.info.nodes);
    }
  });

  it('OOD splits lie outside the training ranges', () => {
    // wide: every layer wider than the training maximum of its kind
    for (const s of sampler.split('wide', 16, 1)) {
      const sp = s.spec;
      const wider =
        sp.family === 'mlp'
          ? sp.hidden.every((w) => w > train.mlp.width[1])
          : sp.family === 'cnn'
            ? sp.convs.every((c) => c.filters > train.cnn.width[1])
            : sp.family === 'resnet'
              ? sp.widths.every((w, i) => w > train.resnet.width[1] * 2 ** i) // training stages grow by ≤ 2
              : sp.channels > train.cellnet.channels[1];
      expect(wider, s.id).toBe(true);
      expect(inTrainRanges(s).depth, s.id).toBe(true);
    }
    const deepMax = {
      mlp: train.mlp.depth[1],
      cnn: train.cnn.depth[1],
      resnet: 6 * train.resnet.blocks[1] + 2,
      cellnet: train.cellnet.cells[1],
    };
    for (const s of sampler.split('deep', 16, 1)) {
      expect(s.info.depth, s.id).toBeGreaterThan(deepMax[s.family]);
      expect(inTrainRanges(s).width, s.id).toBe(true);
    }
    for (const s of sampler.split('dense', 8, 1)) {
      expect(s.family).toBe('cellnet');
      expect(s.info.steps).toBeGreaterThan(train.cellnet.steps[1]);
    }
    for (const s of sampler.split('bn-free', 8, 1)) {
      expect(s.family).toBe('cellnet');
      expect(s.info.bn).toBe(false);
      expect(s.net.params.some((p) => p.kind === 'norm-scale' || p.kind === 'norm-shift')).toBe(false);
      expect(s.graph.nodes.some((n) => n.type === 'bn')).toBe(false);
    }
  });

  it('GHN-2 predicts every parameter of every family and split; the nets run on them; nothing leaks', () => {
    const archs: SampledArch[] = [];
    for (const f of ARCH_FAMILIES)
      archs.push(
        new ArchSampler({ families: { mlp: 0, cnn: 0, cellnet: 0, resnet: 0, [f]: 1 } }).split('train', 1, 5)[0]!,
      );
    for (const split of SPLITS) archs.push(...sampler.split(split, 2, 2));
    for (const split of ['wide', 'deep'] as const)
      archs.push(new ArchSampler({ families: { mlp: 1, cnn: 1, resnet: 1, cellnet: 0 } }).split(split, 3, 4)[0]!);
    const ghn = new GHN2({ numClasses: 10 });
    const x = new Rng(9).normal([2, 28, 28, 1]);
    const before = tf.memory().numTensors;
    const preds = ghn.predict(archs.map((a) => a.graph));
    archs.forEach((a, i) => {
      const p = preds[i]!;
      expect(p.missing, a.id).toEqual([]);
      for (const spec of a.net.params) {
        const w = p.weights[spec.name]!;
        expect(w.shape, `${a.id} ${spec.name}`).toEqual(spec.shape);
        expect(
          tf.tidy(() => tf.all(tf.isFinite(w)).dataSync()[0]),
          `${a.id} ${spec.name}`,
        ).toBe(1);
      }
      const y = tf.tidy(() => a.net.forward(x, p.weights, { training: true }));
      expect(y.shape).toEqual([2, 10]);
      expect(Array.from(y.dataSync()).every(Number.isFinite), a.id).toBe(true);
      y.dispose();
    });
    preds.forEach((p) => tf.dispose(Object.values(p.weights)));
    expect(tf.memory().numTensors).toBe(before);
    const fams = new Set(archs.map((a) => a.family));
    expect(fams.size).toBe(4);
    x.dispose();
    ghn.dispose();
  });
});
