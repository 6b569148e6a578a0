import { ConfigError } from '@hypernets/core';
import { loadBrownGenres } from './brown.js';
import { loadReuters } from './reuters.js';
import { loadSotuParty } from './sotu.js';
import { loadSpamAssassin } from './spam.js';
import type { TextRootKey, TextTask, TextTaskName, TextTaskOptions } from './types.js';
import { loadWordnetGloss } from './wordnet.js';

export type { TextExample, TextRootKey, TextSource, TextTask, TextTaskName, TextTaskOptions } from './types.js';
export { loadSpamAssassin } from './spam.js';
export { loadSotuParty } from './sotu.js';
export { loadBrownGenres } from './brown.js';
export { loadReuters, reutersTask } from './reuters.js';
export type { ReutersTopic } from './reuters.js';
export { loadWordnetGloss } from './wordnet.js';
export { parseArff } from './arff.js';
export type { Arff, ArffAttribute, ArffLimits } from './arff.js';

/** The task names `loadTextTask` knows. */
export const TEXT_TASKS: readonly TextTaskName[] = [
  'spam',
  'sotu-party',
  'brown-genre',
  'brown-coarse',
  'reuters-grain',
  'reuters-corn',
  'wordnet-gloss',
];

/** Options of `loadTextTask`: the task options, the loaders' extras, and where each source lives. */
export type LoadTextTaskOptions = TextTaskOptions & {
  maxSynsets?: number;
  roots?: Partial<Record<TextRootKey, string>>;
};

/** Loads a text task by name (see `TEXT_TASKS`); an unknown name is a ConfigError listing the names. */
export async function loadTextTask(name: string, options: LoadTextTaskOptions = {}): Promise<TextTask> {
  const { roots = {}, maxSynsets, ...rest } = options;
  if (maxSynsets !== undefined && name !== 'wordnet-gloss')
    throw new ConfigError('maxSynsets', `applies to 'wordnet-gloss' only, not '${name}'`);
  switch (name as TextTaskName) {
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
