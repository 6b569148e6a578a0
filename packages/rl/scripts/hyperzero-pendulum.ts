// HyperZero on a family of Pendulum-v1 contexts (pole length l, mass m): teachers, HyperZero and
// the reference's two context-conditioned MLP baselines, zero-shot evaluation on held-out contexts.
//
//   cd packages/rl && nice -n 10 npx tsx --conditions=@hypernets/source scripts/hyperzero-pendulum.ts <work dir> [flags]
//
// <work dir> keeps every teacher (its result and rollout dataset, one JSON per context) and every
// model's checkpoints, so a killed run picks up where it stopped: finished teachers and models are
// skipped, a model in training resumes from its last checkpoint. The summary (results.json,
// README.md: no datasets) goes to --results (default packages/rl/results/hyperzero-pendulum).
// Flags (defaults in DEFAULTS below): --grid n (n × n contexts), --lo, --hi, --teacher-steps, --warm-steps,
// --dataset-episodes, --eval-episodes, --epochs, --lr, --batch, --models a,b,c, --phase teachers|all,
// --backend wasm|cpu, --seed, --results <dir>.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, initBackend } from '@hypernets/core';
import { episodeSeed, type ZeroShotEvaluation } from '../src/hyperzero/evaluate.js';
import {
  ZERO_SHOT_EVAL_SEED as EVAL_SEED,
  ZERO_SHOT_MODELS,
  ZeroShotExperiment,
  type ZeroShotModelName,
} from '../src/hyperzero/experiment.js';
import { pendulumFamily } from '../src/hyperzero/family.js';
import type { HyperZeroEpochStats } from '../src/hyperzero/trainer.js';

const DEFAULTS = {
  grid: 5,
  lo: 0.6,
  hi: 1.4,
  teacherSteps: 20_000,
  warmSteps: 6_000,
  datasetEpisodes: 50, // the reference: 10 episodes of 1,000 steps (eval_many_agents.py); ours are 200 steps
  evalEpisodes: 10,
  epochs: 40,
  lr: 3e-4, // the reference's 1e-4 needs its ~10× more updates
  batch: 512, // config_rl_approximator.yaml batch_size
  models: 'hyperzero,hyperzero_without_q,mlp_rl_td,mlp_policy',
  phase: 'all',
  backend: 'wasm',
  seed: 2, // config_rl_approximator.yaml seed
  testFraction: 0.2,
  gamma: 0.98,
  results: '',
};

