import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { choice, floatOption, intOption } from '../args.js';
import { loadTf } from '../lazy.js';
import { prepareOutDir, prepareOutFile } from '../out-dir.js';
import { BACKENDS, UsageError } from '../continual/options.js';
import { userPath } from '../continual/command.js';
import {
  EVAL_DEFAULTS,
  EVAL_SPLITS,
  FAMILIES,
  GHN_TYPES,
  OPTIMIZERS,
  SOURCES,
  TRAIN_DEFAULTS,
  evalSchema,
  predictSchema,
  trainFingerprint,
  trainSchema,
  validate,
} from './options.js';
import { given, ioFor, jsonLine, words } from '../command-io.js';
import { ZOO_MODELS } from './zoo-names.js';

/** What `ghn train` and `ghn eval` write into --out. */
export const TRAIN_FILES = [
  'checkpoint.json',
  'checkpoint.safetensors',
  'ghn.safetensors',
  'results.json',
  'summary.md',
  'learning-curves.svg',
  'learning-curves.png',
] as const;
export const EVAL_FILES = ['results.json', 'summary.md'] as const;

/** The heavy part (tfjs, the packages), loaded when a command runs. */
async function runner() {
  await loadTf();
  return import('./run.js');
}

async function requireFile(flag: string, path: string): Promise<void> {
  const ok = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!ok) throw new UsageError(`${flag} ${path}: no such file`);
}

/** A GHN file: it exists and its safetensors header is valid (checked before a backend starts). */
async function requireGhnFile(flag: string, path: string): Promise<void> {
  await requireFile(flag, path);
  const { readSafetensorsHeader } = await import('@hypernets/core');
  try {
    await readSafetensorsHeader(path);
  } catch (e) {
    throw new UsageError(
      `${flag} ${path}: not a readable safetensors file (${(e as Error).message}); pass a GHN that ghn train wrote, or a converted ppuda/ghn3 checkpoint`,
      { cause: e },
    );
  }
}

const TRAIN_KEYS = [
  'steps',
  'archsPerStep',
  'batchSize',
  'lr',
  'weightDecay',
  'gradClip',
  'seed',
  'ghnType',
  'hid',
  'source',
  'families',
  'trainSamples',
  'checkpointEvery',
  'backend',
] as const;
const PREDICT_KEYS = ['ghn', 'model', 'out', 'numClasses', 'backend'] as const;
const EVAL_KEYS = [
  'ghn',
  'split',
  'archs',
  'models',
  'fineTuneSteps',
  'optimizer',
  'lr',
  'testSamples',
  'batchSize',
  'seed',
  'backend',
] as const;

