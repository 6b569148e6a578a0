import { conv2d, dilateKernel, type ParamSpec } from '@hypernets/core';
import { activationOf, initActivation } from '../activations.js';
import { UnsupportedLayerError } from '../errors.js';
import type { Config, ConvertContext, LayerLike, LayerOp } from '../types.js';
import { alignLayer, channelsLast, layerWeights, pair, requireWeight, spec, withValues } from './common.js';

/** Conv2D (NHWC, kernel [kh, kw, cin, cout]); dilation through a dilated kernel. */

export function convertConv2D(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  channelsLast(layer, cfg);
  const act = activationOf(layer, cfg.activation);
  const strides = pair(cfg.strides ?? 1, 'strides', layer);
  const dilation = pair(cfg.dilationRate ?? 1, 'dilationRate', layer);
  const padding = cfg.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same')
    throw new UnsupportedLayerError(
      layer.name,
      'Conv2D',
      `has padding '${String(padding)}' (only 'valid' and 'same' are re-implemented)`,
    );
  const ws = layerWeights(layer);
  const kernel = requireWeight(layer, ws, 'kernel');
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const a = initActivation(act.name, cc.nextActivation);
  const l = cc.layerIndex++;
  const fanIn = kh * kw * cin;
  const fanOut = kh * kw * cout;
  const entries: [string, ParamSpec][] = [
    ['kernel', spec(layer.name, 'kernel', [kh, kw, cin, cout], 'weight', l, fanIn, fanOut, a)],
  ];
  if (cfg.useBias !== false) {
    requireWeight(layer, ws, 'bias');
    entries.push(['bias', spec(layer.name, 'bias', [cout], 'bias', l, fanIn, fanOut, a)]);
  }
  const { specs, values } = withValues(layer, ws, entries);
  const dilated = dilation[0] > 1 || dilation[1] > 1;
  return {
    layerName: layer.name,
    className: 'Conv2D',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights) => {
      const { ts } = alignLayer(specs, weights);
      const k = dilated ? dilateKernel(ts[0]!, dilation) : ts[0]!;
      return act.fn(conv2d(x, k, ts[1], { stride: strides, padding: padding as 'valid' | 'same' }));
    },
  };
}
