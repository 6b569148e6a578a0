import { ConfigError } from '@hypernets/core';

/**
 * SentencePiece unigram tokenizer (Viterbi over the pieces' log-probabilities), as the
 * Universal Sentence Encoder lite was trained with: NFKC, spaces become '▁' and one '▁' is
 * prepended, the most likely segmentation wins. Ids index the vocabulary; the first
 * `reserved` entries (unknown, <s>, </s>, …) are never matched as pieces, an unmatched
 * character becomes the unknown id 0, and runs of unknowns merge into one.
 *
 * Positions are UTF-16 code units and ties go to the later start, as in the tokenizer of
 * `@tensorflow-models/universal-sentence-encoder` (the ids its model was run with; the test
 * compares the two on real text).
 */

/**
 * One vocabulary entry: the piece and its log-probability. A null score (the encoder's
 * user-defined symbols such as '://') counts as 0, as in the reference tokenizer.
 */
export type VocabEntry = readonly [piece: string, score: number | null];

interface TrieNode {
  children: Map<number, TrieNode>;
  /** Vocabulary index when a piece ends here, else -1. */
  id: number;
}

const SEPARATOR = '\u2581';
/** The encoder's vocabulary has 8,002 entries; refuse anything absurd before building the trie. */
const MAX_VOCAB = 1_000_000;
const MAX_PIECE = 256;

export class SentencePieceTokenizer {
  readonly vocabulary: readonly VocabEntry[];
  private readonly root: TrieNode = { children: new Map(), id: -1 };

  constructor(vocabulary: readonly VocabEntry[], reserved = 6) {
    if (!Array.isArray(vocabulary) || vocabulary.length <= reserved || vocabulary.length > MAX_VOCAB)
      throw new ConfigError(
        'vocabulary',
        `must be an array of [piece, score] with more than ${reserved} and at most ${MAX_VOCAB} entries (got ${
          Array.isArray(vocabulary) ? vocabulary.length : typeof vocabulary
        })`,
      );
    vocabulary.forEach((e, i) => {
      const ok =
        Array.isArray(e) &&
        typeof e[0] === 'string' &&
        e[0].length > 0 &&
        e[0].length <= MAX_PIECE &&
        (e[1] === null || (typeof e[1] === 'number' && Number.isFinite(e[1])));
      if (!ok) throw new ConfigError(`vocabulary[${i}]`, 'must be [piece (1–256 characters), finite score or null]');
    });
    this.vocabulary = vocabulary;
    for (let i = reserved; i < vocabulary.length; i++) {
      const piece = vocabulary[i][0];
      let node = this.root;
      for (let c = 0; c < piece.length; c++) {
        const u = piece.charCodeAt(c);
        let next = node.children.get(u);
        if (!next) {
          next = { children: new Map(), id: -1 };
          node.children.set(u, next);
        }
        node = next;
      }
      node.id = i;
    }
  }

  /** Token ids of `text` (empty text: no tokens). */
  encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    if (normalized.length === 0) return [];
    const s = SEPARATOR + normalized.replace(/ /g, SEPARATOR);
    const n = s.length;
    // For each end position, the candidate pieces ending there, grouped by start (ascending).
    const ending: { start: number; id: number; score: number }[][] = Array.from({ length: n + 1 }, () => []);
    for (let i = 0; i < n; i++) {
      let node = this.root.children.get(s.charCodeAt(i));
      let matched = false;
      for (let j = i; node; j++) {
        if (node.id >= 0) {
          ending[j + 1].push({ start: i, id: node.id, score: this.vocabulary[node.id][1] ?? 0 });
          matched = true;
        }
        node = j + 1 < n ? node.children.get(s.charCodeAt(j + 1)) : undefined;
      }
      if (!matched) ending[i + 1].push({ start: i, id: 0, score: 0 });
    }
    const best = new Float64Array(n + 1);
    const word = new Int32Array(n + 1);
    for (let end = 1; end <= n; end++) {
      const cands = ending[end].sort((a, b) => a.start - b.start);
      for (const c of cands) {
        const score = c.score + best[c.start];
        // A best of exactly 0 counts as unset (the reference's convention), ties go to the later start.
        if (best[end] === 0 || score >= best[end]) {
          best[end] = score;
          word[end] = c.id;
        }
      }
    }
    const out: number[] = [];
    for (let at = n; at > 0;) {
      const id = word[at];
      out.push(id);
      at -= this.vocabulary[id][0].length;
    }
    out.reverse();
    return out.filter((id, i) => !(id === 0 && i > 0 && out[i - 1] === 0));
  }
}
