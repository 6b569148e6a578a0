import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError } from '../errors/index.js';
import { checkWeights, type ParamSpec, type Weights } from '../params.js';
import { linear } from '../ops/index.js';
import type { ForwardOptions, StateSpec, TargetNet } from '../target.js';
import { conv2d, convSpecs, type PerSampleConvMethod } from '../ops/conv.js';
import { globalAvgPool, subsample2 } from '../ops/pool.js';
import { batchNorm, batchNormSpecs, batchNormStateSpecs, BN_EPS, BN_MOMENTUM } from '../ops/batch-norm.js';
import { denseSpecs } from './mlp.js';
import { checkBatch, checkPositiveInt } from './validate.js';

/**
 * Shortcut where a block changes width/resolution (He et al. 2016, §3.3 / §4.2):
 * 'A' — identity on a 2× subsampled input with zero-padded extra channels (no parameters; the
 * paper's choice for CIFAR); 'B' — 1×1 conv projection (stride 2) + batch norm.
 */
export type ShortcutOption = 'A' | 'B';

export interface ResNetConfig {
  /** 6n + 2 (20, 32, 44, 56, 110, …). */
  depth: number;
  /** Channels of the three stages. Default [16, 32, 64]. */
  widths?: readonly [number, number, number];
  /** Default 10. */
  numClasses?: number;
  /** Nominal input [H, W, C]. Default [32, 32, 3]; any H, W ≥ 1 runs (global average pool). */
  inputShape?: readonly [number, number, number];
  /** Default 'A'. */
  shortcut?: ShortcutOption;
  /** Batch-norm momentum for the running estimates. Default 0.1 (PyTorch). */
  bnMomentum?: number;
  /** Default 1e-5. */
  bnEps?: number;
  /**
   * Keep running statistics (default true): eval mode needs options.state. False: batch
   * statistics in both modes (hypnettorch's bn_track_stats=False), no state.
   */
  trackRunningStats?: boolean;
  /** Per-sample conv method (see ops/conv.ts). Default 'auto'. */
  convMethod?: PerSampleConvMethod;
}

interface BlockPlan {
  prefix: string;
  cin: number;
  cout: number;
  stride: number;
  /** null: identity; 'A': subsample + zero pad; 'B': downsample.0 conv + downsample.1 bn. */
  shortcut: null | ShortcutOption;
}

/**
 * CIFAR ResNet (He et al., "Deep Residual Learning", 2016, §4.2): 3×3 conv 16 → 3 stages of n
 * basic blocks (16, 32, 64 channels; the first block of stages 2 and 3 has stride 2) → global
 * average pool → fc. Convs have no bias (batch norm follows) and pad 1 (PyTorch alignment).
 *
 * Names follow the common PyTorch port: `conv1.weight`, `bn1.weight`/`bias`,
 * `layer{s}.{b}.conv{1,2}.weight`, `layer{s}.{b}.bn{1,2}.weight`/`bias`,
 * `layer{s}.{b}.downsample.{0,1}.*` (option B), `fc.weight` [64, classes], `fc.bias`. Conv
 * kernels are tfjs [kh, kw, cin, cout] (PyTorch: [cout, cin, kh, kw]).
 *
 * Batch norm with per-sample weights: see ops/batch-norm.ts — in training mode each sample is its
 * own batch (statistics over its H×W), so per-sample output equals the one-at-a-time loop.
 */
export class ResNet implements TargetNet {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly stateSpecs: readonly StateSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: Readonly<Required<ResNetConfig>>;
  /** Blocks per stage. */
  readonly n: number;
  private readonly blocks: BlockPlan[];