function parseArgs(argv: string[]) {
  const [work, ...rest] = argv;
  if (!work || work.startsWith('--')) {
    console.error('usage: hyperzero-pendulum.ts <work dir> [--grid 5] [--epochs 100] [--phase teachers|all] …');
    process.exit(2);
  }
  const o: Record<string, string | number> = { ...DEFAULTS };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]!.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = rest[i + 1];
    if (!(key in DEFAULTS) || v === undefined) {
      console.error(`unknown flag or missing value: ${rest[i]}`);
      process.exit(2);
    }
    o[key] = typeof DEFAULTS[key as keyof typeof DEFAULTS] === 'number' ? Number(v) : v;
    if (Number.isNaN(o[key])) {
      console.error(`${rest[i]} needs a number, got ${v}`);
      process.exit(2);
    }
  }
  return { work: resolve(work), ...(o as typeof DEFAULTS) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const here = dirname(fileURLToPath(import.meta.url));
  const resultsDir = args.results ? resolve(args.results) : resolve(here, '../results/hyperzero-pendulum');
  const t0 = performance.now();
  const log = (s: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${s}`);

  function writeJson(path: string, value: unknown): void {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, path);
  }

  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

  // ---- the context family, its split, the teachers (ZeroShotExperiment: src/hyperzero/experiment.ts) ----
  const family = pendulumFamily({ grid: args.grid, lo: args.lo, hi: args.hi });
  const exp: ZeroShotExperiment = new ZeroShotExperiment({
    family,
    workDir: args.work,
    testFraction: args.testFraction,
    seed: args.seed,
    teacherSteps: args.teacherSteps,
    warmSteps: args.warmSteps,
    datasetEpisodes: args.datasetEpisodes,
    evalEpisodes: args.evalEpisodes,
    gamma: args.gamma,
    onTeacher: ({ index, count, record: t, loaded }): void =>
      log(
        `teacher ${index + 1}/${count} ${key(t.context)} (${t.split}, from ${t.init})${loaded ? ' [saved]' : ''}: eval ${t.evalMean.toFixed(1)}, ` +
          `dataset ${mean(t.rollout.returns).toFixed(1)}, ${t.seconds.toFixed(0)} s, attempts ${t.attempts.length}`,
      ),
  });
  const key = (c: readonly number[]): string => exp.key(c);
  const pendulum = (c: readonly number[]) => family.makeEnv(c);
  const axis = [...new Set(family.contexts.map((c) => c[0]!))].sort((x, y) => x - y);
  const contexts = family.contexts.map((c) => [...c]);
  const split = exp.split;

  await initBackend(args.backend as 'wasm' | 'cpu');
  log(
    `backend ${args.backend}; ${contexts.length} contexts (l, m ∈ {${axis.join(', ')}}), held out: ${split.test.map(key).join(' ')}`,
  );
  const teachers = await exp.teachers();
  if (args.phase === 'teachers') process.exit(0);
  const { train: trainData, validation: validData } = exp.datasets(teachers);
  log(
    `dataset: ${trainData.contextIndex.length} transitions of ${split.train.length} contexts; validation ${validData.contextIndex.length}`,
  );

  // ---- random-policy returns (the 0 of the normalised score) on the evaluation episodes ----
  function randomReturns(ctx: number[]): number[] {
    const rng = new Rng(episodeSeed(args.seed, 999));
    return Array.from({ length: args.evalEpisodes }, (_, e) => {
      const env = pendulum(ctx);
      env.reset({ seed: episodeSeed(EVAL_SEED, e) });
      let total = 0;
      for (;;) {
        const s = env.step([4 * rng.uniform() - 2]);
        total += s.reward;
        if (s.terminated || s.truncated) break;
      }
      return total;
    });
  }

  // ---- models ----
  interface ModelResult {
    name: string;
    what: string;
    parameters: number;
    epochs: number;
    updates: number;
    seconds: number;
    final: HyperZeroEpochStats;
    test: ZeroShotEvaluation[];
    train: ZeroShotEvaluation[];
  }

  async function trainModel(name: string): Promise<ModelResult> {
    const dir = join(args.work, 'models', name);
    const path = join(dir, 'result.json');
    if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as ModelResult;
    if (!(name in ZERO_SHOT_MODELS))
      throw new Error(`unknown model ${name}; known: ${Object.keys(ZERO_SHOT_MODELS).join(', ')}`);
    const trainer = exp.modelTrainer(name as ZeroShotModelName, teachers, {
      epochs: args.epochs,
      batchSize: args.batch,
      learningRate: args.lr,
      logEvery: 1,
      checkpointEvery: 10,
      fingerprint: { name, lr: args.lr, batch: args.batch, epochs: args.epochs, gamma: args.gamma, grid: args.grid },
      callbacks: {
        onResume: (e) => log(`${name}: resumed at epoch ${e.epoch}`),
        onEpoch: (e) => {
          if (e.epoch % 10 === 0 || e.epoch === 1)
            log(
              `${name} epoch ${e.epoch}/${e.epochs}: train action ${e.train.action.toFixed(4)} value ${e.train.value?.toFixed(2) ?? '-'} ` +
                `td ${e.train.td?.toFixed(2) ?? '-'}` +
                (e.valid
                  ? ` | valid action ${e.valid.action.toFixed(4)} value ${e.valid.value?.toFixed(2) ?? '-'} td ${e.valid.td?.toFixed(2) ?? '-'}`
                  : ''),
            );
        },
      },
    });
    const model = trainer.model;
    const r = await trainer.run({ resume: existsSync(join(dir, 'checkpoint.json')) });
    const test = await exp.evaluate(trainer, split.test);
    const train = await exp.evaluate(trainer, split.train);
    const out: ModelResult = {
      name,
      what: ZERO_SHOT_MODELS[name as ZeroShotModelName],
      parameters: model.parameterCount,
      epochs: r.epochs,
      updates: r.updates,
      seconds: r.seconds,
      final: r.curve.at(-1)!,
      test,
      train,
    };
    trainer.dispose();
    model.dispose();
    writeJson(path, out);
    return out;
  }

  const names = args.models.split(',');
  const results: ModelResult[] = [];
  for (const name of names) {
    const r = await trainModel(name);
    results.push(r);
    log(
      `${name}: held-out mean return ${mean(r.test.map((e) => e.meanReturn)).toFixed(1)} (${r.seconds.toFixed(0)} s of training)`,
    );
  }

  // ---- summary ----
  const randomOf = new Map(contexts.map((c) => [key(c), mean(randomReturns(c))]));
  function summarise(cs: number[][], pick: (r: ModelResult) => ZeroShotEvaluation[]) {
    const teacherMeans = cs.map((c) => teachers.get(key(c))!.evalMean);
    const randomMeans = cs.map((c) => randomOf.get(key(c))!);
    const teacherMean = mean(teacherMeans);
    const randomMean = mean(randomMeans);
    const models = Object.fromEntries(
      results.map((r) => {
        const by = new Map(pick(r).map((e) => [key(e.context), e.meanReturn]));
        const per = cs.map((c) => by.get(key(c))!);
        const m = mean(per);
        return [
          r.name,
          {
            meanReturn: round(m),
            /** (R − R_random) / (R_teacher − R_random) of the means, in %. */
            normalisedPct: round((100 * (m - randomMean)) / (teacherMean - randomMean)),
            /** The same per context, then averaged. */
            normalisedPctPerContext: round(
              mean(per.map((x, i) => (100 * (x - randomMeans[i]!)) / (teacherMeans[i]! - randomMeans[i]!))),
            ),
            /** R_teacher / R (returns are costs: 100 % = as good as the teacher, 50 % = twice its cost). */
            costRatioPct: round((100 * teacherMean) / m),
            perContext: cs.map((c, i) => ({ context: c, meanReturn: round(per[i]!) })),
          },
        ];
      }),
    );
    return {
      contexts: cs,
      teacherMean: round(teacherMean),
      randomMean: round(randomMean),
      teacherPerContext: teacherMeans.map((x) => round(x)),
      randomPerContext: randomMeans.map((x) => round(x)),
      models,
    };
  }

  const teacherSeconds = [...teachers.values()].reduce((s, t) => s + t.seconds, 0);
  const summary = {
    command: `cd packages/rl && nice -n 10 npx tsx --conditions=@hypernets/source scripts/hyperzero-pendulum.ts ${process.argv.slice(2).join(' ')}`,
    settings: { ...args, work: undefined, evalSeed: EVAL_SEED, axis },
    split: { train: split.train, test: split.test },
    teachers: {
      algorithm:
        'TD3 (src/hyperzero/teacher.ts), [64, 64] ReLU, lr 1e-3, γ 0.98, τ 0.005, batch 128, 1,000 random warm-up steps from scratch, 256 after a warm start',
      scratchSteps: args.teacherSteps,
      warmSteps: args.warmSteps,
      totalSeconds: round(teacherSeconds),
      perContext: [...teachers.values()].map((t) => ({
        context: t.context,
        split: t.split,
        evalMean: round(t.evalMean),
        datasetMean: round(mean(t.rollout.returns)),
        seconds: round(t.seconds),
        init: t.init,
        attempts: t.attempts,
      })),
    },
    models: results.map((r) => ({
      name: r.name,
      what: r.what,
      parameters: r.parameters,
      epochs: r.epochs,
      updates: r.updates,
      seconds: round(r.seconds),
      final: r.final,
    })),
    heldOut: summarise(split.test, (r) => r.test),
    training: summarise(split.train, (r) => r.train),
    wallSeconds: round((performance.now() - t0) / 1000),
  };
  mkdirSync(resultsDir, { recursive: true });
  writeJson(join(resultsDir, 'results.json'), summary);

  const rows = (s: ReturnType<typeof summarise>) =>
    [
      `| teachers (TD3, one per context) | ${s.teacherMean} | 100 | 100 | 100 |`,
      ...results.map((r) => {
        const m = s.models[r.name]!;
        return `| ${r.name} | ${m.meanReturn} | ${m.normalisedPct} | ${m.normalisedPctPerContext} | ${m.costRatioPct} |`;
      }),
      `| random actions | ${s.randomMean} | 0 | 0 | ${round((100 * s.teacherMean) / s.randomMean)} |`,
    ].join('\n');
  const perContext = (s: ReturnType<typeof summarise>) =>
    [
      `| context (l, m) | teacher | ${results.map((r) => r.name).join(' | ')} | random |`,
      `|---|---|${results.map(() => '---').join('|')}|---|`,
      ...s.contexts.map(
        (c, i) =>
          `| ${c.join(', ')} | ${s.teacherPerContext[i]} | ${results.map((r) => s.models[r.name]!.perContext[i]!.meanReturn).join(' | ')} | ${s.randomPerContext[i]} |`,
      ),
    ].join('\n');
  const header =
    '| policy | mean return | % of teacher (normalised, of the means) | % of teacher (normalised, per context) | teacher return / return (%) |\n|---|---|---|---|---|';
  const md = `# HyperZero on Pendulum-v1 contexts

Generated by \`scripts/hyperzero-pendulum.ts\` (${new Date().toISOString().slice(0, 10)}).

Command: \`${summary.command}\`

- Contexts: pole length l and mass m on a ${args.grid} × ${args.grid} grid over [${args.lo}, ${args.hi}]² (gravity 10, torque limit 2);
  ${split.test.length} held out (seed ${args.seed}, 20 %): ${split.test.map((c) => `(${c.join(', ')})`).join(', ')}.
- Teachers: TD3, one per context, visited in a snake over the grid: the first ${args.teacherSteps.toLocaleString('en')} steps from scratch, each next
  ${args.warmSteps.toLocaleString('en')} steps from its grid neighbour's weights (from scratch again if it fails to swing up); ${round(teacherSeconds / 60)} min in all; dataset: ${args.datasetEpisodes} deterministic episodes per
  context (Q* = the teacher's critic at its action), ${trainData.contextIndex.length} transitions from the training contexts.
- Models: ${args.epochs} epochs, batch ${args.batch}, Adam lr ${args.lr}; ${results.map((r) => `${r.name} ${r.parameters.toLocaleString('en')} parameters, ${round(r.seconds / 60)} min`).join('; ')}.
- Evaluation: ${args.evalEpisodes} deterministic episodes per context, the same start states for every policy (the teachers', the models', random actions).
  Normalised score: (R − R_random) / (R_teacher − R_random).
- Wall time of this run: ${round(summary.wallSeconds / 60)} min (teachers and models loaded from the work dir count as 0).

## Held-out contexts (zero-shot)

${header}
${rows(summary.heldOut)}

${perContext(summary.heldOut)}

## Training contexts

${header}
${rows(summary.training)}
`;
  writeFileSync(join(resultsDir, 'README.md'), md);
  log(`wrote ${join(resultsDir, 'results.json')} and README.md`);
  console.log(md);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
