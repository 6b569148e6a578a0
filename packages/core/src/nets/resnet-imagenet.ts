import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors/index.js';
import { type ParamSpec, type Weights } from '../params.js';
import { linear } from '../ops/index.js';
import type { ForwardOptions, StateSpec, TargetNet } from '../target.js';
import { convSpecs, type PerSampleConvMethod } from '../ops/conv.js';
import { globalAvgPool, maxPoolPadded } from '../ops/pool.js';
import { batchNormSpecs, batchNormStateSpecs, BN_EPS, BN_MOMENTUM } from '../ops/batch-norm.js';
import { denseSpecs } from './mlp.js';
import { checkPositiveInt } from './validate.js';
import { resnetLayers } from './resnet.js';

/** torchvision's residual blocks: BasicBlock (two 3×3 convs) or Bottleneck (1×1, 3×3, 1×1; 4× expansion). */
export type ResNetBlockType = 'basic' | 'bottleneck';

export interface ImageNetResNetConfig {
  block: ResNetBlockType;
  /** Blocks in layer1 … layer4 (resnet18: [2, 2, 2, 2], resnet50: [3, 4, 6, 3]). */
  layers: readonly [number, number, number, number];
  /** Default 1000. */
  numClasses?: number;
  /** Nominal input [H, W, C]. Default [224, 224, 3]; any H, W ≥ 1 runs (global average pool). */
  inputShape?: readonly [number, number, number];
  /**
   * torchvision's width_per_group (base width): a bottleneck's inner width is
   * ⌊planes · widthPerGroup / 64⌋ (wide_resnet50_2: 128). Default 64. Basic blocks support
   * only 64, as in torchvision.
   */
  widthPerGroup?: number;
  /**
   * Planes of layer1 … layer4; the stem is as wide as layer1 (torchvision: [64, 128, 256, 512],
   * the default). Not a torchvision argument: smaller widths give small nets with the same
   * structure and names (tests, fixtures).
   */
  widths?: readonly [number, number, number, number];
  /** Batch-norm momentum for the running estimates. Default 0.1 (PyTorch). */
  bnMomentum?: number;
  /** Default 1e-5. */
  bnEps?: number;
  /**
   * Keep running statistics (default true): eval mode needs options.state. False: batch
   * statistics in both modes, no state.
   */
  trackRunningStats?: boolean;
  /** Per-sample conv method (see ops/conv.ts). Default 'auto'. */
  convMethod?: PerSampleConvMethod;
}

/** Options of the resnet18 … resnet152 factories. */
export type ImageNetResNetOptions = Omit<ImageNetResNetConfig, 'block' | 'layers'>;

interface ConvPlan {
  kernel: number;
  stride: number;
  pad: number;
}

interface BlockPlan {
  prefix: string;
  stride: number;
  /** conv1, conv2[, conv3]; each followed by bn1, bn2[, bn3]. */
  convs: ConvPlan[];
  /** downsample.0 (1×1 conv, stride) + downsample.1 (bn) on the shortcut. */
  downsample: boolean;
}

const EXPANSION: Record<ResNetBlockType, number> = { basic: 1, bottleneck: 4 };
const TORCHVISION_WIDTHS = [64, 128, 256, 512] as const;

/**
 * ImageNet ResNet as torchvision 0.14 builds it (`torchvision.models.resnet.ResNet`; He et
 * al. 2016, v1.5: in a bottleneck the stride sits on the 3×3 conv2): conv1 7×7 stride 2 pad 3
 * → bn1 → relu → max pool 3×3 stride 2 pad 1 → layer1 … layer4 (planes 64, 128, 256, 512 ×
 * expansion; the first block of layers 2-4 has stride 2) → global average pool → fc.
 * A block's shortcut is `downsample` (1×1 conv with the block's stride + batch norm) when the
 * stride is not 1 or the channels change, else the identity. Convs have no bias.
 *
 * Padding is PyTorch's: symmetric and explicit (conv2d's numeric padding; the max pool pads
 * with −∞, see maxPoolPadded), so outputs align with torchvision on every input size — tfjs's
 * 'same' pads only after on even sizes.
 *
 * Parameters have torchvision's names, shapes up to layout, and `named_parameters()` order:
 * `conv1.weight`, `bn1.weight`, `bn1.bias`, `layer{s}.{b}.conv{1,2[,3]}.weight`,
 * `layer{s}.{b}.bn{1,2[,3]}.weight`/`bias`, `layer{s}.{b}.downsample.0.weight`,
 * `layer{s}.{b}.downsample.1.weight`/`bias`, `fc.weight`, `fc.bias`. Conv kernels are tfjs
 * [kh, kw, cin, cout] and fc.weight is [in, out] (PyTorch: [cout, cin, kh, kw] and [out, in];
 * ../torch-layout.ts converts). State specs are the BN buffers `….running_mean` /
 * `….running_var` (torchvision's num_batches_tracked only matters with momentum None).
 *
 * Batch norm with per-sample weights: see ops/batch-norm.ts — in training mode each sample is its
 * own batch, so per-sample output equals the one-at-a-time loop.
 */