  constructor(config: ResNetConfig) {
    const depth = checkPositiveInt('depth', config.depth);
    if ((depth - 2) % 6 !== 0 || depth < 8)
      throw new ConfigError('depth', `a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, 110, …), got ${depth}`);
    const widths = config.widths ?? [16, 32, 64];
    if (!Array.isArray(widths) || widths.length !== 3)
      throw new ConfigError('widths', `must be three stage widths, got ${JSON.stringify(widths)}`);
    widths.forEach((w, i) => checkPositiveInt(`widths[${i}]`, w));
    const numClasses = checkPositiveInt('numClasses', config.numClasses ?? 10);
    const inputShape = config.inputShape ?? [32, 32, 3];
    if (!Array.isArray(inputShape) || inputShape.length !== 3)
      throw new ConfigError('inputShape', `must be [H, W, C], got ${JSON.stringify(inputShape)}`);
    inputShape.forEach((d, i) => checkPositiveInt(`inputShape[${i}]`, d));
    const shortcut = config.shortcut ?? 'A';
    if (shortcut !== 'A' && shortcut !== 'B')
      throw new ConfigError(
        'shortcut',
        `must be 'A' (zero-pad identity) or 'B' (1x1 projection), got ${JSON.stringify(shortcut)}`,
      );
    const bnMomentum = config.bnMomentum ?? BN_MOMENTUM;
    if (!(bnMomentum > 0 && bnMomentum <= 1))
      throw new ConfigError('bnMomentum', `must be in (0, 1], got ${bnMomentum}`);
    const bnEps = config.bnEps ?? BN_EPS;
    if (!(bnEps > 0)) throw new ConfigError('bnEps', `must be positive, got ${bnEps}`);
    const trackRunningStats = config.trackRunningStats ?? true;
    for (let s = 1; s < 3; s++)
      if (shortcut === 'A' && widths[s] < widths[s - 1])
        throw new ConfigError(
          'widths',
          `option A pads channels with zeros, so widths must not shrink, got [${widths.join(', ')}]`,
        );
    this.config = Object.freeze({
      depth,
      widths: [...widths] as [number, number, number],
      numClasses,
      inputShape: [...inputShape] as [number, number, number],
      shortcut,
      bnMomentum,
      bnEps,
      trackRunningStats,
      convMethod: config.convMethod ?? 'auto',
    });
    this.n = (depth - 2) / 6;
    this.name = `resnet${depth}`;

    const specs: ParamSpec[] = [];
    const state: StateSpec[] = [];
    let layer = 0;
    const bn = (name: string, ch: number) => {
      specs.push(...batchNormSpecs(name, ch, layer++));
      state.push(...batchNormStateSpecs(name, ch));
    };
    specs.push(...convSpecs('conv1', 3, inputShape[2], widths[0], layer++, 'relu', false));
    bn('bn1', widths[0]);
    const blocks: BlockPlan[] = [];
    let cin = widths[0];
    for (let s = 0; s < 3; s++)
      for (let b = 0; b < this.n; b++) {
        const cout = widths[s];
        const stride = s > 0 && b === 0 ? 2 : 1;
        const prefix = `layer${s + 1}.${b}`;
        const needsShortcut = stride !== 1 || cin !== cout;
        const plan: BlockPlan = { prefix, cin, cout, stride, shortcut: needsShortcut ? shortcut : null };
        specs.push(...convSpecs(`${prefix}.conv1`, 3, cin, cout, layer++, 'relu', false));
        bn(`${prefix}.bn1`, cout);
        specs.push(...convSpecs(`${prefix}.conv2`, 3, cout, cout, layer++, 'relu', false));
        bn(`${prefix}.bn2`, cout);
        if (plan.shortcut === 'B') {
          specs.push(...convSpecs(`${prefix}.downsample.0`, 1, cin, cout, layer++, 'relu', false));
          bn(`${prefix}.downsample.1`, cout);
        }
        blocks.push(plan);
        cin = cout;
      }
    specs.push(...denseSpecs('fc', widths[2], numClasses, layer++, 'linear'));
    this.params = specs;
    this.stateSpecs = trackRunningStats ? state : [];
    this.blocks = blocks;
    this.inputShape = [...inputShape];
    this.outputShape = [numClasses];
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    const { bn, conv } = resnetLayers(this, x, weights, options);
    return tf.tidy(() => {
      let h = tf.relu(bn(conv(x, 'conv1', 1, 1), 'bn1'));
      for (const b of this.blocks) {
        let out = tf.relu(bn(conv(h, `${b.prefix}.conv1`, b.stride, 1), `${b.prefix}.bn1`));
        out = bn(conv(out, `${b.prefix}.conv2`, 1, 1), `${b.prefix}.bn2`);
        let short: tf.Tensor = h;
        if (b.shortcut === 'A') short = zeroPadShortcut(h, b.cout, b.stride);
        else if (b.shortcut === 'B')
          short = bn(conv(h, `${b.prefix}.downsample.0`, b.stride, 0), `${b.prefix}.downsample.1`);
        h = tf.relu(tf.add(out, short));
      }
      return linear(globalAvgPool(h), weights['fc.weight'], weights['fc.bias']);
    });
  }
}

