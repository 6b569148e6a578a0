import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { choice, floatOption, intListOption, intOption } from '../args.js';
import { BACKENDS, UsageError } from '../continual/options.js';
import { userPath } from '../continual/command.js';
import { validate } from '../ghn/options.js';
import { loadTf } from '../lazy.js';
import { prepareOutDir } from '../out-dir.js';
import { FEWSHOT_FILES, storedFewshotRuns } from './fewshot.js';
import {
  FEWSHOT_DEFAULTS,
  MAX_TOKENS,
  METHODS,
  TASKS,
  TRAIN_DEFAULTS,
  fewshotFingerprint,
  fewshotSchema,
  predictSchema,
  trainFingerprint,
  trainSchema,
} from './options.js';
import { given, ioFor, jsonLine, words } from '../command-io.js';

/** What `adapters train` writes into --out (the trainer's checkpoint, the model, the report). */
export const TRAIN_FILES = [
  'checkpoint.json',
  'checkpoint.safetensors',
  'model.json',
  'model.safetensors',
  'results.json',
  'summary.md',
  'accuracy.svg',
  'accuracy.png',
  'curve.svg',
  'curve.png',
] as const;

/** The heavy part (tfjs, the packages), loaded when a command runs. */
async function runner() {
  await loadTf();
  return import('./run.js');
}

const TRAIN_KEYS = [
  'method',
  'tasks',
  'steps',
  'batchSize',
  'lr',
  'evalEvery',
  'maxExamples',
  'maxTokens',
  'reductionFactor',
  'projectedDim',
  'rescale',
  'domains',
  'seed',
  'checkpointEvery',
  'backend',
  'weka',
  'zeroShot',
] as const;
const PREDICT_KEYS = ['checkpoint', 'task', 'text', 'pair', 'backend'] as const;
const FEWSHOT_KEYS = [
  'source',
  'task',
  'shots',
  'draws',
  'methods',
  'steps',
  'lr',
  'batchSize',
  'seed',
  'maxExamples',
  'backend',
  'weka',
] as const;

const isReuters = (t: string) => t.startsWith('reuters-');

/** --weka (when a Reuters task needs it) must be a folder: checked before any work. */
async function checkWeka(o: { weka?: string; tasks: readonly string[] }): Promise<void> {
  if (o.weka === undefined || !o.tasks.some(isReuters)) return;
  const ok = await stat(o.weka).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!ok)
    throw new UsageError(
      `--weka ${o.weka}: no such folder; pass the folder holding Weka's ReutersGrain-*.arff / ReutersCorn-*.arff ` +
        '(`apt-get download weka && dpkg -x weka_*.deb <dir>`: <dir>/usr/share/doc/weka/examples)',
    );
}

/** What model.json of a model `adapters train` saved says: its method, options and tasks. */
interface SavedModel {
  method: string;
  options: Record<string, unknown>;
  tasks: { name: string; kind: string }[];
}

/** The method, options and tasks (name and kind) of the model `adapters train` saved in `dir`, read before a backend starts. */
async function savedModel(flag: string, dir: string): Promise<SavedModel> {
  const meta = join(dir, 'model.json');
  const tensors = join(dir, 'model.safetensors');
  for (const f of [meta, tensors]) {
    const ok = await stat(f).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!ok)
      throw new UsageError(
        `${flag} ${dir}: no trained model there (${f} is missing); pass the --out of a finished \`hypernets adapters train\``,
      );
  }
  let m: { method?: unknown; options?: unknown; tasks?: unknown } | undefined;
  try {
    const st = await stat(meta);
    if (st.size > 16 * 1024 * 1024) throw new Error(`${st.size} bytes`);
    const json = JSON.parse(await readFile(meta, 'utf8')) as { meta?: { adapterModel?: typeof m } };
    m = json.meta?.adapterModel;
  } catch (e) {
    throw new UsageError(`${flag} ${dir}: ${meta} is unreadable (${(e as Error).message})`, { cause: e });
  }
  const tasks = m?.tasks;
  if (
    !Array.isArray(tasks) ||
    tasks.length === 0 ||
    !tasks.every((t: { name?: unknown; kind?: unknown }) => typeof t?.name === 'string' && typeof t.kind === 'string')
  )
    throw new UsageError(`${flag} ${dir}: ${meta} is not an adapters model (no tasks)`);
  const options = m?.options;
  return {
    method: typeof m?.method === 'string' ? m.method : '(none)',
    options:
      typeof options === 'object' && options !== null && !Array.isArray(options)
        ? (options as Record<string, unknown>)
        : {},
    tasks: tasks as { name: string; kind: string }[],
  };
}

