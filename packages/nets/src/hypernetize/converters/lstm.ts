import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeMismatchError, lstmLayer, type ParamSpec } from '@hypernets/core';
import { activationOf } from '../activations.js';
import { UnsupportedLayerError } from '../errors.js';
import type { Config, ConvertContext, LayerLike, LayerOp } from '../types.js';
import { alignLayer, layerWeights, requireWeight, spec, withValues } from './common.js';

/** LSTM (not stateful, one output), run with core's LSTM layer and the Keras layer's activations. */

export function convertLSTM(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  const unsupported = (why: string) => new UnsupportedLayerError(layer.name, 'LSTM', why);
  if (cfg.stateful) throw unsupported('is stateful (state carried across calls is not re-implemented)');
  if (cfg.returnState) throw unsupported('has returnState: true (one output per layer is re-implemented)');
  const act = activationOf(layer, cfg.activation ?? 'tanh');
  const rec = activationOf(layer, cfg.recurrentActivation ?? 'hardSigmoid', 'recurrentActivation');
  const dropoutRate = Number(cfg.dropout ?? 0) + Number(cfg.recurrentDropout ?? 0);
  const returnSequences = cfg.returnSequences === true;
  const goBackwards = cfg.goBackwards === true;
  const ws = layerWeights(layer);
  const kernel = requireWeight(layer, ws, 'kernel');
  requireWeight(layer, ws, 'recurrent_kernel');
  const [inSize, g] = kernel.shape as [number, number];
  const h = g / 4;
  const l = cc.layerIndex++;
  // Keras packs the gates as [i, f, c, o] along the last axis, the layout (and order) of
  // core's LSTM (i, f, g, o): no conversion.
  const entries: [string, ParamSpec][] = [
    ['kernel', spec(layer.name, 'kernel', [inSize, g], 'weight', l, inSize, g, act.name)],
    ['recurrent_kernel', spec(layer.name, 'recurrent_kernel', [h, g], 'recurrent-weight', l, h, g, act.name)],
  ];
  if (cfg.useBias !== false) {
    requireWeight(layer, ws, 'bias');
    entries.push(['bias', spec(layer.name, 'bias', [g], 'bias', l, inSize, g, act.name)]);
  }
  const { specs, values } = withValues(layer, ws, entries);
  return {
    layerName: layer.name,
    className: 'LSTM',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights, ctx) => {
      if (ctx.options.training && dropoutRate > 0)
        throw new ConfigError(
          `layers['${layer.name}']`,
          `LSTM '${layer.name}' has dropout/recurrentDropout, which is not re-implemented in training mode; set them to 0 or run with training: false`,
        );
      if (x.rank !== 3 || x.shape[2] !== inSize)
        throw new ShapeMismatchError(
          `input of LSTM '${layer.name}'`,
          [x.shape[0] ?? -1, -1, inSize],
          x.shape,
          `pass [N, T, ${inSize}]`,
        );
      const { ts } = alignLayer(specs, weights);
      const [wIh, wHh, b] = ts as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const seq = goBackwards ? tf.reverse(x, 1) : x;
      // core's LSTM layer with the Keras layer's own activations.
      const hs = lstmLayer(seq, wIh, wHh, b, { gate: rec.fn, cell: act.fn });
      return returnSequences ? tf.stack(hs, 1) : hs[hs.length - 1]!;
    },
  };
}
