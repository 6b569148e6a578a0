// The graph-hypernetwork demo's computation, with no DOM: a LoGAH (public/ghn/, meta-trained on
// MNIST by this project; see its README.md) predicts every parameter of an architecture it is given
// as a graph, and the predicted network is tested on the MNIST test subset with no training, next to
// the same network's random init. Only @hypernets/graph's public API (as `hypernets ghn eval`:
// apps/cli/src/ghn/). The page runs it on the fetched subset; the end-to-end test runs it in Node.
import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng, countParams, lenet5, resnet20 } from '@hypernets/core';
import { ImageSplit, type ImageSet } from '@hypernets/data';
import {
  SmallNetFamily,
  archSample,
  evaluateArchs,
  loadGhnFromBytes,
  type ArchSample,
  type GHN2,
} from '@hypernets/graph';

/** Where the page fetches the GHN from (relative to the app's base URL). */
export const GHN_FILE = 'ghn/logah-mnist-small.safetensors';

export const GHN_ARCHS = ['resnet20', 'mlp', 'lenet5', 'sampled'] as const;
export type GhnArchName = (typeof GHN_ARCHS)[number];
export const DEFAULT_ARCH: GhnArchName = 'resnet20';

/**
 * Test images: the subset's 2,000 (as the asset's README), or 50 with `?quick=1` (ResNet-20's two
 * passes over 100 images took ~80 s on WebGPU/SwiftShader and ~50 s on the cpu backend).
 */
export const TEST_SAMPLES = { full: 2000, quick: 50, cpu: 200 } as const;

/**
 * Test images for a run: `cpu` caps the full count, as the cpu backend's convolutions are plain
 * JavaScript (ResNet-20: ~0.25 s per image and pass measured in Chromium, so 2,000 images × 2 passes ≈ 16 min).
 */
export function testSamplesFor(quick: boolean, backend: string): number {
  return quick ? TEST_SAMPLES.quick : backend === 'cpu' ? TEST_SAMPLES.cpu : TEST_SAMPLES.full;
}

export function loadGhn(bytes: Uint8Array): GHN2 {
  return loadGhnFromBytes(bytes, GHN_FILE);
}

/**
 * The architectures on offer, for MNIST (28×28×1, 10 classes): the CLI zoo's resnet20 (CIFAR
 * ResNet-20), mlp (784-256-128-10) and lenet5, or one drawn from the small MLP/CNN/ResNet family the
 * GHN was meta-trained on (`seed` picks which).
 */
export function ghnArch(name: GhnArchName, numClasses: number, seed = 0): ArchSample {
  switch (name) {
    case 'resnet20':
      return archSample(resnet20({ numClasses, inputShape: [28, 28, 1] }), name);
    case 'mlp':
      return archSample(new MLP({ inputSize: 784, hiddenSizes: [256, 128], outputSize: numClasses }), name);
    case 'lenet5':
      return archSample(lenet5({ outputSize: numClasses }), name);
    case 'sampled':
      return new SmallNetFamily({ numClasses, kinds: ['mlp', 'cnn', 'resnet'] }).sample(new Rng(seed));
  }
}

/** The first n test images, as a split (as the CLI's `ghn eval --test-samples n`). */
export const testSplit = (set: ImageSet, n: number): ImageSplit => ImageSplit.first(set, n);

export interface GhnResult {
  id: string | number;
  numParams: number;
  /** Parameters the GHN did not predict (seeded init instead). */
  missing: string[];
  /** Milliseconds of one prediction of all parameters (graph → weights, read back). */
  predictMs: number;
  /** L2 norm of all predicted parameters together. */
  paramNorm: number;
  /** Test accuracy (fraction) of the predicted parameters, no training; and of the net's random init. */
  accuracy: number;
  randomInit: number;
  testSamples: number;
}

/** Predicts all parameters of `arch` with `ghn`, times it, and tests the predicted net against its random init. */
export async function predictAndEvaluate(
  ghn: GHN2,
  arch: ArchSample,
  test: ImageSet,
  testSamples: number,
): Promise<GhnResult> {
  const split = testSplit(test, testSamples);
  const t0 = performance.now();
  const [pred] = ghn.predict([arch.graph]);
  const sq = tf.tidy(() => tf.addN(Object.values(pred!.weights).map((w) => tf.sum(tf.square(w)))));
  const norm = Math.sqrt((await sq.data())[0]!);
  const predictMs = performance.now() - t0;
  sq.dispose();
  const missing = [...pred!.missing];
  tf.dispose(Object.values(pred!.weights));
  const r = await evaluateArchs(ghn, [arch], { test: split }, { testSamples: split.size, batchSize: 100, seed: 0 });
  const a = r.archs[0]!;
  return {
    id: arch.id,
    numParams: countParams(arch.net.params),
    missing,
    predictMs,
    paramNorm: norm,
    accuracy: a.accuracy,
    randomInit: a.randomInit,
    testSamples: split.size,
  };
}
