import { embeddingLookup } from '@hypernets/core';
import type { Config, ConvertContext, LayerLike, LayerOp } from '../types.js';
import { layerWeights, requireWeight, spec, withValues } from './common.js';

/** Embedding: a [vocab, dim] table looked up by integer ids. */

export function convertEmbedding(layer: LayerLike, _cfg: Config, cc: ConvertContext): LayerOp {
  const ws = layerWeights(layer);
  const table = requireWeight(layer, ws, 'embeddings');
  const [vocab, dim] = table.shape as [number, number];
  const l = cc.layerIndex++;
  const { specs, values } = withValues(layer, ws, [
    ['embeddings', spec(layer.name, 'embeddings', [vocab, dim], 'embedding', l, vocab, dim)],
  ]);
  return {
    layerName: layer.name,
    className: 'Embedding',
    specs,
    stateSpecs: [],
    values,
    external: false,
    run: (x, weights) => embeddingLookup(x, weights[specs[0]!.name]!),
  };
}
