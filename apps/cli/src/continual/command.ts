import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { floatArg, intArg, intListArg } from '../args.js';
import { prepareOutDir } from '../out-dir.js';
import { BACKENDS, BENCHMARKS, METHODS, PAPER_ITERATIONS, SCENARIOS, UsageError, fingerprintOf, resolveConfig, type ContinualConfig } from './options.js';

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
export const RUN_FILES = ['checkpoint.json', 'checkpoint.safetensors', 'results.json', 'summary.md', 'accuracy-matrix.svg', 'accuracy-matrix.png', 'learning-curves.svg', 'learning-curves.png'] as const;

export interface ContinualInvocation {
  config: ContinualConfig;
  out: string;
  resume: boolean;
  json: boolean;
}

function choice(name: string, values: readonly string[], description: string): Option {
  return new Option(`--${name} <${name === 'backend' ? 'name' : name}>`, description).choices(values as string[]);
}

export function continualCommand(action: (inv: ContinualInvocation) => Promise<void>): Command {
  const c = new Command('continual')
    .exitOverride()
    .description('continual learning with a task-conditioned hypernetwork (von Oswald et al. 2020) or a baseline, on real MNIST')
    .addOption(choice('benchmark', BENCHMARKS, 'task stream (default split-mnist)'))
    .option('--tasks <n>', 'number of tasks (default 5 split, 10 permuted)', intArg('--tasks'))
    .addOption(choice('scenario', SCENARIOS, 'cl1: task id given; cl2: shared head; cl3: task inferred (default cl1)'))
    .addOption(choice('method', METHODS, 'hnet, or a baseline on the same target (default hnet)'))
    .option('--iterations <n>', `training steps per task (default 250; the paper: ${PAPER_ITERATIONS['split-mnist']} split, ${PAPER_ITERATIONS['permuted-mnist']} permuted)`, intArg('--iterations'))
    .option('--batch-size <n>', 'default 128', intArg('--batch-size'))
    .option('--lr <x>', 'Adam learning rate (default 1e-3 split, 1e-4 permuted)', floatArg('--lr'))
    .option('--seed <n>', 'random seed (default 0)', intArg('--seed'))
    .option('--data-seed <n>', 'seed of the Permuted-MNIST permutations (default 42)', intArg('--data-seed'))
    .option('--val-size <n>', 'validation samples per task, taken from the training set (default 0)', intArg('--val-size'))
    .option('--target-hidden <widths>', 'hidden widths of the target MLP (default 400,400 split, 1000,1000 permuted)', intListArg('--target-hidden'))
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .option('--out <dir>', 'output directory: checkpoint, results.json, plots, summary.md (default runs/<benchmark>-<scenario>-<method>-s<seed>)')
    .option('--resume', 'continue the run whose checkpoint is in --out')
    .option('--overwrite', 'replace the run in --out (without --resume or --overwrite, an --out holding a run is refused)')
    .option('--config <file>', 'JSON file of options (same names, camelCase; nested hnet / ewc / si); flags override it')
    .option('--json', 'print one JSON result line at the end (progress goes to stderr)')
    .option('--checkpoint-every <n>', 'checkpoint every n steps, and at every task end (default 500)', intArg('--checkpoint-every'))
    .option('--eval-batch-size <n>', 'default 1000', intArg('--eval-batch-size'))
    .option('--hnet-hidden <widths>', 'hypernetwork hidden widths (default 10,10 split, 25,25 permuted)', intListArg('--hnet-hidden'))
    .option('--chunk-size <n>', 'outputs per chunk (default 42000 split, 78000 permuted)', intArg('--chunk-size'))
    .option('--task-emb <n>', 'task embedding size (default 96 split, 24 permuted)', intArg('--task-emb'))
    .option('--chunk-emb <n>', 'chunk embedding size (default 96 split, 8 permuted)', intArg('--chunk-emb'))
    .addOption(choice('hnet-activation', ['relu', 'elu', 'tanh'], 'default relu split, elu permuted'))
    .addOption(choice('hnet-init', ['hyperfan-in', 'hyperfan-out', 'default', 'xavier'], "the hypernetwork's init: hyperfan-in|out (output layer scaled to the target's init), default (output layer like any dense layer), xavier (every layer Xavier-uniform, biases 0: hypercl's); default hyperfan-in"))
    .addOption(choice('hnet-flat-order', ['torch', 'native'], "layout of each generated weight tensor in the hypernetwork's output: torch (dense [out, in], as hypercl: which entries share a chunk position) or native (tfjs [in, out]); default torch"))
    .option('--beta <x>', 'output-regulariser strength β (default 0.01 split, 0.1 permuted)', floatArg('--beta'))
    .option('--no-lookahead', 'regularise at θ instead of θ + Δθ')
    .option('--reg-tasks <n>', 'regularise a random subset of n past tasks per step (default all)', intArg('--reg-tasks'))
    .option('--online-targets', 'recompute regulariser targets from a stored θ* instead of snapshotting them')
    .option('--reset-optimizer', 'start every task with a fresh Adam for θ, as hypercl does (default: keep its state)')
    .option('--ewc-lambda <x>', 'online EWC strength λ', floatArg('--ewc-lambda'))
    .option('--ewc-gamma <x>', 'online EWC decay γ', floatArg('--ewc-gamma'))
    .option('--si-c <x>', 'SI strength c', floatArg('--si-c'))
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
          if (st.size > MAX_CONFIG_BYTES) throw new Error(`${st.size} bytes; a config file holds at most ${MAX_CONFIG_BYTES}`);
          text = await readFile(configFile, 'utf8');
        } catch (e) {
          throw new UsageError(`--config ${configFile}: cannot read it (${(e as Error).message})`);
        }
        try {
          file = JSON.parse(text) as unknown;
        } catch (e) {
          throw new UsageError(`--config ${configFile}: not valid JSON (${(e as Error).message})`);
        }
      }
      const config = resolveConfig(flags, file, configFile);
      const out = userPath((opts.out as string | undefined) ?? `runs/${config.benchmark}-${config.scenario}-${config.method}-s${config.seed}`);
      const resume = Boolean(opts.resume);
      await prepareOutDir({ flag: '--out', out, files: RUN_FILES, overwrite: Boolean(opts.overwrite), resume: { resume, fingerprint: fingerprintOf(config) } });
      await action({ config, out, resume, json: Boolean(opts.json) });
    });
  return c;
}
