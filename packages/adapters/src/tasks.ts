import { ConfigError } from '@hypernets/core';
import type { UseLite } from './backbone/load.js';
import type { TaskKind } from './heads.js';

/**
 * A labelled text task as @hypernets/data's text loaders return it (structurally: this package
 * does not depend on the data package): texts (and second texts for pairs) with class indices,
 * split into train/val/test.
 */
export interface LabelledTexts {
  readonly name: string;
  readonly kind: TaskKind;
  readonly labels: readonly string[];
  readonly train: readonly LabelledText[];
  readonly val: readonly LabelledText[];
  readonly test: readonly LabelledText[];
}

export interface LabelledText {
  readonly text: string;
  readonly pair?: string;
  readonly label: number;
}

/** One split, tokenised once: ids per text (and per second text), labels. */
export interface TokenizedSplit {
  readonly ids: readonly (readonly number[])[];
  readonly pair?: readonly (readonly number[])[];
  readonly labels: Int32Array;
}

export interface TokenizedTask {
  readonly name: string;
  readonly kind: TaskKind;
  readonly labels: readonly string[];
  /** Hyper-X's second factor (e.g. the text's source); default 0. */
  readonly domain?: number;
  readonly train: TokenizedSplit;
  readonly val: TokenizedSplit;
  readonly test: TokenizedSplit;
}

/**
 * Tokenises every text of a task once, clipped to `maxTokens` (≤ the encoder's 128), checking
 * labels and pairs as it goes (a bad label is a ConfigError naming the task, split and index).
 */
export function tokenizeTask(use: UseLite, task: LabelledTexts, maxTokens = 64, domain?: number): TokenizedTask {
  const max = use.net.constants.maxLength;
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > max)
    throw new ConfigError('maxTokens', `must be an integer in [1, ${max}], got ${maxTokens}`);
  if (task.labels.length < 2) throw new ConfigError(`${task.name}.labels`, 'a classification task needs ≥ 2 labels');
  const split = (which: 'train' | 'val' | 'test'): TokenizedSplit => {
    const rows = task[which];
    if (rows.length === 0) throw new ConfigError(`${task.name}.${which}`, 'is empty');
    const labels = new Int32Array(rows.length);
    rows.forEach((r, i) => {
      if (!Number.isInteger(r.label) || r.label < 0 || r.label >= task.labels.length)
        throw new ConfigError(
          `${task.name}.${which}[${i}].label`,
          `must be in [0, ${task.labels.length - 1}], got ${r.label}`,
        );
      if ((task.kind === 'pair') !== (typeof r.pair === 'string'))
        throw new ConfigError(
          `${task.name}.${which}[${i}]`,
          task.kind === 'pair' ? 'a pair task needs `pair` text' : 'has `pair` text in a single-text task',
        );
      labels[i] = r.label;
    });
    const clip = (texts: string[]) =>
      use.tokenize(texts).map((s) => (s.length > maxTokens ? s.slice(0, maxTokens) : s));
    return {
      ids: clip(rows.map((r) => r.text)),
      pair: task.kind === 'pair' ? clip(rows.map((r) => r.pair!)) : undefined,
      labels,
    };
  };
  return {
    name: task.name,
    kind: task.kind,
    labels: task.labels,
    domain,
    train: split('train'),
    val: split('val'),
    test: split('test'),
  };
}
