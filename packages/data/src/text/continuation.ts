import { ConfigError, Rng } from '@hypernets/core';
import type { TextExample, TextTask } from './types.js';

/**
 * A "does this continue that?" sentence-pair task built from any single-text task's passages, so
 * the same task exists in every corpus (Hyper-X's task × domain grid from real text):
 *
 *   text = the first `half` words of a passage, pair = the next `half` words of the same passage
 *   (label 'continues') or of a passage of another group (another document, email, speech) of
 *   the same split (label 'other'), by a seeded fair coin per passage.
 *
 * Both halves have exactly `half` words, so length says nothing; passages shorter than 2·half
 * words are left out. Splits stay group-disjoint (a negative's second half comes from the same
 * split), and the pairing is fixed by `seed`.
 */
export interface ContinuationOptions {
  /** Words in each half. Default 20. */
  half?: number;
  seed?: number;
}

export const CONTINUATION_LABELS = ['other', 'continues'] as const;

export function continuationTask(base: TextTask, name: string, options: ContinuationOptions = {}): TextTask {
  const half = options.half ?? 20;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(half) || half < 1) throw new ConfigError('half', `must be a positive integer, got ${half}`);
  if (base.kind !== 'single')
    throw new ConfigError('base', `${base.name} is a pair task; a continuation task is built from single texts`);
  const rng = new Rng(seed).fork();
  const split = (which: 'train' | 'val' | 'test'): TextExample[] => {
    const long = base[which]
      .map((e) => ({ e, words: e.text.split(/\s+/).filter(Boolean) }))
      .filter((x) => x.words.length >= 2 * half);
    const groups = new Set(long.map((x) => x.e.group));
    if (groups.size < 2)
      throw new ConfigError(
        'base',
        `${base.name}'s ${which} split has ${long.length} passages of ≥ ${2 * half} words from ${groups.size} group(s); ` +
          'a continuation task needs passages of at least two groups (lower `half` or load more examples)',
      );
    return long.map(({ e, words }) => {
      const first = words.slice(0, half).join(' ');
      if (rng.uniform() < 0.5)
        return { text: first, pair: words.slice(half, 2 * half).join(' '), label: 1, group: e.group };
      let other = long[rng.int(0, long.length - 1)]!;
      while (other.e.group === e.group) other = long[rng.int(0, long.length - 1)]!;
      return { text: first, pair: other.words.slice(half, 2 * half).join(' '), label: 0, group: e.group };
    });
  };
  return {
    name,
    kind: 'pair',
    labels: CONTINUATION_LABELS,
    train: split('train'),
    val: split('val'),
    test: split('test'),
    source: base.source,
    family: 'continuation',
    domain: base.domain,
  };
}
