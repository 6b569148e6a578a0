import { ConfigError, Rng } from '@hypernets/core';
import { checkPositiveInt } from '@hypernets/core/internal';

/** The HyperLSTM's options and their validation. */

export interface HyperLSTMConfig {
  /** Features per time step; with `vocabSize`, the embedding width. */
  inputSize: number;
  /** Units H of the main LSTM. */
  hiddenSize: number;
  /** Units Ĥ of the hyper LSTM. Default 128 (the reference's documented default; its sketch-rnn signature says 256). */
  hyperHiddenSize?: number;
  /** Size E of the hyper embeddings z. Default 16 (reference documented default; sketch-rnn signature 32). */
  hyperEmbeddingSize?: number;
  /** Token ids [N, T] looked up in an `embedding.weight` [vocabSize, inputSize] table. */
  vocabSize?: number;
  /** Linear head on every step's hidden state (logits). Default: none. */
  outputSize?: number;
  /** Sequence length for `inputShape`/`outputShape`; `forward` takes any T ≥ 1. Default 100. */
  seqLength?: number;
  /** Layer norm in both cells (the paper's HyperLSTM + LN). Default true. */
  layerNorm?: boolean;
  /** Constant added to the forget gate pre-activation of both cells. Default 1 (reference). */
  forgetBias?: number;
  /** Recurrent dropout rate on the main cell's candidate tanh(g), in training mode. Default 0. */
  recurrentDropout?: number;
  /** Recurrent dropout rate in the hyper cell. Default 0. */
  hyperRecurrentDropout?: number;
  /** Std of an extra Gaussian init of the z_x, z_h projection weights (reference: 0). Default 0. */
  zWeightStd?: number;
  /** LN epsilon. Default 1e-3 (reference). */
  layerNormEps?: number;
  /** Seed (or Rng) for the initial values. Default 0. */
  seed?: number | Rng;
  name?: string;
}

export interface ResolvedHyperLSTMConfig {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly hyperHiddenSize: number;
  readonly hyperEmbeddingSize: number;
  readonly vocabSize: number | null;
  readonly outputSize: number | null;
  readonly seqLength: number;
  readonly layerNorm: boolean;
  readonly forgetBias: number;
  readonly recurrentDropout: number;
  readonly hyperRecurrentDropout: number;
  readonly zWeightStd: number;
  readonly layerNormEps: number;
}

const KEYS = new Set([
  'inputSize',
  'hiddenSize',
  'hyperHiddenSize',
  'hyperEmbeddingSize',
  'vocabSize',
  'outputSize',
  'seqLength',
  'layerNorm',
  'forgetBias',
  'recurrentDropout',
  'hyperRecurrentDropout',
  'zWeightStd',
  'layerNormEps',
  'seed',
  'name',
]);

function rate(field: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new ConfigError(field, `must be in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

/** A finite number, at least `min` (exclusive when `strict`). */
function finite(field: string, v: unknown, min = -Infinity, strict = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (strict && v === min))
    throw new ConfigError(field, `must be a finite number ${strict ? '>' : '≥'} ${min}, got ${JSON.stringify(v)}`);
  return v;
}

export function resolveHyperLSTMConfig(config: HyperLSTMConfig): ResolvedHyperLSTMConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('HyperLSTM', 'the config must be an object');
  for (const k of Object.keys(config))
    if (!KEYS.has(k)) throw new ConfigError(k, `unknown HyperLSTM option; known: ${[...KEYS].join(', ')}`);
  const opt = (field: string, v: unknown) => (v === undefined || v === null ? null : checkPositiveInt(field, v));
  if (config.layerNorm !== undefined && typeof config.layerNorm !== 'boolean')
    throw new ConfigError('layerNorm', `must be a boolean, got ${JSON.stringify(config.layerNorm)}`);
  return Object.freeze({
    inputSize: checkPositiveInt('inputSize', config.inputSize),
    hiddenSize: checkPositiveInt('hiddenSize', config.hiddenSize),
    hyperHiddenSize: checkPositiveInt('hyperHiddenSize', config.hyperHiddenSize ?? 128),
    hyperEmbeddingSize: checkPositiveInt('hyperEmbeddingSize', config.hyperEmbeddingSize ?? 16),
    vocabSize: opt('vocabSize', config.vocabSize),
    outputSize: opt('outputSize', config.outputSize),
    seqLength: checkPositiveInt('seqLength', config.seqLength ?? 100),
    layerNorm: config.layerNorm ?? true,
    forgetBias: finite('forgetBias', config.forgetBias ?? 1),
    recurrentDropout: rate('recurrentDropout', config.recurrentDropout ?? 0),
    hyperRecurrentDropout: rate('hyperRecurrentDropout', config.hyperRecurrentDropout ?? 0),
    zWeightStd: finite('zWeightStd', config.zWeightStd ?? 0, 0),
    layerNormEps: finite('layerNormEps', config.layerNormEps ?? 1e-3, 0, true),
  });
}
