import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { choice, floatOption, intListOption, intOption } from '../args.js';
import { given, ioFor, jsonLine } from '../command-io.js';
import { userPath } from '../continual/command.js';
import { BACKENDS, UsageError } from '../continual/options.js';
import { validate } from '../ghn/options.js';
import { loadTf } from '../lazy.js';
import { requireCheckpoint, runner, typedCommand } from '../moe/common.js';
import { prepareOutDir, prepareOutFile } from '../out-dir.js';
import {
  ALGOS,
  ALGO_NAMES,
  COMMON_DEFAULTS,
  HYPERPPO_DEFAULTS,
  STD_MODES,
  TRAIN_JSON_KEYS,
  DEFAULT_STEPS,
  ENV_LIST,
  HYPERZERO_DEFAULTS,
  HYPERZERO_MODELS,
  HYPERZERO_ONLY,
  hyperzeroFingerprint,
  hyperzeroFingerprintSchema,
  resolveHyperZero,
  type HyperZeroFingerprint,
  PPO_DEFAULTS,
  RENDER_DEFAULTS,
  evalSchema,
  fingerprintSchema,
  renderSchema,
  resolveTrain,
  trainFingerprint,
  trainSchema,
  type TrainFingerprint,
} from './options.js';

/** What `rl train` writes into --out (the trainer's checkpoint, the report). */
export const TRAIN_FILES = [
  'checkpoint.json',
  'checkpoint.safetensors',
  'summary.json',
  'curve.svg',
  'curve.png',
  'pareto.svg',
  'pareto.png',
] as const;

const TRAIN_KEYS = [
  'env',
  'algo',
  'steps',
  'seed',
  'numEnvs',
  'numSteps',
  'lr',
  'minibatches',
  'epochs',
  'entCoef',
  'gamma',
  'gaeLambda',
  'clipCoef',
  'hidden',
  'checkpointEvery',
  'evalEpisodes',
  'metaBatch',
  'stdMode',
  'evalArchs',
  'backend',
] as const;

const d = PPO_DEFAULTS;
/** The common defaults but those that depend on --algo (resolveTrain fills them). */
const withoutEvalEpisodes = ({ evalEpisodes: _e, checkpointEvery: _c, ...rest }: typeof COMMON_DEFAULTS) => rest;
/** "4 (Discrete actions) / 1 (Box)": a PPO default per action space, for --help. */
const perSpace = (k: keyof typeof d.discrete) => `${d.discrete[k]} Discrete / ${d.box[k]} Box actions`;

/** What `rl train --algo hyperzero` writes besides TRAIN_FILES: the teachers, one JSON per context. */
export const HYPERZERO_DIRS = ['teachers'] as const;

const flagOf = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The run `dir` (an `rl train` --out) holds, before any work: its checkpoint verified whole (no
 * backend: core's verifyCheckpoint), and its configuration read back. A UsageError names what is
 * missing.
 */
async function trainedRun(flag: string, dir: string): Promise<TrainFingerprint | HyperZeroFingerprint> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory())
    throw new UsageError(`${flag} ${dir}: no such directory; pass the --out of \`hypernets rl train\``);
  await loadTf();
  const core = await import('@hypernets/core');
  let meta;
  try {
    meta = await core.verifyCheckpoint(join(dir, 'checkpoint'));
  } catch (e) {
    if (!core.CheckpointError.isInstance(e)) throw e;
    throw new UsageError(`${flag} ${dir}: its checkpoint cannot be read: ${e.message}`);
  }
  if (!meta)
    throw new UsageError(
      `${flag} ${dir}: holds no checkpoint (no checkpoint.json); pass the --out of a \`hypernets rl train\` run`,
    );
  const config = meta.config as { algo?: unknown } | null;
  const fp =
    config?.algo === 'hyperzero' ? hyperzeroFingerprintSchema.safeParse(config) : fingerprintSchema.safeParse(config);
  if (!fp.success) throw new UsageError(`${flag} ${dir}: its checkpoint was not written by \`hypernets rl train\``);
  return fp.data;
}