export class ImageNetResNet implements TargetNet {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly stateSpecs: readonly StateSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: Readonly<Required<ImageNetResNetConfig>>;
  private readonly blocks: BlockPlan[];

  constructor(config: ImageNetResNetConfig) {
    const block = config.block;
    if (block !== 'basic' && block !== 'bottleneck')
      throw new ConfigError(
        'block',
        `must be 'basic' (resnet18/34) or 'bottleneck' (resnet50/101/152), got ${JSON.stringify(block)}`,
      );
    const layers = config.layers;
    if (!Array.isArray(layers) || layers.length !== 4)
      throw new ConfigError(
        'layers',
        `must be the block counts of layer1 … layer4 (e.g. [2, 2, 2, 2]), got ${JSON.stringify(layers)}`,
      );
    layers.forEach((n, i) => checkPositiveInt(`layers[${i}]`, n));
    const widths = config.widths ?? TORCHVISION_WIDTHS;
    if (!Array.isArray(widths) || widths.length !== 4)
      throw new ConfigError(
        'widths',
        `must be the planes of layer1 … layer4 (default [64, 128, 256, 512]), got ${JSON.stringify(widths)}`,
      );
    widths.forEach((w, i) => checkPositiveInt(`widths[${i}]`, w));
    const widthPerGroup = checkPositiveInt('widthPerGroup', config.widthPerGroup ?? 64);
    if (block === 'basic' && widthPerGroup !== 64)
      throw new ConfigError(
        'widthPerGroup',
        `basic blocks support only 64 (as torchvision's BasicBlock), got ${widthPerGroup}; use widths to change their size`,
      );
    const numClasses = checkPositiveInt('numClasses', config.numClasses ?? 1000);
    const inputShape = config.inputShape ?? [224, 224, 3];
    if (!Array.isArray(inputShape) || inputShape.length !== 3)
      throw new ConfigError('inputShape', `must be [H, W, C], got ${JSON.stringify(inputShape)}`);
    inputShape.forEach((d, i) => checkPositiveInt(`inputShape[${i}]`, d));
    const bnMomentum = config.bnMomentum ?? BN_MOMENTUM;
    if (!(bnMomentum > 0 && bnMomentum <= 1))
      throw new ConfigError('bnMomentum', `must be in (0, 1], got ${bnMomentum}`);
    const bnEps = config.bnEps ?? BN_EPS;
    if (!(bnEps > 0)) throw new ConfigError('bnEps', `must be positive, got ${bnEps}`);
    const trackRunningStats = config.trackRunningStats ?? true;
    if (typeof trackRunningStats !== 'boolean')
      throw new ConfigError('trackRunningStats', `must be a boolean, got ${JSON.stringify(trackRunningStats)}`);
    this.config = Object.freeze({
      block,
      layers: [...layers] as [number, number, number, number],
      numClasses,
      inputShape: [...inputShape] as [number, number, number],
      widthPerGroup,
      widths: [...widths] as [number, number, number, number],
      bnMomentum,
      bnEps,
      trackRunningStats,
      convMethod: config.convMethod ?? 'auto',
    });
    const expansion = EXPANSION[block];
    const depth = layers.reduce((a, b) => a + b, 0) * (block === 'basic' ? 2 : 3) + 2;
    this.name = `resnet${depth}`;

    const specs: ParamSpec[] = [];
    const state: StateSpec[] = [];
    let layer = 0;
    const conv = (name: string, k: number, cin: number, cout: number) =>
      specs.push(...convSpecs(name, k, cin, cout, layer++, 'relu', false));
    const bn = (name: string, ch: number) => {
      specs.push(...batchNormSpecs(name, ch, layer++));
      state.push(...batchNormStateSpecs(name, ch));
    };
    conv('conv1', 7, inputShape[2], widths[0]);
    bn('bn1', widths[0]);
    const blocks: BlockPlan[] = [];
    let inplanes = widths[0];
    for (let s = 0; s < 4; s++) {
      const planes = widths[s];
      const cout = planes * expansion;
      // torchvision: width = int(planes * (base_width / 64.0)) * groups (groups = 1).
      const inner = block === 'basic' ? planes : Math.floor(planes * (widthPerGroup / 64));
      if (inner < 1)
        throw new ConfigError(
          'widthPerGroup',
          `gives layer${s + 1} bottlenecks ⌊${planes}·${widthPerGroup}/64⌋ = 0 channels; raise widthPerGroup or widths[${s}]`,
        );
      for (let b = 0; b < layers[s]; b++) {
        const stride = s > 0 && b === 0 ? 2 : 1;
        const prefix = `layer${s + 1}.${b}`;
        const convs: ConvPlan[] =
          block === 'basic'
            ? [
                { kernel: 3, stride, pad: 1 },
                { kernel: 3, stride: 1, pad: 1 },
              ]
            : [
                { kernel: 1, stride: 1, pad: 0 },
                { kernel: 3, stride, pad: 1 },
                { kernel: 1, stride: 1, pad: 0 },
              ];
        const chans = block === 'basic' ? [inplanes, planes, planes] : [inplanes, inner, inner, cout];
        convs.forEach((c, i) => {
          conv(`${prefix}.conv${i + 1}`, c.kernel, chans[i], chans[i + 1]);
          bn(`${prefix}.bn${i + 1}`, chans[i + 1]);
        });
        const downsample = stride !== 1 || inplanes !== cout;
        if (downsample) {
          conv(`${prefix}.downsample.0`, 1, inplanes, cout);
          bn(`${prefix}.downsample.1`, cout);
        }
        blocks.push({ prefix, stride, convs, downsample });
        inplanes = cout;
      }
    }
    specs.push(...denseSpecs('fc', inplanes, numClasses, layer++, 'linear'));
    this.params = specs;
    this.stateSpecs = trackRunningStats ? state : [];
    this.blocks = blocks;
    this.inputShape = [...inputShape];
    this.outputShape = [numClasses];
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    const { bn, conv } = resnetLayers(this, x, weights, options);
    return tf.tidy(() => {
      let h: tf.Tensor = tf.relu(bn(conv(x, 'conv1', 2, 3), 'bn1'));
      h = maxPoolPadded(h, 3, 2, 1);
      for (const b of this.blocks) {
        let out = h;
        b.convs.forEach((c, i) => {
          out = bn(conv(out, `${b.prefix}.conv${i + 1}`, c.stride, c.pad), `${b.prefix}.bn${i + 1}`);
          if (i + 1 < b.convs.length) out = tf.relu(out);
        });
        const short = b.downsample
          ? bn(conv(h, `${b.prefix}.downsample.0`, b.stride, 0), `${b.prefix}.downsample.1`)
          : h;
        h = tf.relu(tf.add(out, short));
      }
      return linear(globalAvgPool(h), weights['fc.weight'], weights['fc.bias']);
    });
  }
}

