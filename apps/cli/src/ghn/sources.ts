import * as graph from '@hypernets/graph';
import { SmallNetFamily, type ArchSample, type ArchSource, type SmallNetKind } from '@hypernets/graph';
import type { Rng } from '@hypernets/core';
import { UsageError } from '../continual/options.js';

/**
 * Where `ghn train` and `ghn eval --split` get architectures: one factory, so the
 * DeepNets-1M-style sampler (@hypernets/graph's ArchSampler: `sample(rng, split)`) plugs in
 * as soon as the package exports it, and the small MLP/CNN/ResNet family serves until then.
 */

const MNIST: readonly [number, number, number] = [28, 28, 1];

interface SplitSampler {
  sample(rng: Rng, split?: string): ArchSample;
}
type SplitSamplerClass = new (config?: { inputShape?: readonly [number, number, number]; numClasses?: number }) => SplitSampler;

/** @hypernets/graph's ArchSampler, when this build exports it. */
function archSamplerClass(): SplitSamplerClass | null {
  const c = (graph as unknown as Record<string, unknown>).ArchSampler;
  return typeof c === 'function' ? (c as SplitSamplerClass) : null;
}

/** Whether `--source sampler` and `ghn eval --split` can run in this build. */
export function samplerAvailable(): boolean {
  return archSamplerClass() !== null;
}

function sampler(split: string, numClasses: number, flag: string): ArchSource {
  const Ctor = archSamplerClass();
  if (!Ctor) throw new UsageError(`${flag} needs @hypernets/graph's architecture sampler (ArchSampler), which this build does not export yet; use the small family (ghn train --source small) or zoo models (ghn eval --models …)`);
  const s = new Ctor({ inputShape: MNIST, numClasses });
  return { sample: (rng) => s.sample(rng, split) };
}

/** Training architectures: the small family of the given kinds, or the sampler's 'train' split. */
export function trainSource(o: { source: 'small' | 'sampler'; families: readonly SmallNetKind[]; numClasses: number }): ArchSource {
  if (o.source === 'sampler') return sampler('train', o.numClasses, '--source sampler');
  return new SmallNetFamily({ inputShape: MNIST, numClasses: o.numClasses, kinds: o.families });
}

/** Test architectures of a DeepNets-1M-style split (test, wide, deep, dense, bn-free). */
export function splitSource(split: string, numClasses: number): ArchSource {
  return sampler(split, numClasses, `--split ${split}`);
}
