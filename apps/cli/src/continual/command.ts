import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { choice, floatOption, intListOption, intOption } from '../args.js';
import { prepareOutDir } from '../out-dir.js';
import {
  BACKENDS,
  BENCHMARKS,
  METHODS,
  PAPER_ITERATIONS,
  SCENARIOS,
  UsageError,
  fingerprintOf,
  resolveConfig,
  type ContinualConfig,
} from './options.js';

/** Flag name → where it goes in the config. */
const PATHS: Record<string, string[]> = {
  benchmark: ['benchmark'],
  tasks: ['tasks'],
  scenario: ['scenario'],
  method: ['method'],
  iterations: ['iterations'],
  batchSize: ['batchSize'],
  lr: ['lr'],
  seed: ['seed'],
  dataSeed: ['dataSeed'],
  valSize: ['valSize'],
  targetHidden: ['targetHidden'],
  backend: ['backend'],
  checkpointEvery: ['checkpointEvery'],
  evalBatchSize: ['evalBatchSize'],
  hnetHidden: ['hnet', 'hidden'],
  chunkSize: ['hnet', 'chunkSize'],
  taskEmb: ['hnet', 'taskEmbedding'],
  chunkEmb: ['hnet', 'chunkEmbedding'],
  hnetActivation: ['hnet', 'activation'],
  hnetInit: ['hnet', 'init'],
  hnetFlatOrder: ['hnet', 'flatOrder'],
  beta: ['hnet', 'beta'],
  lookahead: ['hnet', 'lookahead'],
  regTasks: ['hnet', 'regTasks'],
  onlineTargets: ['hnet', 'onlineTargets'],
  resetOptimizer: ['hnet', 'resetOptimizer'],
  ewcLambda: ['ewc', 'lambda'],
  ewcGamma: ['ewc', 'gamma'],
  siC: ['si', 'c'],
};

