import { CNN, ConfigError, MLP, ResNet, type ConvLayerConfig, type Rng, type TargetNet } from '@hypernets/core';
import { archGraph } from './describe.js';
import type { ArchSample, ArchSource } from './train/index.js';

/** An ArchSample for a net (its graph built by archGraph). */
export function archSample(net: TargetNet, id: string | number = net.name): ArchSample {
  return { id, net, graph: archGraph(net) };
}

/** Draws uniformly from a fixed list of architectures (graphs built once). */
export function fixedSource(
  archs: readonly (TargetNet | ArchSample)[],
): ArchSource & { readonly archs: readonly ArchSample[] } {
  if (archs.length === 0) throw new ConfigError('archs', 'needs at least one architecture');
  const list = archs.map((a) => ('graph' in a && 'net' in a ? a : archSample(a)));
  return { archs: list, sample: (rng: Rng) => list[rng.int(0, list.length - 1)]! };
}

export type SmallNetKind = 'mlp' | 'cnn' | 'resnet';

export interface SmallNetFamilyOptions {
  /** [H, W, C] of the images. Default [28, 28, 1] (MNIST). */
  inputShape?: readonly [number, number, number];
  /** Default 10. */
  numClasses?: number;
  /** Which kinds to draw (uniformly). Default ['mlp', 'cnn']. */
  kinds?: readonly SmallNetKind[];
  /** Hidden widths / conv filters to draw from. Default [8, 16, 32, 64]. */
  widths?: readonly number[];
  /** Most hidden layers (MLP) / conv layers (CNN) / blocks per stage (ResNet). Default 2. */
  maxLayers?: number;
}

/**
 * A small, continuous family of MNIST-sized nets to meta-train and test on while the
 * DeepNets-1M-style sampler is not in use: MLPs (1…maxLayers hidden layers), CNNs
 * (1…maxLayers convs of 3×3 or 5×5, optional stride 2 or 2×2 max/avg pooling, an optional
 * hidden dense layer) and CIFAR-style ResNets (BN, 1…maxLayers blocks per stage, option-A
 * shortcuts). Ids describe the architecture, so equal ids are equal nets.
 */
export class SmallNetFamily implements ArchSource {
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly kinds: readonly SmallNetKind[];
  readonly widths: readonly number[];
  readonly maxLayers: number;

  constructor(options: SmallNetFamilyOptions = {}) {
    this.inputShape = options.inputShape ?? [28, 28, 1];
    this.numClasses = options.numClasses ?? 10;
    this.kinds = options.kinds ?? ['mlp', 'cnn'];
    this.widths = options.widths ?? [8, 16, 32, 64];
    this.maxLayers = options.maxLayers ?? 2;
    if (this.kinds.length === 0 || this.kinds.some((k) => !['mlp', 'cnn', 'resnet'].includes(k)))
      throw new ConfigError(
        'kinds',
        `must be a non-empty list of 'mlp', 'cnn', 'resnet', got ${JSON.stringify(this.kinds)}`,
      );
    if (this.widths.length === 0 || this.widths.some((w) => !Number.isInteger(w) || w < 1))
      throw new ConfigError('widths', `must be positive integers, got ${JSON.stringify(this.widths)}`);
    if (!Number.isInteger(this.maxLayers) || this.maxLayers < 1)
      throw new ConfigError('maxLayers', `must be a positive integer, got ${options.maxLayers}`);
  }

  private pick<T>(rng: Rng, xs: readonly T[]): T {
    return xs[rng.int(0, xs.length - 1)]!;
  }

  sample(rng: Rng): ArchSample {
    const kind = this.pick(rng, this.kinds);
    const [H, W, C] = this.inputShape;
    const K = this.numClasses;
    if (kind === 'mlp') {
      const hidden = Array.from({ length: rng.int(1, this.maxLayers) }, () => this.pick(rng, this.widths));
      const id = `mlp-${hidden.join('-')}`;
      return archSample(new MLP({ inputSize: H * W * C, hiddenSizes: hidden, outputSize: K }), id);
    }
    if (kind === 'cnn') {
      const convs: ConvLayerConfig[] = [];
      const parts: string[] = [];
      let h = Math.min(H, W);
      const n = rng.int(1, this.maxLayers);
      for (let i = 0; i < n && h >= 5; i++) {
        const filters = this.pick(rng, this.widths);
        const kernel = h >= 10 ? this.pick(rng, [3, 5]) : 3;
        const reduce = h >= 8 ? this.pick(rng, ['none', 'stride', 'max', 'avg'] as const) : 'none';
        const cv: ConvLayerConfig = { filters, kernel, padding: 'same', stride: reduce === 'stride' ? 2 : 1 };
        if (reduce === 'max' || reduce === 'avg') cv.pool = { type: reduce, size: 2 };
        convs.push(cv);
        parts.push(`c${filters}k${kernel}${reduce === 'none' ? '' : reduce[0]}`);
        if (reduce !== 'none') h = Math.ceil(h / 2);
      }
      const dense = rng.int(0, 1) ? [this.pick(rng, this.widths)] : [];
      const id = `cnn-${parts.join('-')}${dense.length ? `-d${dense[0]}` : ''}`;
      return archSample(new CNN({ inputShape: this.inputShape, convs, dense, outputSize: K }, id), id);
    }
    const base = this.pick(
      rng,
      this.widths.filter((w) => w <= 16).length ? this.widths.filter((w) => w <= 16) : [this.widths[0]!],
    );
    const blocks = rng.int(1, this.maxLayers);
    const id = `resnet${6 * blocks + 2}-${base}`;
    const net = new ResNet({
      depth: 6 * blocks + 2,
      widths: [base, 2 * base, 4 * base],
      numClasses: K,
      inputShape: this.inputShape,
    });
    return archSample(net, id);
  }
}
