import { ArchSampler, SmallNetFamily, type ArchSource, type SmallNetKind, type SplitName } from '@hypernets/graph';

/**
 * Where `ghn train` and `ghn eval --split` get architectures: @hypernets/graph's
 * DeepNets-1M-style ArchSampler (its 'train' split, or a test / OOD split), or the small
 * MLP/CNN/ResNet family.
 */

const MNIST: readonly [number, number, number] = [28, 28, 1];

function sampler(split: SplitName, numClasses: number): ArchSource {
  const s = new ArchSampler({ inputShape: MNIST, numClasses });
  return { sample: (rng) => s.sample(rng, split) };
}

/** Training architectures: the small family of the given kinds, or the sampler's 'train' split. */
export function trainSource(o: {
  source: 'small' | 'sampler';
  families: readonly SmallNetKind[];
  numClasses: number;
}): ArchSource {
  if (o.source === 'sampler') return sampler('train', o.numClasses);
  return new SmallNetFamily({ inputShape: MNIST, numClasses: o.numClasses, kinds: o.families });
}

/** Test architectures of a DeepNets-1M-style split (test, wide, deep, dense, bn-free). */
export function splitSource(split: string, numClasses: number): ArchSource {
  return sampler(split as SplitName, numClasses);
}