function trainCommand(): Command {
  return new Command('train')
    .exitOverride()
    .description(
      'train a policy on a Gymnasium-style env (classic control, or MuJoCo through @mujoco/mujoco), then evaluate ' +
        'it deterministically; checkpoints, summary.json and the learning curve go into --out',
    )
    .requiredOption('--env <name>', `the env: ${ENV_LIST}`)
    .addOption(
      choice(
        'algo',
        ALGO_NAMES,
        `${Object.entries(ALGOS)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')} (default ${COMMON_DEFAULTS.algo})`,
      ),
    )
    .addOption(
      intOption(
        '--steps',
        `env steps, all envs together, rounded down to whole batches (default CleanRL's: ` +
          `${DEFAULT_STEPS.discrete.toLocaleString('en-US')} Discrete / ${DEFAULT_STEPS.box.toLocaleString('en-US')} Box actions)`,
      ),
    )
    .addOption(intOption('--seed', `seeds the init, the actions and the envs (default ${COMMON_DEFAULTS.seed})`))
    .addOption(intOption('--num-envs', `parallel envs (default ${perSpace('numEnvs')})`))
    .addOption(intOption('--num-steps', `steps per env per rollout (default ${perSpace('numSteps')})`))
    .addOption(floatOption('--lr', `Adam's learning rate, annealed linearly to 0 (default ${perSpace('lr')})`))
    .addOption(
      intOption('--minibatches', `minibatches per epoch, dividing the batch (default ${perSpace('minibatches')})`),
    )
    .addOption(intOption('--epochs', `update epochs per rollout (default ${perSpace('epochs')})`))
    .addOption(floatOption('--ent-coef', `entropy bonus (default ${perSpace('entCoef')})`))
    .addOption(floatOption('--gamma', `discount (default ${COMMON_DEFAULTS.gamma})`))
    .addOption(floatOption('--gae-lambda', `GAE's λ (default ${COMMON_DEFAULTS.gaeLambda})`))
    .addOption(floatOption('--clip-coef', `surrogate and value clip (default ${COMMON_DEFAULTS.clipCoef})`))
    .addOption(
      intListOption('--hidden', `tanh hidden widths of actor and critic (default ${COMMON_DEFAULTS.hidden.join(',')})`),
    )
    .addOption(
      intOption(
        '--checkpoint-every',
        `checkpoint every n iterations, and at the end (default ${COMMON_DEFAULTS.checkpointEvery}; HyperPPO ${HYPERPPO_DEFAULTS.checkpointEvery})`,
      ),
    )
    .addOption(
      intOption(
        '--eval-episodes',
        `deterministic evaluation episodes at the end (default ${COMMON_DEFAULTS.evalEpisodes}; ` +
          `HyperPPO: per architecture, default ${HYPERPPO_DEFAULTS.evalEpisodes})`,
      ),
    )
    .addOption(
      intOption(
        '--meta-batch',
        `HyperPPO: architectures per iteration, sharing --num-envs evenly (default ${HYPERPPO_DEFAULTS.metaBatch})`,
      ),
    )
    .addOption(choice('std-mode', STD_MODES, `HyperPPO's log-std (default ${HYPERPPO_DEFAULTS.stdMode})`))
    .addOption(
      intOption(
        '--eval-archs',
        `HyperPPO: architectures evaluated with generated weights at the end, a stratified sample (2800: all; default ${HYPERPPO_DEFAULTS.evalArchs})`,
      ),
    )
    .addOption(
      choice(
        'model',
        HYPERZERO_MODELS,
        `HyperZero: the model trained on the teachers (default ${HYPERZERO_DEFAULTS.model})`,
      ),
    )
    .addOption(intOption('--grid', `HyperZero: contexts per axis (default ${HYPERZERO_DEFAULTS.grid})`))
    .addOption(
      intOption(
        '--warm-steps',
        `HyperZero: TD3 steps of a teacher started from its neighbour's weights (default ${HYPERZERO_DEFAULTS.warmSteps})`,
      ),
    )
    .addOption(
      intOption(
        '--dataset-episodes',
        `HyperZero: teacher episodes per context in the dataset (default ${HYPERZERO_DEFAULTS.datasetEpisodes})`,
      ),
    )
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .requiredOption('--out <dir>', 'output directory: checkpoint, summary.json, curve.{svg,png} (HyperZero: teachers/)')
    .option('--resume', 'continue the run whose checkpoint is in --out (a finished one: evaluate it again)')
    .option(
      '--overwrite',
      'replace the run in --out (without --resume or --overwrite, an --out holding a run is refused)',
    )
    .option(
      '--json',
      `print one JSON line at the end {${TRAIN_JSON_KEYS.map((k) => `"${k}"`).join(',')}} (progress goes to stderr)`,
    )
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const g = given(opts, cmd, [...TRAIN_KEYS, ...HYPERZERO_ONLY]);
      if (g.algo === 'hyperzero') return trainHyperZero(g, opts, cmd);
      for (const k of HYPERZERO_ONLY)
        if (g[k] !== undefined)
          throw new UsageError(`${flagOf(k)} is a HyperZero option: pass --algo hyperzero, or leave it out`);
      const o = resolveTrain(
        validate(trainSchema, {
          ...withoutEvalEpisodes(COMMON_DEFAULTS),
          hidden: [...COMMON_DEFAULTS.hidden],
          ...g,
        }),
      );
      const { out, json, resume } = await prepareTrainOut(opts, trainFingerprint(o));
      const { runRlTrain } = await runner(() => import('./run.js'));
      const s = await runRlTrain(o, out, { resume, io: ioFor(json), command: typedCommand(cmd) });
      if (json)
        jsonLine({
          ...Object.fromEntries(TRAIN_JSON_KEYS.map((k) => [k, s[k]])),
          ...(s.archs ? { archs: s.archs } : {}),
        });
    });
}

