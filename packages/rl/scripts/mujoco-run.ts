// One PPO or HyperPPO run on a MuJoCo (or any) env, resumable, for the README's results table.
// From packages/rl:
//   npx tsx --conditions=@hypernets/source scripts/mujoco-run.ts <env> <ppo|hyperppo> <steps> <seed> <out dir>
// Checkpoints every 10 PPO iterations (50 HyperPPO ones: a checkpoint ends the envs' episodes,
// and 128 envs × 64 steps need 16 iterations per 1000-step episode) into <out dir> (a rerun
// resumes); at the end writes
// <out dir>/result.json: the deterministic evaluation over 10 episodes (PPO), or, for HyperPPO,
// every architecture of a stratified sample of 300 run with generated weights (2 episodes each),
// with the training curve, wall time and env steps per second. Backend: wasm.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@hypernets/core';
import { HyperPpoTrainer, PpoTrainer, loadMujoco, MUJOCO_ENV_IDS, type PpoTrainEvent } from '../src/index.js';

const [env, algo, stepsArg, seedArg, out] = process.argv.slice(2);
if (!env || (algo !== 'ppo' && algo !== 'hyperppo') || !out || !Number(stepsArg)) {
  console.error('usage: mujoco-run.ts <env> <ppo|hyperppo> <steps> <seed> <out dir>');
  process.exit(2);
}
const steps = Number(stepsArg);
const seed = Number(seedArg ?? 0);
mkdirSync(out, { recursive: true });
const info = await initBackend('wasm');
if ((MUJOCO_ENV_IDS as readonly string[]).includes(env)) await loadMujoco();
const t0 = performance.now();
let last = 0;
const callbacks = {
  onIteration: (e: Extract<PpoTrainEvent, { type: 'iteration' }>) => {
    if (performance.now() - last > 30_000 || e.iteration === e.iterations) {
      last = performance.now();
      console.log(
        `${env} ${algo} s${seed}: iteration ${e.iteration}/${e.iterations}, ${e.globalStep} steps, ` +
          `return ${e.meanReturn?.toFixed(1) ?? '—'}, ${e.stepsPerSecond.toFixed(0)} steps/s`,
      );
    }
  },
};
const common = {
  env,
  totalTimesteps: steps,
  seed,
  checkpointDir: join(out, 'checkpoint'),
  checkpointEvery: algo === 'ppo' ? 10 : 50,
  callbacks,
};
const resume = existsSync(join(out, 'checkpoint'));
if (algo === 'ppo') {
  const t = new PpoTrainer(common);
  const r = await t.run({ resume });
  const ev = await t.evaluate(10);
  const result = {
    env,
    algo,
    seed,
    steps: r.globalStep,
    mean_return: ev.meanReturn,
    eval_returns: ev.returns,
    train_return_last100: r.meanReturn,
    seconds: r.seconds,
    steps_per_second: r.globalStep / r.seconds,
    backend: info.backend,
    curve: r.episodes.map((e) => [e.step, +e.return.toFixed(2)]),
  };
  writeFileSync(join(out, 'result.json'), JSON.stringify(result));
  console.log(JSON.stringify({ ...result, curve: undefined }));
  t.dispose();
} else {
  const t = new HyperPpoTrainer(common);
  const r = await t.run({ resume });
  t.envs.close(); // free the 128 training envs' wasm memory before the evaluation's
  const e0 = performance.now();
  const evals = await t.evaluateArchitectures(t.space.stratified(300), { episodes: 2 });
  const evalSeconds = (performance.now() - e0) / 1000;
  const best = evals.reduce((a, b) => (b.meanReturn > a.meanReturn ? b : a));
  const result = {
    env,
    algo,
    seed,
    steps: r.globalStep,
    mean_return: best.meanReturn,
    best_hidden: best.hidden,
    eval_episodes: 2,
    train_return_last100: r.meanReturn,
    seconds: r.seconds,
    eval_seconds: evalSeconds,
    steps_per_second: r.globalStep / r.seconds,
    backend: info.backend,
    archs: evals.map((e) => ({ hidden: e.hidden, params: e.params, mean_return: +e.meanReturn.toFixed(2) })),
    curve: r.episodes.map((e) => [e.step, +e.return.toFixed(2)]),
  };
  writeFileSync(join(out, 'result.json'), JSON.stringify(result));
  console.log(JSON.stringify({ ...result, archs: evals.length, curve: undefined }));
  t.dispose();
}
console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
