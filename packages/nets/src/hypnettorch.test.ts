/**
 * HyperMLP and ChunkedHyperMLP against their anchor, hypnettorch's HMLP and ChunkedHMLP: the
 * fixture (`fixtures/hypnettorch.json`, written by `scripts/hypnettorch_fixture.py` from a
 * hypnettorch checkout, commit recorded in it) holds hypnettorch's parameters and its outputs
 * for given conditions; ours gets the same parameters and must give the same outputs.
 *
 * Parameter mapping (hypnettorch → ours):
 * - condition embeddings: one [E] parameter per condition → `embeddings` [N, E];
 * - chunk embeddings: [K, C] shared → `chunkEmbeddings` [K, C]; one [K, C] per condition
 *   (`cond_chunk_embs`) → [N, K, C] (`chunkEmbeddingsPerCondition`);
 * - linear layers: nn.Linear weights [out, in] → ours [in, out] (transposed), biases as they are;
 *   hidden layers fc1 … fcL, then `out`;
 * - the chunked trunk's first layer: hypnettorch's HMLP reads [uncond_input ; cond_input] and
 *   ChunkedHMLP passes the chunk embedding as uncond_input, so its columns are
 *   [chunk embedding (C) ; condition (E)]; ours reads [condition ; chunk embedding]: the two
 *   blocks of rows swap.
 * Outputs: hypnettorch lays each generated tensor out in PyTorch's shape (linear [out, in],
 * conv [cout, cin, kh, kw]), which ours does with `flatOrder: 'torch'`; the flat output [B, P]
 * is compared as it is, the per-tensor output of `generate` after `toTorchLayout`.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  CNN,
  MLP,
  initBackend,
  toTorchLayout,
  torchShape,
  type Activation,
  type CNNConfig,
  type MLPConfig,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { ChunkedHyperMLP } from './chunked.js';
import type { MLPHyperNetBase } from './base.js';
import type { Condition } from './hypernet.js';

interface Param {
  name: string;
  shape: number[];
  values: number[];
}
interface Case {
  name: string;
  kind: 'HMLP' | 'ChunkedHMLP';
  target: string;
  cond_in_size: number;
  layers: number[];
  activation: Activation;
  num_cond_embs?: number;
  chunk_size?: number;
  chunk_emb_size?: number;
  cond_chunk_embs?: boolean;
  num_outputs: number;
  num_chunks: number | null;
  trunk_input: ('chunk_emb' | 'cond')[];
  params: Param[];
  condition: { ids: number[] } | { input: number[][] };
  flat: number[][];
  tensors: number[][][];
}
interface Fixture {
  hypnettorch_commit: string;
  torch_version: string;
  targets: Record<string, { type: 'MLP' | 'CNN'; config: unknown; torch_shapes: number[][] }>;
  cases: Case[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/hypnettorch.json', import.meta.url), 'utf8')) as Fixture;
const TOL = 1e-5;

beforeAll(async () => {
  await initBackend('cpu');
});

function makeTarget(name: string): TargetNet {
  const t = fixture.targets[name]!;
  return t.type === 'MLP' ? new MLP(t.config as MLPConfig) : new CNN(t.config as CNNConfig);
}

function makeNet(c: Case, target: TargetNet): MLPHyperNetBase {
  const cond =
    'ids' in c.condition
      ? { numConditions: c.num_cond_embs!, embeddingSize: c.cond_in_size }
      : { conditionSize: c.cond_in_size };
  const common = {
    target,
    ...cond,
    hiddenSizes: c.layers,
    activation: c.activation,
    flatOrder: 'torch' as const,
    name: c.name,
  };
  if (c.kind === 'HMLP') return new HyperMLP(common);
  return new ChunkedHyperMLP({
    ...common,
    chunkSize: c.chunk_size!,
    chunkEmbeddingSize: c.chunk_emb_size!,
    chunkEmbeddingsPerCondition: c.cond_chunk_embs!,
  });
}

/** hypnettorch's parameters (PyTorch layout) → ours, by ParamSpec name (see the mapping above). */
function mapParams(c: Case): Weights {
  return tf.tidy(() => {
    const t = (p: Param) => tf.tensor(p.values, p.shape, 'float32');
    const of = (prefix: string) => c.params.filter((p) => p.name.startsWith(prefix));
    const w: Weights = {};
    const cond = of('cond_emb.');
    if (cond.length) w.embeddings = tf.stack(cond.map(t));
    const chunk = of('chunk_emb');
    if (chunk.length) w.chunkEmbeddings = c.cond_chunk_embs ? tf.stack(chunk.map(t)) : t(chunk[0]!);
    const layers = [...c.layers.map((_, l) => `fc${l + 1}`), 'out'];
    layers.forEach((layer, l) => {
      const weight = c.params.find((p) => p.name === `${layer}.weight`)!;
      let wt = tf.transpose(t(weight)); // [out, in] → [in, out]
      if (l === 0 && c.trunk_input[0] === 'chunk_emb') {
        const C = c.chunk_emb_size!;
        const rows = wt.shape[0]!;
        wt = tf.concat([tf.slice(wt, [C, 0], [rows - C, -1]), tf.slice(wt, [0, 0], [C, -1])], 0);
      }
      w[`${layer}.weight`] = wt;
      w[`${layer}.bias`] = t(c.params.find((p) => p.name === `${layer}.bias`)!);
    });
    return w;
  });
}

