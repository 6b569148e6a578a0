import { ConfigError } from '@hypernets/core';
import { loadBrownGenres } from './brown.js';
import { loadReuters } from './reuters.js';
import { loadSotuParty } from './sotu.js';
import { loadSpamAssassin } from './spam.js';
import type { TextRootKey, TextTask, TextTaskName, TextTaskOptions } from './types.js';
import { loadWordnetGloss } from './wordnet.js';
import { continuationTask } from './continuation.js';

export type { TextExample, TextRootKey, TextSource, TextTask, TextTaskName, TextTaskOptions } from './types.js';
export { loadSpamAssassin } from './spam.js';
export { loadSotuParty } from './sotu.js';
export { loadBrownGenres } from './brown.js';
export { loadReuters, reutersTask } from './reuters.js';
export type { ReutersTopic } from './reuters.js';
export { loadWordnetGloss } from './wordnet.js';
export { parseArff } from './arff.js';
export { continuationTask, CONTINUATION_LABELS } from './continuation.js';
export type { ContinuationOptions } from './continuation.js';
export type { Arff, ArffAttribute, ArffLimits } from './arff.js';
export {
  CHAR_ALPHABET,
  decodeChars,
  encodeChars,
  loadCharCorpus,
  mobyDickParts,
  normalizeText8,
} from './char-corpus.js';
export type { CharCorpus, CharCorpusOptions, MobyDickPart } from './char-corpus.js';

/** The task names `loadTextTask` knows. */
export const TEXT_TASKS: readonly TextTaskName[] = [
  'spam',
  'sotu-party',
  'brown-genre',
  'brown-coarse',
  'reuters-grain',
  'reuters-corn',
  'wordnet-gloss',
  'spam-continuation',
  'sotu-continuation',
  'brown-continuation',
  'reuters-continuation',
];

/** The corpus (Hyper-X's domain) of each task, and for the continuation tasks the task they are built from. */
export const TEXT_TASK_DOMAINS: Readonly<Record<TextTaskName, { domain: string; base?: TextTaskName }>> = {
  spam: { domain: 'spamassassin' },
  'sotu-party': { domain: 'sotu' },
  'brown-genre': { domain: 'brown' },
  'brown-coarse': { domain: 'brown' },
  'reuters-grain': { domain: 'reuters' },
  'reuters-corn': { domain: 'reuters' },
  'wordnet-gloss': { domain: 'wordnet' },
  'spam-continuation': { domain: 'spamassassin', base: 'spam' },
  'sotu-continuation': { domain: 'sotu', base: 'sotu-party' },
  'brown-continuation': { domain: 'brown', base: 'brown-coarse' },
  'reuters-continuation': { domain: 'reuters', base: 'reuters-grain' },
};

/** Options of `loadTextTask`: the task options, the loaders' extras, and where each source lives. */
export type LoadTextTaskOptions = TextTaskOptions & {
  maxSynsets?: number;
  roots?: Partial<Record<TextRootKey, string>>;
};

/**
 * Loads a text task by name (see `TEXT_TASKS`), with its `family` and `domain` set (see
 * TEXT_TASK_DOMAINS); an unknown name is a ConfigError listing the names. A continuation task
 * is built from its base task loaded with the same options (`continuationTask`, pairing seeded
 * by `seed`).
 */
export async function loadTextTask(name: string, options: LoadTextTaskOptions = {}): Promise<TextTask> {
  const info = TEXT_TASK_DOMAINS[name as TextTaskName] as (typeof TEXT_TASK_DOMAINS)[TextTaskName] | undefined;
  if (!info || !Object.hasOwn(TEXT_TASK_DOMAINS, name))
    throw new ConfigError('name', `unknown text task ${JSON.stringify(name)}; known: ${TEXT_TASKS.join(', ')}`);
  if (info.base) {
    const base = await loadTextTask(info.base, options);
    return continuationTask(base, name, { seed: options.seed });
  }
  const task = await loadNative(name as TextTaskName, options);
  return { ...task, family: name, domain: info.domain };
}

async function loadNative(name: TextTaskName, options: LoadTextTaskOptions): Promise<TextTask> {
  const { roots = {}, maxSynsets, ...rest } = options;
  if (maxSynsets !== undefined && name !== 'wordnet-gloss')
    throw new ConfigError('maxSynsets', `applies to 'wordnet-gloss' only, not '${name}'`);
  switch (name) {
    case 'spam':
      return loadSpamAssassin(roots.stdlib, rest);
    case 'sotu-party':
      return loadSotuParty(roots.stdlib, rest);
    case 'brown-genre':
      return loadBrownGenres(roots.brown, rest);
    case 'brown-coarse':
      return loadBrownGenres(roots.brown, { ...rest, coarse: true });
    case 'reuters-grain':
      return loadReuters('grain', roots.weka, rest);
    case 'reuters-corn':
      return loadReuters('corn', roots.weka, rest);
    case 'wordnet-gloss':
      return loadWordnetGloss(roots.wordnet, maxSynsets === undefined ? rest : { ...rest, maxSynsets });
    default:
      throw new ConfigError('name', `unknown text task ${JSON.stringify(name)}; known: ${TEXT_TASKS.join(', ')}`);
  }
}
