import type { ParamSpec } from '@hypernets/core';
import { linear } from '@hypernets/core';
import { activationOf, initActivation } from '../activations.js';
import type { Config, ConvertContext, LayerLike, LayerOp } from '../types.js';
import { alignLayer, layerWeights, requireWeight, spec, withValues } from './common.js';

/** Dense: `activation(x · kernel + bias)`, kernel [in, units] (tfjs layout, core's `linear`). */

export function convertDense(layer: LayerLike, cfg: Config, cc: ConvertContext): LayerOp {
  const act = activationOf(layer, cfg.activation);
  const ws = layerWeights(layer);
  const kernel = requireWeight(layer, ws, 'kernel');
  const [inSize, units] = kernel.shape as [number, number];
  const a = initActivation(act.name, cc.nextActivation);
  const l = cc.layerIndex++;
  const entries: [string, ParamSpec][] = [
    ['kernel', spec(layer.name, 'kernel', [inSize, units], 'weight', l, inSize, units, a)],
  ];
  if (cfg.useBias !== false) {
    requireWeight(layer, ws, 'bias');
    entries.push(['bias', spec(layer.name, 'bias', [units], 'bias', l, inSize, units, a)]);
  }
  const { specs, values } = withValues(layer, ws, entries);
  return {
    layerName: layer.name,
    className: 'Dense',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights) => {
      const { ts } = alignLayer(specs, weights);
      return act.fn(linear(x, ts[0]!, ts[1]));
    },
  };
}
