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
import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend } from '@hypernets/core';
import { makeEnv } from '../src/envs/registry.js';
import { buildDataset, contextGrid, splitContexts, type ZeroShotDataset } from '../src/hyperzero/dataset.js';
import { episodeSeed, type ZeroShotEvaluation } from '../src/hyperzero/evaluate.js';
import { ContextMlp, HyperZero, type ZeroShotModel } from '../src/hyperzero/model.js';
import { Td3Teacher, type TeacherRollout } from '../src/hyperzero/teacher.js';
import { HyperZeroTrainer, type HyperZeroEpochStats } from '../src/hyperzero/trainer.js';

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
  models: 'hyperzero,mlp_rl_td,mlp_policy',
  phase: 'all',
  backend: 'wasm',
  seed: 2, // config_rl_approximator.yaml seed
  testFraction: 0.2,
  gamma: 0.98,
  results: '',
};
const DATASET_SEED = 100;
const EVAL_SEED = 200;

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
  const pendulum = ([l, m]: readonly number[]) => makeEnv('Pendulum-v1', { l, m });
  const key = ([l, m]: readonly number[]) => `l${l!.toFixed(2)}_m${m!.toFixed(2)}`;

  // ---- the context family and its split ----
  const axis = Array.from({ length: args.grid }, (_, i) =>
    round(args.lo + ((args.hi - args.lo) * i) / (args.grid - 1), 4),
  );
  const contexts = contextGrid([axis, axis]); // [l, m]
  const split = splitContexts(contexts, { testFraction: args.testFraction, seed: args.seed });
  const isTest = new Set(split.test.map(key));

  await initBackend(args.backend as 'wasm' | 'cpu');
  log(
    `backend ${args.backend}; ${contexts.length} contexts (l, m ∈ {${axis.join(', ')}}), held out: ${split.test.map(key).join(' ')}`,
  );

  // ---- teachers ----
  // One TD3 teacher per context, visited in a snake over the grid (l outer, m up then down), so
  // each context's neighbour comes just before it: the first trains from scratch
  // (--teacher-steps), each next starts from its predecessor's weights (--warm-steps, after 256
  // random steps); a teacher whose deterministic policy does not swing up (< −800) is trained
  // again from scratch with another seed, and the better one kept.
  interface TeacherFile {
    context: number[];
    split: 'train' | 'test';
    /** 'scratch', or the context key of the teacher it started from. */
    init: string;
    attempts: { init: string; seed: number; steps: number; seconds: number; evalMean: number }[];
    seconds: number;
    /** Mean of the last 10 training episodes (with exploration noise). */
    trainTail: number;
    evalReturns: number[];
    evalMean: number;
    rollout: Omit<TeacherRollout, 'states' | 'actions' | 'rewards' | 'nextStates' | 'dones' | 'values'> &
      Record<'states' | 'actions' | 'rewards' | 'nextStates' | 'dones' | 'values', number[]>;
    /** The teacher's variables (actor, critics, targets): the next context's warm start. */
    weights: Record<string, number[]>;
  }

  const rolloutJson = (data: TeacherRollout): TeacherFile['rollout'] => ({
    observationSize: data.observationSize,
    actionSize: data.actionSize,
    returns: data.returns,
    states: Array.from(data.states),
    actions: Array.from(data.actions),
    rewards: Array.from(data.rewards),
    nextStates: Array.from(data.nextStates),
    dones: Array.from(data.dones),
    values: Array.from(data.values),
  });

  const makeTeacher = (ctx: number[], seed: number, steps: number, warmup?: number) =>
    new Td3Teacher({
      makeEnv: () => pendulum(ctx),
      totalSteps: steps,
      warmupSteps: warmup,
      gamma: args.gamma,
      seed,
    });

  async function teacher(ctx: number[], index: number, parent: TeacherFile | null): Promise<TeacherFile> {
    const path = join(args.work, 'teachers', `${key(ctx)}.json`);
    if (existsSync(path)) {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as TeacherFile;
      if (saved.rollout.returns.length === args.datasetEpisodes) return saved;
      // another --dataset-episodes: roll the saved teacher out again
      const t = makeTeacher(ctx, 0, 1);
      for (const [k, v] of Object.entries(t.variables)) v.assign(tf.tensor(saved.weights[k]!, v.shape, 'float32'));
      saved.rollout = rolloutJson(await t.rollout(args.datasetEpisodes, DATASET_SEED));
      t.dispose();
      writeJson(path, saved);
      return saved;
    }
    const attempts: TeacherFile['attempts'] = [];
    let best: { t: Td3Teacher; init: string; seconds: number; tail: number; ev: TeacherRollout } | null = null;
    const plans: { init: string; seed: number; steps: number; warmup?: number }[] = [];
    if (parent && args.warmSteps > 0)
      plans.push({ init: key(parent.context), seed: index, steps: args.warmSteps, warmup: 256 });
    plans.push({ init: 'scratch', seed: plans.length ? 1000 + index : index, steps: args.teacherSteps });
    if (plans.length === 1) plans.push({ init: 'scratch', seed: 2000 + index, steps: args.teacherSteps });
    for (const plan of plans) {
      const t = makeTeacher(ctx, plan.seed, plan.steps, plan.warmup);
      if (plan.init !== 'scratch') {
        const from = makeTeacher(parent!.context, 0, 1);
        for (const [k, v] of Object.entries(from.variables))
          v.assign(tf.tensor(parent!.weights[k]!, v.shape, 'float32'));
        t.copyFrom(from);
        from.dispose();
      }
      const r = await t.train();
      const ev = await t.rollout(args.evalEpisodes, EVAL_SEED);
      const evalMean = mean(ev.returns);
      attempts.push({ ...plan, seconds: round(r.seconds), evalMean: round(evalMean) });
      const tail = mean(r.episodeReturns.slice(-10));
      if (!best || evalMean > mean(best.ev.returns)) {
        best?.t.dispose();
        best = { t, init: plan.init, seconds: r.seconds, tail, ev };
      } else t.dispose();
      if (evalMean > -800) break;
    }
    const b = best!;
    const data = await b.t.rollout(args.datasetEpisodes, DATASET_SEED);
    const weights: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(b.t.variables)) weights[k] = Array.from(await v.data());
    b.t.dispose();
    const out: TeacherFile = {
      context: ctx,
      split: isTest.has(key(ctx)) ? 'test' : 'train',
      init: b.init,
      attempts,
      seconds: attempts.reduce((sum, a) => sum + a.seconds, 0),
      trainTail: b.tail,
      evalReturns: b.ev.returns,
      evalMean: mean(b.ev.returns),
      rollout: rolloutJson(data),
      weights,
    };
    writeJson(path, out);
    return out;
  }

  const snake = axis.flatMap((l, i) => (i % 2 === 0 ? axis : [...axis].reverse()).map((m) => [l, m]));
  const teachers = new Map<string, TeacherFile>();
  let previous: TeacherFile | null = null;
  for (const [i, ctx] of snake.entries()) {
    const had = existsSync(join(args.work, 'teachers', `${key(ctx)}.json`));
    const t = await teacher(ctx, i, previous);
    teachers.set(key(ctx), t);
    previous = t;
    log(
      `teacher ${i + 1}/${snake.length} ${key(ctx)} (${t.split}, from ${t.init})${had ? ' [saved]' : ''}: eval ${t.evalMean.toFixed(1)}, ` +
        `dataset ${mean(t.rollout.returns).toFixed(1)}, ${t.seconds.toFixed(0)} s, attempts ${t.attempts.length}`,
    );
  }
  if (args.phase === 'teachers') process.exit(0);

  // ---- datasets: every transition of the training contexts; the held-out ones for validation ----
  const toRollout = (t: TeacherFile): TeacherRollout => ({
    ...t.rollout,
    states: Float32Array.from(t.rollout.states),
    actions: Float32Array.from(t.rollout.actions),
    rewards: Float32Array.from(t.rollout.rewards),
    nextStates: Float32Array.from(t.rollout.nextStates),
    dones: Float32Array.from(t.rollout.dones),
    values: Float32Array.from(t.rollout.values),
  });
  const dataOf = (cs: number[][]): ZeroShotDataset =>
    buildDataset(
      cs.map((c) => ({ context: c, rollout: toRollout(teachers.get(key(c))!) })),
      args.gamma,
    );
  const trainData = dataOf(split.train);
  const validData = split.test.length > 0 ? dataOf(split.test) : undefined;
  log(
    `dataset: ${trainData.contextIndex.length} transitions of ${split.train.length} contexts; validation ${validData?.contextIndex.length ?? 0}`,
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
  const MODELS: Record<string, { make: () => ZeroShotModel; what: string }> = {
    hyperzero: {
      make: () => new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, seed: args.seed }),
      what: 'HyperZero: generated policy and Q, ‖π̂ − a*‖² + 0.01‖Q̂ − Q*‖² + 0.01·TD',
    },
    hyperzero_without_q: {
      make: () => new HyperZero({ contextSize: 2, observationSize: 3, actionSize: 1, withQ: false, seed: args.seed }),
      what: 'HyperZero without Q: generated policy, ‖π̂ − a*‖²',
    },
    mlp_rl_td: {
      make: () => new ContextMlp({ contextSize: 2, observationSize: 3, actionSize: 1, seed: args.seed }),
      what: 'context MLP with Q and TD (the reference’s mlp_rl_td)',
    },
    mlp_policy: {
      make: () => new ContextMlp({ contextSize: 2, observationSize: 3, actionSize: 1, withQ: false, seed: args.seed }),
      what: 'context MLP policy, ‖π̂ − a*‖² only (the reference’s mlp_policy)',
    },
  };

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
    const spec = MODELS[name];
    if (!spec) throw new Error(`unknown model ${name}; known: ${Object.keys(MODELS).join(', ')}`);
    const model = spec.make();
    const trainer = new HyperZeroTrainer({
      model,
      data: trainData,
      validation: validData,
      epochs: args.epochs,
      batchSize: args.batch,
      learningRate: args.lr,
      seed: args.seed,
      makeEnv: pendulum,
      logEvery: 1,
      checkpointDir: dir,
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
    const r = await trainer.run({ resume: existsSync(join(dir, 'checkpoint.json')) });
    const test = await trainer.evaluateZeroShot(split.test, args.evalEpisodes, { seed: EVAL_SEED });
    const train = await trainer.evaluateZeroShot(split.train, args.evalEpisodes, { seed: EVAL_SEED });
    const out: ModelResult = {
      name,
      what: spec.what,
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
    settings: { ...args, work: undefined, datasetSeed: DATASET_SEED, evalSeed: EVAL_SEED, axis },
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
