import * as tf from '@tensorflow/tfjs-core';
import { Rng, ShapeMismatchError, initWeights, type TargetNet, type Weights } from '@hypernets/core';
import type { ArchGraph } from '../graph.js';

/** One architecture to train or evaluate on: a weightless TargetNet and its graph. */
export interface ArchSample {
  /** Identifies the architecture (a DeepNets-1M index, a zoo name, a description string). */
  readonly id: string | number;
  readonly net: TargetNet;
  readonly graph: ArchGraph;
}

/**
 * Where meta-training draws architectures from: every call returns one, drawn with `rng` only
 * (so a run is reproducible and a checkpointed rng state resumes the same sequence). The
 * architecture sampler (zoo/sampler.ts, `{ id, family, net, graph, info }`) is one; see
 * sources.ts for fixed lists and a small MLP/CNN/ResNet family.
 */
export interface ArchSource {
  sample(rng: Rng): ArchSample;
}

/**
 * x [B, D] (flattened images, as @hypernets/data serves them) in the shape `net` takes: as is
 * for nets with a flat input (MLPs), reshaped to [B, ...inputShape] otherwise ([B, 28, 28, 1]
 * for MNIST convnets; row-major pixels are NHWC with one channel).
 */
export function netInput(net: TargetNet, x: tf.Tensor): tf.Tensor {
  const want = net.inputShape;
  const per = want.reduce((a, b) => a * b, 1);
  const B = x.shape[0]!;
  if (x.size !== B * per)
    throw new ShapeMismatchError(
      `${net.name} input`,
      [B, ...want],
      x.shape,
      `the data has ${x.size / B} values per sample, the net takes ${per}`,
    );
  if (x.rank === want.length + 1 && want.every((d, i) => d === x.shape[i + 1])) return x;
  return tf.reshape(x, [B, ...want]);
}

/** 32-bit FNV-1a of a string, mixed with a seed: per-architecture seeds that do not depend on draw order. */
export function archSeed(seed: number, id: string | number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  const s = String(id);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

/**
 * Weights of the parameters the GHN does not predict (`Prediction.missing`: layers the graph
 * cannot describe): the net's own init, seeded by (seed, architecture id), so the same
 * architecture always gets the same values. They are constants, never trained by the GHN.
 */
export function missingWeights(arch: ArchSample, names: readonly string[], seed: number): Weights {
  if (names.length === 0) return {};
  const want = new Set(names);
  return initWeights(
    arch.net.params.filter((p) => want.has(p.name)),
    new Rng(archSeed(seed, arch.id)),
  );
}

/** Seed of the image order, apart from the architecture stream. */
export function dataSeed(seed: number): number {
  return archSeed(seed, 'images');
}
