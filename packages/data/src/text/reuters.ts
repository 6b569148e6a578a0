import { ConfigError, Rng } from '@hypernets/core';
import { DatasetError } from '../errors.js';
import { parseArff, type Arff } from './arff.js';
import { capExamples, collapse, MB, parseOptions, readBounded, splitGroups, truncate } from './common.js';
import type { TextExample, TextTask, TextTaskOptions } from './types.js';

export type ReutersTopic = 'grain' | 'corn';

/** Debian's weka 3.6.14-3 puts the example ARFF files here. */
export const WEKA_EXAMPLES = '/usr/share/doc/weka/examples';

/** Documents per file in Weka 3.6.14's examples (ModApte, 1 fold of 5): the splits are written down for these. */
export const REUTERS_ROWS = { train: 1554, test: 604 } as const;

const INSTALL =
  "get the files from Debian's weka package (Java is needed to install it, not to extract it): `apt-get download weka && dpkg -x weka_*.deb <dir>`, then pass `<dir>/usr/share/doc/weka/examples` (or set HYPERNETS_WEKA_EXAMPLES to it)";

const fileName = (topic: ReutersTopic, part: 'train' | 'test') =>
  `Reuters${topic === 'grain' ? 'Grain' : 'Corn'}-${part}.arff`;

/** A Reuters ARFF's documents as (text, 0/1) after checking its two attributes. */
export function reutersDocuments(arff: Arff, file: string): { text: string; label: number }[] {
  const [t, c] = arff.attributes;
  if (
    arff.attributes.length !== 2 ||
    t?.type !== 'string' ||
    c?.type !== 'nominal' ||
    c.values.length !== 2 ||
    c.values[0] !== '0' ||
    c.values[1] !== '1'
  )
    throw new DatasetError(file, 'is not a Weka Reuters file: expected the attributes Text (string) and a class {0,1}');
  return arff.rows.map((r, i) => {
    if (r[1] === '?') throw new DatasetError(file, `row ${i + 1} has no class`);
    const text = collapse(r[0]!.replace(/&#3;\s*$/, '').replace(/\s+Reuter\s*$/, ''));
    return { text, label: r[1] === '1' ? 1 : 0 };
  });
}

/**
 * Builds the task from the two files' parsed contents (used by `loadReuters`; exposed for
 * excerpts): val = a seeded 10% of train, stratified by label; test = Weka's test file.
 */
export function reutersTask(
  topic: ReutersTopic,
  train: Arff,
  test: Arff,
  options: TextTaskOptions = {},
  names: { train: string; test: string } = { train: fileName(topic, 'train'), test: fileName(topic, 'test') },
): TextTask {
  if (options.split !== undefined)
    throw new ConfigError(
      'split',
      "Reuters keeps Weka's own train/test split (val is a seeded 10% of train); leave split out",
    );
  const opts = parseOptions(options);
  const rng = new Rng(opts.seed);
  const make = (docs: { text: string; label: number }[], part: 'train' | 'test'): TextExample[] =>
    docs
      .map((d, i) => ({
        text: truncate(d.text, opts.maxChars),
        label: d.label,
        group: `${part}/${i}`,
        meta: { index: i },
      }))
      .filter((e) => e.text.length > 0);
  const tr = make(reutersDocuments(train, names.train), 'train');
  const te = make(reutersDocuments(test, names.test), 'test');
  const where = splitGroups(new Map(tr.map((e) => [e.group, String(e.label)])), [0.9, 0.1, 0], rng);
  const splits = capExamples(
    { train: tr.filter((e) => where.get(e.group) === 0), val: tr.filter((e) => where.get(e.group) === 1), test: te },
    opts.maxExamples,
    rng,
  );
  return {
    name: `reuters-${topic}`,
    kind: 'single',
    labels: ['other', topic],
    ...splits,
    source: {
      package: 'weka (Debian)',
      version: '3.6.14-3',
      files: `${fileName(topic, 'train')}, ${fileName(topic, 'test')}`,
      license: 'GPL-2.0-or-later (the Weka distribution); the texts are Reuters-21578 (free for research use)',
    },
  };
}

/**
 * Reuters-21578 "grain" or "corn" vs other (ModApte, as in Weka 3.6.14's examples: 1,554 train and
 * 604 test documents). `dir` defaults to `HYPERNETS_WEKA_EXAMPLES`, else `/usr/share/doc/weka/examples`.
 */
export async function loadReuters(topic: ReutersTopic, dir?: string, options: TextTaskOptions = {}): Promise<TextTask> {
  if (topic !== 'grain' && topic !== 'corn')
    throw new ConfigError('topic', `must be 'grain' or 'corn', got ${JSON.stringify(topic)}`);
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const folder = dir ?? process.env['HYPERNETS_WEKA_EXAMPLES'] ?? WEKA_EXAMPLES;
  const read = async (part: 'train' | 'test') => {
    const file = path.join(folder, fileName(topic, part));
    const text = (await readBounded(fs, file, 16 * MB, INSTALL)).toString('utf8');
    const arff = parseArff(text, file);
    if (arff.rows.length !== REUTERS_ROWS[part])
      throw new DatasetError(
        file,
        `holds ${arff.rows.length} documents, not the ${REUTERS_ROWS[part]} of Weka 3.6.14's file the splits are written down for; ${INSTALL}`,
      );
    return { file, arff };
  };
  // one after the other, so that a problem is always reported for the train file first
  const train = await read('train');
  const test = await read('test');
  return reutersTask(topic, train.arff, test.arff, options, { train: train.file, test: test.file });
}