/**
 * `rl train`'s --out, checked before any work (out-dir.ts): --resume needs a run there (a
 * checkpoint; or, for a run with `dirs`, one of them: a HyperZero run stopped while its teachers
 * trained has no checkpoint yet), another run is refused unless --resume or --overwrite.
 */
async function prepareTrainOut(opts: Record<string, unknown>, fingerprint: unknown, dirs: readonly string[] = []) {
  const out = userPath(opts.out as string);
  const resume = Boolean(opts.resume);
  const overwrite = Boolean(opts.overwrite);
  const started = await Promise.all(
    dirs.map((d) =>
      stat(join(out, d)).then(
        (st) => st.isDirectory(),
        () => false,
      ),
    ),
  );
  if (!started.some(Boolean)) await requireCheckpoint(out, resume, overwrite);
  await prepareOutDir({ flag: '--out', out, files: TRAIN_FILES, dirs, overwrite, resume: { resume, fingerprint } });
  return { out, json: Boolean(opts.json), resume };
}

/** `rl train --algo hyperzero`: its own options, the teachers' directory in --out, its own report. */
async function trainHyperZero(g: Record<string, unknown>, opts: Record<string, unknown>, cmd: Command): Promise<void> {
  const o = resolveHyperZero(g);
  const { out, json, resume } = await prepareTrainOut(opts, hyperzeroFingerprint(o), HYPERZERO_DIRS);
  const { runHyperZeroTrain } = await runner(() => import('./hyperzero-run.js'));
  const s = await runHyperZeroTrain(o, out, { resume, io: ioFor(json), command: typedCommand(cmd) });
  if (json) jsonLine(Object.fromEntries(TRAIN_JSON_KEYS.map((k) => [k, s[k]])));
}

function evalCommand(): Command {
  return new Command('eval')
    .exitOverride()
    .description('evaluate the policy of an `rl train` run (its checkpoint, finished or not) deterministically')
    .requiredOption('--out <dir>', 'the --out of `hypernets rl train`')
    .addOption(intOption('--episodes', 'episodes (default 10)'))
    .addOption(
      intOption(
        '--seed',
        "the first episode's reset seed, + 1 for each next (default the run's seed + 10,000, as train's; " +
          "HyperZero: episode e resets with episodeSeed(seed, e), default train's)",
      ),
    )
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto'))
    .option('--json', 'print one JSON line {"env","algo","steps","mean_return","eval_episodes","returns","backend"}')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const o = validate(evalSchema, { episodes: 10, ...given(opts, cmd, ['out', 'episodes', 'seed', 'backend']) });
      const dir = userPath(o.out);
      const fp = await trainedRun('--out', dir);
      const json = Boolean(opts.json);
      const { runRlEval } = await runner(() => import('./run.js'));
      const r = await runRlEval(fp, dir, {
        episodes: o.episodes,
        ...(o.seed === undefined ? {} : { seed: o.seed }),
        ...(o.backend === undefined ? {} : { backend: o.backend }),
        io: ioFor(json),
      });
      if (json)
        jsonLine({
          env: r.env,
          algo: r.algo,
          steps: r.steps,
          mean_return: r.mean_return,
          eval_episodes: r.eval_episodes,
          returns: r.returns,
          backend: r.backend,
        });
    });
}

