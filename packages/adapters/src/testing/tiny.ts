// Test-only: a tiny encoder of the Universal Sentence Encoder lite's shape (random weights, a
// character tokenizer) and small tasks, so method and trainer tests run in seconds on cpu.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, initWeights, type Weights } from '@hypernets/core';
import { UseLiteEncoder } from '../backbone/use-lite.js';
import type { Backbone } from '../methods/method.js';
import type { TokenizedSplit, TokenizedTask } from '../tasks.js';

export const TINY_DIMS = { vocab: 40, width0: 8, width: 16, heads: 2, ffn: 24 } as const;

export function tinyBackbone(seed = 0): Backbone & { dispose(): void } {
  const inverseTimescales = Float32Array.from({ length: TINY_DIMS.width0 / 2 }, (_, i) => Math.exp(-i * 2));
  const net = new UseLiteEncoder(
    {
      inverseTimescales,
      queryScales: [1 / Math.sqrt(4), 1 / Math.sqrt(8)],
      normEps: 1e-6,
      l2Eps: 1e-12,
      maxLength: 16,
    },
    TINY_DIMS,
  );
  const rng = new Rng(seed);
  const init = initWeights(net.params, rng);
  const weights: Weights = {};
  for (const s of net.params) {
    weights[s.name] = tf.tidy(() => tf.add(init[s.name]!, rng.normal([...s.shape], 0, 0.2)));
    init[s.name]!.dispose();
  }
  return {
    net,
    weights,
    // a–z → 1…26, anything else → 27…39 by code point; at most 16 tokens
    tokenize: (texts) =>
      texts.map((t) =>
        [...t.toLowerCase()]
          .slice(0, 16)
          .map((c) => (c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : 27 + (c.charCodeAt(0) % 13))),
      ),
    dispose: () => tf.dispose(Object.values(weights)),
  };
}

/** A task whose label is a property of the text a tiny model can learn (does it contain `letter`?). */
export function tinyTask(
  name: string,
  letter: string,
  kind: 'single' | 'pair' = 'single',
  seed = 1,
  domain?: number,
): TokenizedTask {
  const rng = new Rng(seed);
  const word = () => Array.from({ length: rng.int(3, 10) }, () => String.fromCharCode(97 + rng.int(0, 25))).join('');
  const split = (n: number): TokenizedSplit => {
    const ids: number[][] = [];
    const pair: number[][] = [];
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const w = word();
      const v = word();
      labels[i] = kind === 'pair' ? (w[0] === v[0] ? 1 : 0) : w.includes(letter) ? 1 : 0;
      ids.push([...w].map((c) => c.charCodeAt(0) - 96));
      pair.push([...v].map((c) => c.charCodeAt(0) - 96));
    }
    return kind === 'pair' ? { ids, pair, labels } : { ids, labels };
  };
  return { name, kind, labels: ['no', 'yes'], domain, train: split(64), val: split(24), test: split(24) };
}