/** Relative paths are relative to where the user typed the command (pnpm scripts run in apps/cli; INIT_CWD is the caller's directory). */
export function userPath(p: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

/** A JSON file of options is a few hundred bytes. */
const MAX_CONFIG_BYTES = 1 << 20;

/** What a run writes into --out (report.ts and the trainer's checkpoint). */
export const RUN_FILES = [
  'checkpoint.json',
  'checkpoint.safetensors',
  'results.json',
  'summary.md',
  'accuracy-matrix.svg',
  'accuracy-matrix.png',
  'learning-curves.svg',
  'learning-curves.png',
] as const;

export interface ContinualInvocation {
  config: ContinualConfig;
  out: string;
  resume: boolean;
  json: boolean;
}

export function continualCommand(action: (inv: ContinualInvocation) => Promise<void>): Command {
  const c = new Command('continual')
    .exitOverride()
    .description(
      'continual learning with a task-conditioned hypernetwork (von Oswald et al. 2020) or a baseline, on real MNIST',
    )
    .addOption(choice('benchmark', BENCHMARKS, 'task stream (default split-mnist)'))
    .addOption(intOption('--tasks', 'number of tasks (default 5 split, 10 permuted)'))
    .addOption(choice('scenario', SCENARIOS, 'cl1: task id given; cl2: shared head; cl3: task inferred (default cl1)'))
    .addOption(choice('method', METHODS, 'hnet, or a baseline on the same target (default hnet)'))
    .addOption(
      intOption(
        '--iterations',
        `training steps per task (default 250; the paper: ${PAPER_ITERATIONS['split-mnist']} split, ${PAPER_ITERATIONS['permuted-mnist']} permuted)`,
      ),
    )
    .addOption(intOption('--batch-size', 'default 128'))
    .addOption(floatOption('--lr', 'Adam learning rate (default 1e-3 split, 1e-4 permuted)'))
    .addOption(intOption('--seed', 'random seed (default 0)'))
    .addOption(intOption('--data-seed', 'seed of the Permuted-MNIST permutations (default 42)'))
    .addOption(intOption('--val-size', 'validation samples per task, taken from the training set (default 0)'))
    .addOption(
      intListOption('--target-hidden', 'hidden widths of the target MLP (default 400,400 split, 1000,1000 permuted)'),
    )
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .option(
      '--out <dir>',
      'output directory: checkpoint, results.json, plots, summary.md (default runs/<benchmark>-<scenario>-<method>-s<seed>)',
    )
    .option('--resume', 'continue the run whose checkpoint is in --out')
    .option(
      '--overwrite',
      'replace the run in --out (without --resume or --overwrite, an --out holding a run is refused)',
    )
    .option(
      '--config <file>',
      'JSON file of options (same names, camelCase; nested hnet / ewc / si); flags override it',
    )
    .option('--json', 'print one JSON result line at the end (progress goes to stderr)')
    .addOption(intOption('--checkpoint-every', 'checkpoint every n steps, and at every task end (default 500)'))
    .addOption(intOption('--eval-batch-size', 'default 1000'))
    .addOption(intListOption('--hnet-hidden', 'hypernetwork hidden widths (default 10,10 split, 25,25 permuted)'))
    .addOption(intOption('--chunk-size', 'outputs per chunk (default 42000 split, 78000 permuted)'))
    .addOption(intOption('--task-emb', 'task embedding size (default 96 split, 24 permuted)'))
    .addOption(intOption('--chunk-emb', 'chunk embedding size (default 96 split, 8 permuted)'))
    .addOption(choice('hnet-activation', ['relu', 'elu', 'tanh'], 'default relu split, elu permuted'))
    .addOption(
      choice(
        'hnet-init',
        ['hyperfan-in', 'hyperfan-out', 'default', 'xavier'],
        "the hypernetwork's init: hyperfan-in|out (output layer scaled to the target's init), default (output " +
          "layer like any dense layer), xavier (every layer Xavier-uniform, biases 0: hypercl's); default hyperfan-in",
      ),
    )
    .addOption(
      choice(
        'hnet-flat-order',
        ['torch', 'native'],
        "layout of each generated weight tensor in the hypernetwork's output: torch (dense [out, in], as " +
          'hypercl: which entries share a chunk position) or native (tfjs [in, out]); default torch',
      ),
    )
    .addOption(floatOption('--beta', 'output-regulariser strength β (default 0.01 split, 0.1 permuted)'))
    .option('--no-lookahead', 'regularise at θ instead of θ + Δθ')
    .addOption(intOption('--reg-tasks', 'regularise a random subset of n past tasks per step (default all)'))
    .option('--online-targets', 'recompute regulariser targets from a stored θ* instead of snapshotting them')
    .option('--reset-optimizer', 'start every task with a fresh Adam for θ, as hypercl does (default: keep its state)')
    .addOption(floatOption('--ewc-lambda', 'online EWC strength λ'))
    .addOption(floatOption('--ewc-gamma', 'online EWC decay γ'))
    .addOption(floatOption('--si-c', 'SI strength c'))
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const flags: Record<string, unknown> = {};
      for (const [key, path] of Object.entries(PATHS)) {
        if (cmd.getOptionValueSource(key) !== 'cli') continue;
        let o = flags;
        for (const p of path.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
        o[path[path.length - 1]!] = opts[key];
      }
      let file: unknown = null;
      const configFile = opts.config === undefined ? undefined : userPath(opts.config as string);
      if (configFile) {
        let text: string;
        try {
          const st = await stat(configFile);
          if (!st.isFile()) throw new Error('not a regular file');
          if (st.size > MAX_CONFIG_BYTES)
            throw new Error(`${st.size} bytes; a config file holds at most ${MAX_CONFIG_BYTES}`);
          text = await readFile(configFile, 'utf8');
        } catch (e) {
          throw new UsageError(`--config ${configFile}: cannot read it (${(e as Error).message})`, { cause: e });
        }
        try {
          file = JSON.parse(text) as unknown;
        } catch (e) {
          throw new UsageError(`--config ${configFile}: not valid JSON (${(e as Error).message})`, { cause: e });
        }
      }
      const config = resolveConfig(flags, file, configFile);
      const out = userPath(
        (opts.out as string | undefined) ??
          `runs/${config.benchmark}-${config.scenario}-${config.method}-s${config.seed}`,
      );
      const resume = Boolean(opts.resume);
      await prepareOutDir({
        flag: '--out',
        out,
        files: RUN_FILES,
        overwrite: Boolean(opts.overwrite),
        resume: { resume, fingerprint: fingerprintOf(config) },
      });
      await action({ config, out, resume, json: Boolean(opts.json) });
    });
  return c;
}