/** resnet18 (BasicBlock, [2, 2, 2, 2]): 11,689,512 parameters with 1000 classes. */
export function resnet18(options: ImageNetResNetOptions = {}): ImageNetResNet {
  return new ImageNetResNet({ ...options, block: 'basic', layers: [2, 2, 2, 2] });
}

/** resnet34 (BasicBlock, [3, 4, 6, 3]): 21,797,672 parameters. */
export function resnet34(options: ImageNetResNetOptions = {}): ImageNetResNet {
  return new ImageNetResNet({ ...options, block: 'basic', layers: [3, 4, 6, 3] });
}

/** resnet50 (Bottleneck, [3, 4, 6, 3]): 25,557,032 parameters. */
export function resnet50(options: ImageNetResNetOptions = {}): ImageNetResNet {
  return new ImageNetResNet({ ...options, block: 'bottleneck', layers: [3, 4, 6, 3] });
}

/** resnet101 (Bottleneck, [3, 4, 23, 3]): 44,549,160 parameters. */
export function resnet101(options: ImageNetResNetOptions = {}): ImageNetResNet {
  return new ImageNetResNet({ ...options, block: 'bottleneck', layers: [3, 4, 23, 3] });
}

/** resnet152 (Bottleneck, [3, 8, 36, 3]): 60,192,808 parameters. */
export function resnet152(options: ImageNetResNetOptions = {}): ImageNetResNet {
  return new ImageNetResNet({ ...options, block: 'bottleneck', layers: [3, 8, 36, 3] });
}