function renderCommand(): Command {
  return new Command('render')
    .exitOverride()
    .description(
      'draw one episode as an animated SVG (plays in a browser): the trained policy of an `rl train` run (--from), ' +
        'or random actions',
    )
    .option('--env <name>', `the env (needed without --from): ${ENV_LIST}`)
    .option(
      '--from <dir>',
      'the --out of `hypernets rl train`: its deterministic policy acts (default: random actions)',
    )
    .option('--out <dir>', 'the same as --from')
    .requiredOption('--file <path>', 'the animated SVG to write (.svg)')
    .addOption(intOption('--steps', `steps at most (default ${RENDER_DEFAULTS.steps}; the episode may end first)`))
    .addOption(intOption('--seed', `the reset's seed (and the random actions') (default ${RENDER_DEFAULTS.seed})`))
    .addOption(floatOption('--fps', "frames per second (default Gymnasium's for the env: CartPole 50, Pendulum 30, …)"))
    .addOption(intOption('--width', `width in pixels (default ${RENDER_DEFAULTS.width}; the height follows the view)`))
    .addOption(choice('backend', BACKENDS, 'default $HYPERNETS_BACKEND or auto (with --from)'))
    .option('--overwrite', 'replace --file if it exists')
    .option('--json', 'print one JSON line {"env","policy","steps","return","frames","fps","file","bytes"}')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const keys = ['env', 'from', 'file', 'steps', 'seed', 'fps', 'width', 'backend'];
      const g = given(opts, cmd, [...keys, 'out']);
      if (g.from !== undefined && g.out !== undefined)
        throw new UsageError('--from and --out name the same thing (the run to render): pass one of them');
      const { out: runDir, ...rest } = g;
      const o = validate(renderSchema, {
        ...RENDER_DEFAULTS,
        ...rest,
        ...(runDir === undefined ? {} : { from: runDir }),
      });
      const fromFlag = runDir === undefined ? '--from' : '--out';
      if (!/\.svg$/i.test(o.file))
        throw new UsageError(`--file ${o.file}: writes an animated SVG; give it a .svg name`);
      const file = userPath(o.file);
      let from: { fp: TrainFingerprint | HyperZeroFingerprint; dir: string } | null = null;
      let env = o.env;
      if (o.from !== undefined) {
        const dir = userPath(o.from);
        const fp = await trainedRun(fromFlag, dir);
        if (env !== undefined && env !== fp.env)
          throw new UsageError(`--env: ${env} is not the env of the run in ${dir} (${fp.env}); leave --env out`);
        env = fp.env;
        from = { fp, dir };
      }
      if (env === undefined) throw new UsageError(`--env: needed without --from (random actions); one of ${ENV_LIST}`);
      if (o.backend !== undefined && !from)
        throw new UsageError('--backend: random actions need no backend; it applies with --from only');
      await prepareOutFile('--file', file, Boolean(opts.overwrite));
      const json = Boolean(opts.json);
      const { runRlRender } = await runner(() => import('./run.js'));
      const r = await runRlRender({ ...o, env, file }, from, { io: ioFor(json) });
      if (json) jsonLine(r);
    });
}

/**
 * `hypernets rl …`: reinforcement learning on @hypernets/rl's envs (`train`, `eval`, `render`:
 * options.ts, run.ts, report.ts; the algorithms are one table, ALGOS, in options.ts).
 */
export function rlCommand(): Command {
  const rl = new Command('rl')
    .exitOverride()
    .description(
      'reinforcement learning on Gymnasium-style envs: train a policy (PPO, HyperPPO, HyperZero), evaluate it, render an episode as an animated SVG',
    );
  rl.addCommand(trainCommand());
  rl.addCommand(evalCommand());
  rl.addCommand(renderCommand());
  return rl;
}
