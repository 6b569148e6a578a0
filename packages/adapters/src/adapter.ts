import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  activate,
  affine,
  layerNormalize,
  linear,
  type Activation,
  type ParamSpec,
} from '@hypernets/core';
import { denseSpecs, layerNormSpecs } from '@hypernets/core/internal';

/**
 * The bottleneck adapter every method here inserts at a sublayer output y [N, …, d]:
 *
 *   a = y, or LN_pre(y) with `preNorm`            (Pfeiffer/Houlsby placement: y + U·act(D·LN(y)))
 *   z = up(act(down(a)))                           down [d, r], up [r, d]; r = d / reductionFactor
 *   z = LN_post(z) with `postNorm`                 (HyperFormer's adapters, its γ/β generated per task)
 *   out = y + z
 *
 * Weights may be shared or per-sample (a leading batch dim on every tensor), so a batch mixing
 * tasks runs each sample with its task's adapter in one pass. LayerNorms use ε = 1e-5
 * (torch.nn.functional.layer_norm's default, as HyperFormer calls it).
 */
export interface AdapterShape {
  /** Feature width d of the site. */
  readonly width: number;
  /** Bottleneck r. */
  readonly bottleneck: number;
  readonly preNorm: boolean;
  readonly postNorm: boolean;
  readonly activation: Activation;
}

/** Tensor names of one adapter, relative to its site (`${site}.down.weight`, …), in order. */
export function adapterSpecs(prefix: string, s: AdapterShape, layer = 0): ParamSpec[] {
  const { width: d, bottleneck: r } = s;
  const specs: ParamSpec[] = [];
  const norm = (name: string) => specs.push(...layerNormSpecs(`${prefix}${name}`, d, layer));
  if (s.preNorm) norm('pre_norm');
  specs.push(
    ...denseSpecs(`${prefix}down`, d, r, layer, s.activation),
    ...denseSpecs(`${prefix}up`, r, d, layer, 'linear'),
  );
  if (s.postNorm) norm('post_norm');
  return specs;
}

/** Checks an adapter's shape: positive integer width and bottleneck, r ≤ d. */
export function checkAdapterShape(s: AdapterShape): void {
  if (!Number.isInteger(s.width) || s.width < 1)
    throw new ConfigError('adapter width', `must be a positive integer, got ${s.width}`);
  if (!Number.isInteger(s.bottleneck) || s.bottleneck < 1 || s.bottleneck > s.width)
    throw new ConfigError('adapter bottleneck', `must be an integer in [1, ${s.width}], got ${s.bottleneck}`);
}

/** y + adapter(y) with the tensors `w(prefix + name)`; see {@link AdapterShape}. */
export function applyAdapter(y: tf.Tensor, w: (name: string) => tf.Tensor, s: AdapterShape, prefix = ''): tf.Tensor {
  return tf.tidy(() => {
    const norm = (x: tf.Tensor, name: string) =>
      affine(layerNormalize(x, 1e-5), w(`${prefix}${name}.weight`), w(`${prefix}${name}.bias`));
    const a = s.preNorm ? norm(y, 'pre_norm') : y;
    const mid = activate(linear(a, w(`${prefix}down.weight`), w(`${prefix}down.bias`)), s.activation);
    let z = linear(mid, w(`${prefix}up.weight`), w(`${prefix}up.bias`));
    if (s.postNorm) z = norm(z, 'post_norm');
    return tf.add(y, z);
  });
}