/** `hypernets ghn train | predict | eval`. */
export function ghnCommand(): Command {
  const ghn = new Command('ghn')
    .exitOverride()
    .description(
      'graph hypernetworks (GHN-2): meta-train on MNIST, predict the parameters of zoo models, evaluate predicted parameters',
    );

  ghn
    .command('train')
    .exitOverride()
    .description(
      "meta-train a GHN-2 / GHN-3 / LoGAH on MNIST (ppuda's train_ghn.py: Adam, weight decay, clipping, m architectures per step)",
    )
    .addOption(intOption('--steps', `training steps (default ${TRAIN_DEFAULTS.steps})`))
    .addOption(
      intOption('--archs-per-step', `architectures per step (default ${TRAIN_DEFAULTS.archsPerStep}, GHN-2's m)`, 'm'),
    )
    .addOption(intOption('--batch-size', `images per step (default ${TRAIN_DEFAULTS.batchSize})`))
    .addOption(floatOption('--lr', `Adam learning rate (default ${TRAIN_DEFAULTS.lr}; ×0.1 at 2/3 and 5/6 of the run)`))
    .addOption(floatOption('--weight-decay', `default ${TRAIN_DEFAULTS.weightDecay}`))
    .addOption(floatOption('--grad-clip', `global gradient-norm clip (default ${TRAIN_DEFAULTS.gradClip})`))
    .addOption(intOption('--seed', 'random seed (default 0)'))
    .addOption(
      choice(
        'ghn-type',
        GHN_TYPES,
        "the GHN: 'ghn2' (ppuda's GatedGNN, max_shape 2·hid), 'ghn3' (Graphormer layers, max_shape hid) or " +
          "'logah' (GHN-3 with LoGAH's low-rank decoder, rank hid/2); default ghn2",
      ),
    )
    .addOption(intOption('--hid', `GHN node embedding size (default ${TRAIN_DEFAULTS.hid})`))
    .addOption(
      choice(
        'source',
        SOURCES,
        "architectures: 'small' (MLP/CNN/ResNet family) or 'sampler' (DeepNets-1M-style ArchSampler); default small",
      ),
    )
    .option(
      '--families <list>',
      `kinds of the small family, of ${FAMILIES.join(', ')} (default ${TRAIN_DEFAULTS.families.join(',')})`,
      words,
    )
    .addOption(intOption('--train-samples', 'use the first n MNIST training images (default all 60,000)'))
    .addOption(
      intOption(
        '--checkpoint-every',
        `checkpoint every n steps, and at the end (default ${TRAIN_DEFAULTS.checkpointEvery})`,
      ),
    )
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .option(
      '--out <dir>',
      'output directory: checkpoint, ghn.safetensors, results.json, summary.md (default runs/ghn-train-s<seed>)',
    )
    .option('--resume', 'continue the run whose checkpoint is in --out')
    .option(
      '--overwrite',
      'replace the run in --out (without --resume or --overwrite, an --out holding a run is refused)',
    )
    .option('--json', 'print one JSON result line at the end (progress goes to stderr)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = validate(trainSchema, { ...TRAIN_DEFAULTS, ...given(opts, cmd, TRAIN_KEYS) });
      const out = userPath((opts.out as string | undefined) ?? `runs/ghn-train-s${o.seed}`);
      const json = Boolean(opts.json);
      const resume = Boolean(opts.resume);
      await prepareOutDir({
        flag: '--out',
        out,
        files: TRAIN_FILES,
        overwrite: Boolean(opts.overwrite),
        resume: { resume, fingerprint: trainFingerprint(o) },
      });
      const { runGhnTrain } = await runner();
      const s = await runGhnTrain(o, out, { resume, io: ioFor(json) });
      if (json)
        jsonLine({
          steps: s.steps,
          final_loss: s.final_loss,
          final_accuracy: s.final_accuracy,
          skipped: s.skipped,
          archs_seen: s.archs_seen,
          seconds: s.seconds,
          ms_per_step: s.ms_per_step,
          backend: s.backend,
          device: s.device,
          ghn: s.ghn,
          out,
        });
    });

  ghn
    .command('predict')
    .exitOverride()
    .description(
      'write the parameters a GHN predicts for a zoo model, under its PyTorch parameter names in PyTorch layout (safetensors)',
    )
    .requiredOption(
      '--ghn <file>',
      'GHN safetensors in ppuda layout (ghn train writes one; convert ppuda checkpoints with packages/graph/scripts)',
    )
    .requiredOption('--model <name>', `one of ${ZOO_MODELS.join(', ')}`)
    .requiredOption('--out <file>', 'output .safetensors')
    .addOption(intOption('--num-classes', "classifier outputs (default: the GHN's classes)"))
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .option('--overwrite', 'replace --out if it exists')
    .option('--json', 'print one JSON result line at the end')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = validate(predictSchema, given(opts, cmd, PREDICT_KEYS));
      o.ghn = userPath(o.ghn);
      o.out = userPath(o.out);
      await requireGhnFile('--ghn', o.ghn);
      await prepareOutFile('--out', o.out, Boolean(opts.overwrite));
      const json = Boolean(opts.json);
      const { runGhnPredict } = await runner();
      const s = await runGhnPredict(o, ioFor(json));
      if (json) jsonLine(s);
    });

  ghn
    .command('eval')
    .exitOverride()
    .description(
      'test accuracy on MNIST of the parameters a GHN predicts, with no training and after fine-tuning, next to the random init',
    )
    .requiredOption('--ghn <file>', 'GHN safetensors in ppuda layout')
    .addOption(
      choice(
        'split',
        EVAL_SPLITS,
        'architectures of a DeepNets-1M-style split (needs the ArchSampler); default: the zoo models of --models',
      ),
    )
    .addOption(intOption('--archs', `architectures drawn from --split (default ${EVAL_DEFAULTS.archs})`))
    .option(
      '--models <list>',
      `zoo models without --split, of ${ZOO_MODELS.join(', ')} (default ${EVAL_DEFAULTS.models.join(',')})`,
      words,
    )
    .addOption(
      intOption(
        '--fine-tune-steps',
        'also fine-tune each net this many steps from the predicted parameters and from its random init (default 0)',
      ),
    )
    .addOption(choice('optimizer', OPTIMIZERS, 'fine-tuning optimiser (default adam)'))
    .addOption(floatOption('--lr', 'fine-tuning learning rate (default 1e-3 adam, 1e-2 sgd)'))
    .addOption(intOption('--test-samples', 'first n MNIST test images (default all 10,000)'))
    .addOption(intOption('--batch-size', `test batch (BN nets use its statistics; default ${EVAL_DEFAULTS.batchSize})`))
    .addOption(intOption('--seed', 'seeds the architecture draw, random inits and fine-tuning order (default 0)'))
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .option('--out <dir>', 'output directory: results.json, summary.md (default runs/ghn-eval-<split|zoo>-s<seed>)')
    .option('--overwrite', 'replace the results in --out (without it, an --out holding results is refused)')
    .option('--json', 'print one JSON result line at the end')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = validate(evalSchema, { ...EVAL_DEFAULTS, ...given(opts, cmd, EVAL_KEYS) });
      o.ghn = userPath(o.ghn);
      await requireGhnFile('--ghn', o.ghn);
      const out = userPath((opts.out as string | undefined) ?? `runs/ghn-eval-${o.split ?? 'zoo'}-s${o.seed}`);
      await prepareOutDir({ flag: '--out', out, files: EVAL_FILES, overwrite: Boolean(opts.overwrite) });
      const json = Boolean(opts.json);
      const { runGhnEval } = await runner();
      const s = await runGhnEval(o, out, ioFor(json));
      if (json)
        jsonLine({
          split: s.split,
          mean_accuracy: s.mean_accuracy,
          mean_random_init: s.mean_random_init,
          mean_fine_tuned: s.mean_fine_tuned,
          archs: s.archs.map((a) => ({
            id: a.id,
            accuracy: a.accuracy,
            random_init: a.randomInit,
            fine_tuned: a.fineTuned ?? null,
          })),
          seconds: s.seconds,
          backend: s.backend,
          device: s.device,
          out,
        });
    });
  return ghn;
}