/** The tasks (name and kind) of the model `adapters train` saved in `dir`, read before a backend starts. */
async function savedModelTasks(flag: string, dir: string): Promise<{ name: string; kind: string }[]> {
  return (await savedModel(flag, dir)).tasks;
}

/** `hypernets adapters train | predict | fewshot`. */
/** --weka: where Weka's Reuters ARFF files are (train and fewshot). */
const wekaOption = () =>
  new Option(
    '--weka <dir>',
    "folder of Weka's Reuters ARFF files (reuters-* tasks; default $HYPERNETS_WEKA_EXAMPLES, else /usr/share/doc/weka/examples)",
  );

export function adaptersCommand(): Command {
  const adapters = new Command('adapters')
    .exitOverride()
    .description(
      'adapt a frozen pretrained text encoder (the Universal Sentence Encoder lite) to several text tasks: ' +
        'linear probe, fine-tuning, adapters, or adapters generated by a hypernetwork (HyperFormer, HyperFormer++, Hyper-X, PHA)',
    );

  adapters
    .command('train')
    .exitOverride()
    .description(
      "multi-task training on real text tasks (HyperFormer's protocol: temperature task sampling, label smoothing, " +
        'warm-up + linear decay, the best-validation model tested)',
    )
    .addOption(
      choice(
        'method',
        METHODS,
        'linear (heads only), finetune (the whole backbone), adapters (one per task), hyperformer (a hypernetwork ' +
          'per layer), hyperformer++ (one hypernetwork for every layer), hyperx (task and domain embeddings), ' +
          'pha (prototypes and a contrastive instance retriever)',
      ).makeOptionMandatory(),
    )
    .option(
      '--tasks <list>',
      `comma-separated, of ${TASKS.join(', ')} (default ${TRAIN_DEFAULTS.tasks.join(',')})`,
      words,
    )
    .addOption(intOption('--steps', `training steps (default ${TRAIN_DEFAULTS.steps})`))
    .addOption(intOption('--batch-size', `examples per step (default ${TRAIN_DEFAULTS.batchSize})`))
    .addOption(floatOption('--lr', `peak Adam learning rate (default ${TRAIN_DEFAULTS.lr})`))
    .addOption(intOption('--eval-every', 'validate every n steps (default steps/10), and at the end'))
    .addOption(
      intOption(
        '--max-examples',
        `examples per task, all splits (default ${TRAIN_DEFAULTS.maxExamples}; seeded sample)`,
      ),
    )
    .addOption(
      intOption('--max-tokens', `tokens per text, at most ${MAX_TOKENS} (default ${TRAIN_DEFAULTS.maxTokens})`),
    )
    .addOption(
      intOption(
        '--reduction-factor',
        `adapter bottleneck = 512 / this (default ${TRAIN_DEFAULTS.reductionFactor}; adapters, hyper methods)`,
      ),
    )
    .addOption(
      intOption(
        '--projected-dim',
        `width of the task projection the hypernetwork reads (default ${TRAIN_DEFAULTS.projectedDim})`,
      ),
    )
    .option('--rescale', "scale generated adapters by 1/√projected-dim (hyper-adapters' fix; default off)")
    .addOption(
      intListOption(
        '--domains',
        "Hyper-X: a domain id per task, in the order of --tasks (e.g. 0,0,1; default the tasks' corpora, numbered in order)",
        'ids',
      ),
    )
    .option(
      '--zero-shot <task>',
      "a task held out of training, tested at the end with its family's head and (Hyper-X) adapters generated " +
        'for its (family, corpus) pair, e.g. --tasks …,sotu-continuation,reuters-continuation --zero-shot brown-continuation',
    )
    .addOption(intOption('--seed', 'seeds the data splits, the init and the batches (default 0)'))
    .addOption(
      intOption(
        '--checkpoint-every',
        `checkpoint every n steps, and at the end (default ${TRAIN_DEFAULTS.checkpointEvery})`,
      ),
    )
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .addOption(wekaOption())
    .option(
      '--out <dir>',
      'output directory: checkpoint, model, results.json, summary.md, plots (default runs/adapters-<method>-s<seed>)',
    )
    .option('--resume', 'continue the run whose checkpoint is in --out')
    .option(
      '--overwrite',
      'replace the run in --out (without --resume or --overwrite, an --out holding a run is refused)',
    )
    .option('--json', 'print one JSON result line at the end (progress goes to stderr)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = validate(trainSchema, {
        ...TRAIN_DEFAULTS,
        ...given(opts, cmd, TRAIN_KEYS),
        rescale: Boolean(opts.rescale),
      });
      if (o.weka !== undefined) o.weka = userPath(o.weka);
      await checkWeka(o);
      const out = userPath((opts.out as string | undefined) ?? `runs/adapters-${o.method}-s${o.seed}`);
      const json = Boolean(opts.json);
      const resume = Boolean(opts.resume);
      await prepareOutDir({
        flag: '--out',
        out,
        files: TRAIN_FILES,
        overwrite: Boolean(opts.overwrite),
        resume: { resume, fingerprint: trainFingerprint(o) },
      });
      const { runAdaptersTrain } = await runner();
      const s = await runAdaptersTrain(o, out, { resume, io: ioFor(json) });
      if (json)
        jsonLine({
          method: s.method,
          tasks: s.tasks,
          acc: s.acc,
          avg_acc: s.avg_acc,
          trainable_params_per_task: s.trainable_params_per_task,
          backbone_params: s.backbone_params,
          seconds: s.seconds,
          backend: s.backend,
          device: s.device,
          out,
          ...(s.zero_shot ? { zero_shot: s.zero_shot } : {}),
        });
    });

  adapters
    .command('predict')
    .exitOverride()
    .description(
      "the label a model trained by `adapters train` gives a text (or a text pair), with each label's probability",
    )
    .requiredOption(
      '--checkpoint <dir>',
      'the --out of `hypernets adapters train` (reads its model.safetensors + model.json)',
    )
    .requiredOption('--task <name>', 'one of the tasks the model was trained on')
    .requiredOption('--text <text>', 'the text to classify')
    .option('--pair <text>', 'the second text, for pair tasks (wordnet-gloss: the definition)')
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .option('--json', 'print one JSON result line (task, label, probabilities)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = validate(predictSchema, given(opts, cmd, PREDICT_KEYS));
      o.checkpoint = userPath(o.checkpoint);
      const tasks = await savedModelTasks('--checkpoint', o.checkpoint);
      const task = tasks.find((t) => t.name === o.task);
      if (!task)
        throw new UsageError(
          `--task: '${o.task}' is not a task of the model in ${o.checkpoint}; it was trained on ${tasks.map((t) => t.name).join(', ')}`,
        );
      if (task.kind === 'pair' && o.pair === undefined)
        throw new UsageError(`--pair: task ${o.task} classifies text pairs; give the second text with --pair`);
      if (task.kind !== 'pair' && o.pair !== undefined)
        throw new UsageError(`--pair: task ${o.task} classifies single texts; leave --pair out`);
      const json = Boolean(opts.json);
      const { runAdaptersPredict } = await runner();
      const s = await runAdaptersPredict(o, ioFor(json));
      if (json) jsonLine({ task: s.task, label: s.label, probabilities: s.probabilities });
    });
  adapters
    .command('fewshot')
    .exitOverride()
    .description(
      'few-shot transfer to a held-out text task: PHA from the prototype its shots retrieve in a multi-task PHA ' +
        'model (`adapters train --method pha`), against fresh single-task baselines trained on the same shots',
    )
    .requiredOption(
      '--source <dir>',
      'the --out of `hypernets adapters train --method pha` (reads model.json + model.safetensors)',
    )
    .requiredOption('--task <name>', `the held-out task: one of ${TASKS.join(', ')}, not one the source was trained on`)
    .addOption(
      intListOption(
        '--shots',
        `labelled training examples per run, class-balanced, each ≥ 2 and ≥ the task's classes (default ${FEWSHOT_DEFAULTS.shots.join(',')})`,
        'list',
      ),
    )
    .addOption(
      intOption('--draws', `seeded draws of the shots per number of shots (default ${FEWSHOT_DEFAULTS.draws})`),
    )
    .option(
      '--methods <list>',
      `comma-separated, of ${METHODS.join(', ')} (default ${FEWSHOT_DEFAULTS.methods.join(',')}); the same shots for each`,
      words,
    )
    .addOption(intOption('--steps', `Adam steps per run (default ${FEWSHOT_DEFAULTS.steps})`))
    .addOption(floatOption('--lr', `peak learning rate (default ${FEWSHOT_DEFAULTS.lr})`))
    .addOption(
      intOption('--batch-size', `examples per step, at most the shots (default ${FEWSHOT_DEFAULTS.batchSize})`),
    )
    .addOption(
      intOption(
        '--seed',
        `seeds the data split, the shots (draw d: seed·1000 + d) and each run (seed + d) (default ${FEWSHOT_DEFAULTS.seed})`,
      ),
    )
    .addOption(
      intOption(
        '--max-examples',
        `examples of the task, all splits (default ${FEWSHOT_DEFAULTS.maxExamples}; seeded sample)`,
      ),
    )
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .addOption(wekaOption())
    .option(
      '--out <dir>',
      'output directory: results.json, summary.md, accuracy-vs-shots.{svg,png} (default runs/adapters-fewshot-<task>-s<seed>)',
    )
    .option('--resume', 'continue the run in --out: the runs in its results.json are not run again')
    .option(
      '--overwrite',
      'replace the run in --out (without --resume or --overwrite, an --out holding a run is refused)',
    )
    .option('--json', 'print one JSON result line at the end (progress goes to stderr)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = validate(fewshotSchema, { ...FEWSHOT_DEFAULTS, ...given(opts, cmd, FEWSHOT_KEYS) });
      o.source = userPath(o.source);
      if (o.weka !== undefined) o.weka = userPath(o.weka);
      const saved = await savedModel('--source', o.source);
      if (o.methods.includes('pha') && saved.method !== 'pha')
        throw new UsageError(
          `--source ${o.source}: holds a '${saved.method}' model; --methods pha transfers from a PHA model ` +
            '(`hypernets adapters train --method pha`): pass the --out of one, or leave pha out of --methods',
        );
      const trainedOn = saved.tasks.map((t) => t.name);
      if (trainedOn.includes(o.task)) {
        const heldOut = TASKS.filter((t) => !trainedOn.includes(t));
        throw new UsageError(
          `--task: '${o.task}' is one of the tasks the source model was trained on (${trainedOn.join(', ')}); ` +
            `few-shot transfer needs a held-out task${heldOut.length > 0 ? `: one of ${heldOut.join(', ')}` : ''}`,
        );
      }
      const maxTokens = saved.options.maxTokens;
      if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_TOKENS)
        throw new UsageError(
          `--source ${o.source}: model.json's options give no token budget (maxTokens ${JSON.stringify(maxTokens)}, ` +
            `want a whole number in [1, ${MAX_TOKENS}]); pass the --out of a finished \`hypernets adapters train\``,
        );
      await checkWeka({ weka: o.weka, tasks: [o.task] });
      const out = userPath((opts.out as string | undefined) ?? `runs/adapters-fewshot-${o.task}-s${o.seed}`);
      const json = Boolean(opts.json);
      const resume = Boolean(opts.resume);
      const overwrite = Boolean(opts.overwrite);
      // prepareOutDir's own --resume check reads a trainer's checkpoint.json: a fewshot run has none, its
      // results.json holds the configuration and the runs done
      const done = resume && !overwrite ? await storedFewshotRuns(out, fewshotFingerprint(o)) : [];
      await prepareOutDir({
        flag: '--out',
        out,
        files: FEWSHOT_FILES,
        overwrite,
        resume: { resume, fingerprint: null },
      });
      const { runAdaptersFewshot } = await runner();
      const s = await runAdaptersFewshot(
        o,
        out,
        { dir: o.source, method: saved.method, tasks: trainedOn, options: saved.options, maxTokens },
        { done, io: ioFor(json) },
      );
      if (json)
        jsonLine({
          task: o.task,
          source: o.source,
          shots: o.shots,
          acc: s.acc,
          runs: s.runs.map(({ method, shots, draw, acc, retrieved, trained, seconds }) => ({
            method,
            shots,
            draw,
            acc,
            ...(retrieved === undefined ? {} : { retrieved }),
            trained,
            seconds,
          })),
          seconds: s.seconds,
          backend: s.backend,
        });
    });
  return adapters;
}
