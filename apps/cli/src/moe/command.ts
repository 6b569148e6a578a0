import { Command } from 'commander';
import { choice, floatOption, intListOption, intOption } from '../args.js';
import { given, ioFor, jsonLine } from '../command-io.js';
import { userPath } from '../continual/command.js';
import { BACKENDS } from '../continual/options.js';
import { validate } from '../ghn/options.js';
import { prepareOutDir } from '../out-dir.js';
import { requireCheckpoint, runner, typedCommand } from './common.js';
import { domainbedCommand } from './domainbed-command.js';
import { DEFAULT_HYPER_SIZE, LM_DEFAULTS, POSITIONS, ROUTERS, lmFingerprint, lmSchema, resolveLm } from './options.js';

/** What `moe lm` writes into --out (the trainer's checkpoint, the report). */
export const LM_FILES = [
  'checkpoint.json',
  'checkpoint.safetensors',
  'results.json',
  'summary.md',
  'bpc-vs-k.svg',
  'bpc-vs-k.png',
  'usage.svg',
  'usage.png',
  'curve.svg',
  'curve.png',
] as const;

const LM_KEYS = [
  'router',
  'steps',
  'batchSize',
  'seqLength',
  'dModel',
  'heads',
  'layers',
  'experts',
  'expertHidden',
  'hyperSize',
  'kStart',
  'kEnd',
  'evalK',
  'testK',
  'evalEvery',
  'evalSymbols',
  'testSymbols',
  'lr',
  'gradClip',
  'loadBalance',
  'positions',
  'seed',
  'checkpointEvery',
  'backend',
] as const;

/** `hypernets moe lm`: a mixture-of-experts character language model, routed by SMoE, SMoE-Dropout or HyperRouter. */
function lmCommand(): Command {
  const d = LM_DEFAULTS;
  return new Command('lm')
    .exitOverride()
    .description(
      'train a causal character-level Transformer whose every MLP is a mixture of experts on a text8-style corpus ' +
        '(State of the Union addresses, the Brown corpus, Moby-Dick); test bits per character at several k',
    )
    .addOption(
      choice(
        'router',
        ROUTERS,
        'smoe (a trainable linear router), smoe-dropout (a frozen random one), hyperrouter (router weights generated ' +
          'by a frozen hypernetwork from a trainable embedding), dense (a plain MLP as wide as all experts)',
      ).makeOptionMandatory(),
    )
    .addOption(intOption('--steps', `training steps (default ${d.steps})`))
    .addOption(intOption('--batch-size', `windows per step (default ${d.batchSize})`))
    .addOption(intOption('--seq-length', `context length in characters (default ${d.seqLength})`))
    .addOption(intOption('--d-model', `model width (default ${d.dModel}; divisible by --heads)`))
    .addOption(intOption('--heads', `attention heads (default ${d.heads})`))
    .addOption(intOption('--layers', `Transformer blocks, each with a mixture of experts (default ${d.layers})`))
    .addOption(intOption('--experts', `experts E per block (default ${d.experts})`))
    .addOption(
      intOption('--expert-hidden', `hidden width of one expert (default ${d.expertHidden}; dense: E times as wide)`),
    )
    .addOption(intOption('--hyper-size', `HyperRouter's hypernetwork width (default ${DEFAULT_HYPER_SIZE})`))
    .addOption(intOption('--k-start', 'experts per token at the first step (default E/2)', 'k'))
    .addOption(intOption('--k-end', 'experts per token at the last step, rising linearly (default E)', 'k'))
    .addOption(intOption('--eval-k', 'k of the validation that picks the best step (default 2, at most E)', 'k'))
    .addOption(intListOption('--test-k', "the k's of the final test (default 1,2,4,8,E: those ≤ E)", 'list'))
    .addOption(intOption('--eval-every', 'validate every n steps (default steps/10), and at the end'))
    .addOption(intOption('--eval-symbols', `validation characters read (default ${d.evalSymbols})`))
    .addOption(intOption('--test-symbols', `test characters read (default ${d.testSymbols})`))
    .addOption(floatOption('--lr', `peak Adam learning rate, cosine-annealed to 0 (default ${d.lr})`))
    .addOption(floatOption('--grad-clip', `global gradient-norm bound (default ${d.gradClip})`))
    .addOption(floatOption('--load-balance', `load-balancing loss weight (default ${d.loadBalance}: none)`))
    .addOption(choice('positions', POSITIONS, `position embeddings (default ${d.positions})`))
    .addOption(intOption('--seed', `seeds the init and the batches (default ${d.seed})`))
    .addOption(
      intOption('--checkpoint-every', `checkpoint every n steps, and at the end (default ${d.checkpointEvery})`),
    )
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .requiredOption('--out <dir>', 'output directory: checkpoint, results.json, summary.md, plots')
    .option(
      '--resume',
      'continue the run whose checkpoint is in --out (a finished one: test it again, e.g. with other --test-k)',
    )
    .option(
      '--overwrite',
      'replace the run in --out (without --resume or --overwrite, an --out holding a run is refused)',
    )
    .option('--json', 'print one JSON result line at the end (progress goes to stderr)')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = resolveLm(validate(lmSchema, { ...LM_DEFAULTS, ...given(opts, cmd, LM_KEYS) }));
      const out = userPath(opts.out as string);
      const json = Boolean(opts.json);
      const resume = Boolean(opts.resume);
      const overwrite = Boolean(opts.overwrite);
      await requireCheckpoint(out, resume, overwrite);
      await prepareOutDir({
        flag: '--out',
        out,
        files: LM_FILES,
        overwrite,
        resume: { resume, fingerprint: lmFingerprint(o) },
      });
      const { runMoeLm } = await runner(() => import('./run.js'));
      const s = await runMoeLm(o, out, { resume, io: ioFor(json), command: typedCommand(cmd) });
      if (json)
        jsonLine({
          router: s.router,
          bpc: s.result.bpc,
          router_entropy: s.result.routerEntropy,
          seconds: s.seconds,
          backend: s.backend,
          device: s.device,
          out,
        });
    });
}

/**
 * `hypernets moe …`: mixture-of-experts experiments. Each experiment is a subcommand with its
 * own options, run and report entry points (`lm`: options.ts, run.ts, report.ts; `domainbed`:
 * domainbed-{command,options,run,report}.ts; common.ts holds what they share).
 */
export function moeCommand(): Command {
  const moe = new Command('moe')
    .exitOverride()
    .description(
      'mixture-of-experts experiments: a character LM with hypernetwork routers (HyperRouter) against SMoE, ' +
        'SMoE-Dropout and dense (lm); DomainBed domain generalisation with HMOE against ERM (domainbed)',
    );
  moe.addCommand(lmCommand());
  moe.addCommand(domainbedCommand());
  return moe;
}