function conditionOf(c: Case): { x: tf.Tensor; condition: Condition } {
  if ('ids' in c.condition) return { x: tf.tensor1d(c.condition.ids, 'int32'), condition: { id: c.condition.ids } };
  const x = tf.tensor2d(c.condition.input);
  return { x, condition: { input: x } };
}

/** Largest |a − b| and where, for error messages. */
function worst(a: ArrayLike<number>, b: readonly number[]): { diff: number; at: number } {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let at = -1;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) [diff, at] = [d, i]; // NaN counts as worst
  }
  return { diff, at };
}

describe(`hypnettorch fixture (commit ${fixture.hypnettorch_commit.slice(0, 12)}, torch ${fixture.torch_version})`, () => {
  it('covers both hypernetworks, ids and external inputs, MLP and CNN targets', () => {
    const kinds = new Set(fixture.cases.map((c) => `${c.kind}/${'ids' in c.condition ? 'ids' : 'input'}/${c.target}`));
    expect(kinds.size).toBe(fixture.cases.length);
    expect(fixture.cases.some((c) => c.cond_chunk_embs)).toBe(true);
  });

  for (const c of fixture.cases) {
    it(`${c.name}: same outputs as hypnettorch's ${c.kind} within ${TOL}`, async () => {
      const target = makeTarget(c.target);
      // The target's torch shapes are the target_shapes hypnettorch generated for.
      expect(target.params.map(torchShape)).toEqual(fixture.targets[c.target]!.torch_shapes);
      const net = makeNet(c, target);
      expect(net.numTargetParams).toBe(c.num_outputs);
      if (c.kind === 'ChunkedHMLP') expect((net as ChunkedHyperMLP).numChunks).toBe(c.num_chunks);

      const mapped = mapParams(c);
      const own = net.ownWeights();
      expect(Object.keys(mapped).sort()).toEqual(net.params.map((s) => s.name).sort());
      for (const s of net.params) {
        expect(mapped[s.name]!.shape, s.name).toEqual([...s.shape]);
        (own[s.name] as tf.Variable).assign(mapped[s.name]!);
      }
      tf.dispose(mapped);

      const n0 = tf.memory().numTensors;
      const { x, condition } = conditionOf(c);
      // flat output [B, P], in PyTorch layout within each tensor (flatOrder 'torch')
      const flat = net.forward(x, net.ownWeights());
      expect(flat.shape).toEqual([c.flat.length, c.num_outputs]);
      const got = await flat.data();
      const B = c.flat.length;
      for (let b = 0; b < B; b++) {
        const { diff, at } = worst(got.subarray(b * c.num_outputs, (b + 1) * c.num_outputs), c.flat[b]!);
        expect(diff, `${c.name}: flat output, sample ${b}, entry ${at}`).toBeLessThanOrEqual(TOL);
      }
      // per-tensor output of generate (batched [B, ...shape]), compared in PyTorch layout
      const gen = net.generate(condition);
      for (const [i, spec] of target.params.entries()) {
        const torchT = toTorchLayout(spec, gen[spec.name]!);
        const data = await torchT.data();
        torchT.dispose();
        const size = data.length / B;
        for (let b = 0; b < B; b++) {
          const { diff, at } = worst(data.subarray(b * size, (b + 1) * size), c.tensors[b]![i]!);
          expect(diff, `${c.name}: ${spec.name}, sample ${b}, entry ${at}`).toBeLessThanOrEqual(TOL);
        }
      }
      tf.dispose([flat, x, gen]);
      expect(tf.memory().numTensors).toBe(n0);
      net.dispose();
    });
  }
});