/**
 * Option A shortcut: x[:, ::2, ::2, :] (for stride 2) with the extra channels zero-padded,
 * half before and half after (as the common PyTorch CIFAR port: F.pad(..., (planes//4, planes//4))
 * for a doubling).
 */
export function zeroPadShortcut(x: tf.Tensor, cout: number, stride: number): tf.Tensor {
  return tf.tidy(() => {
    if (stride !== 1 && stride !== 2)
      throw new ConfigError('stride', `option A shortcut supports stride 1 or 2, got ${stride}`);
    const s = stride === 2 ? subsample2(x) : (x as tf.Tensor4D);
    const extra = cout - s.shape[3];
    if (extra === 0) return s;
    const before = Math.floor(extra / 2);
    return tf.pad(s, [
      [0, 0],
      [0, 0],
      [0, 0],
      [before, extra - before],
    ]);
  });
}

/** ResNet-20 for CIFAR-10 (n = 3): 269,722 parameters with option A. */
export function resnet20(options: Omit<ResNetConfig, 'depth'> = {}): ResNet {
  return new ResNet({ ...options, depth: 20 });
}

/** ResNet-32 (n = 5): 464,154 parameters with option A. */
export function resnet32(options: Omit<ResNetConfig, 'depth'> = {}): ResNet {
  return new ResNet({ ...options, depth: 32 });
}

/** The parts of a ResNet (CIFAR or ImageNet style) that its forward pass reads. */
export interface ResNetLike {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly config: {
    readonly trackRunningStats: boolean;
    readonly bnMomentum: number;
    readonly bnEps: number;
    readonly convMethod: PerSampleConvMethod;
  };
}

/**
 * What every ResNet forward shares: the input and weight checks (before any tensor is made),
 * and the conv / batch-norm layers bound to the weights and options (call them inside a tidy).
 */
export function resnetLayers(
  net: ResNetLike,
  x: tf.Tensor,
  weights: Weights,
  options: ForwardOptions,
): {
  bn: (h: tf.Tensor, name: string) => tf.Tensor;
  conv: (h: tf.Tensor, name: string, stride: number, pad: number) => tf.Tensor;
} {
  const batch = checkWeights(net.params, weights, net.name);
  const cin = net.inputShape[2];
  if (x.rank !== 4 || x.shape[3] !== cin)
    throw new ShapeMismatchError(
      `${net.name} input`,
      [x.shape[0] ?? -1, net.inputShape[0]!, net.inputShape[1]!, cin!],
      x.shape,
      'pass NHWC images [N, H, W, C]',
    );
  checkBatch(x, batch, net.name);
  const perSample = batch !== null;
  const training = options.training ?? false;
  const { trackRunningStats, bnMomentum, bnEps, convMethod } = net.config;
  if (trackRunningStats && !training && !options.state)
    throw new ConfigError(
      'options.state',
      `${net.name} in eval mode normalises with running statistics: pass options.state (new NetState(net.stateSpecs)), ` +
        'run with training: true, or build the net with trackRunningStats: false',
    );
  const condition = options.condition ?? '0';
  const state = trackRunningStats ? options.state : undefined;
  return {
    bn: (h, name) =>
      batchNorm(h, weights[`${name}.weight`], weights[`${name}.bias`], {
        training: training || !trackRunningStats,
        perSample,
        runningMean: state?.get(condition, `${name}.running_mean`),
        runningVar: state?.get(condition, `${name}.running_var`),
        momentum: bnMomentum,
        eps: bnEps,
        name,
      }),
    conv: (h, name, stride, pad) =>
      conv2d(h, weights[`${name}.weight`], undefined, { stride, padding: pad, method: convMethod }),
  };
}
