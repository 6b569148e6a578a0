import * as tf from '@tensorflow/tfjs-core';
import { TrainingError, clipByGlobalNorm, type Adam, type Rng } from '@hypernets/core';
import type { PpoAgent } from './agent.js';
import { gae } from './gae.js';
import { ppoLoss } from './loss.js';
import type { PpoIterationStats, ResolvedPpoTrainerOptions } from './options.js';
import type { PolicyActionHead } from './policy.js';
import type { Rollout } from './rollout.js';

/** What an update reads and changes: the run's options, its agent, variables and optimiser, this iteration's learning rate. */
export interface UpdateContext {
  config: ResolvedPpoTrainerOptions;
  policy: PpoAgent;
  head: PolicyActionHead;
  obsSize: number;
  /** The agent's variables, in Adam's order. */
  vars: tf.Variable[];
  adam: Adam;
  lr: number;
}

/** GAE, then the epochs of minibatch updates; returns the means of the loss terms when `log`. */
export async function ppoUpdate(
  ctx: UpdateContext,
  rng: Rng,
  ro: Rollout,
  it: number,
  log: boolean,
): Promise<Omit<PpoIterationStats, 'iteration' | 'globalStep'>> {
  const c = ctx.config;
  const { advantages, returns } = gae({
    numSteps: c.numSteps,
    numEnvs: c.numEnvs,
    rewards: ro.rewards,
    values: ro.values,
    dones: ro.dones,
    nextValues: ro.nextValues,
    nextDones: ro.nextDone,
    truncationValues: ro.truncationValues,
    gamma: c.gamma,
    lambda: c.gaeLambda,
  });
  const lr = ctx.lr;
  const O = ctx.obsSize;
  const A = ctx.head.kind === 'discrete' ? 1 : ctx.head.size;
  const lossOptions = {
    clipCoef: c.clipCoef,
    clipVloss: c.clipVloss,
    normAdv: c.normAdv,
    entCoef: c.entCoef,
    vfCoef: c.vfCoef,
  };
  let sums: tf.Tensor | null = null; // [6]: pg, v, entropy, oldKl, kl, clipfrac summed over updates
  let updates = 0;
  try {
    for (let epoch = 0; epoch < c.updateEpochs; epoch++) {
      let lastKl: tf.Scalar | null = null;
      for (const idx of ctx.policy.minibatches(rng, c.numSteps, c.numEnvs, c.numMinibatches)) {
        const M = idx.length;
        const envs = idx.map((j) => j % c.numEnvs);
        const mb = {
          obs: new Float32Array(M * O),
          actions: new Float32Array(M * A),
          logProbs: new Float32Array(M),
          advantages: new Float32Array(M),
          returns: new Float32Array(M),
          values: new Float32Array(M),
        };
        idx.forEach((j, k) => {
          mb.obs.set(ro.obs.subarray(j * O, (j + 1) * O), k * O);
          mb.actions.set(ro.actions.subarray(j * A, (j + 1) * A), k * A);
          mb.logProbs[k] = ro.logProbs[j]!;
          mb.advantages[k] = advantages[j]!;
          mb.returns[k] = returns[j]!;
          mb.values[k] = ro.values[j]!;
        });
        const inputs = tf.tidy(() => ({
          obs: tf.tensor2d(mb.obs, [M, O]),
          actions:
            ctx.head.kind === 'discrete'
              ? tf.tensor1d(Int32Array.from(mb.actions), 'int32')
              : tf.tensor2d(mb.actions, [M, A]),
          logProbs: tf.tensor1d(mb.logProbs),
          advantages: tf.tensor1d(mb.advantages),
          returns: tf.tensor1d(mb.returns),
          values: tf.tensor1d(mb.values),
        }));
        let diag: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const ev = ctx.policy.evaluate(inputs.obs, inputs.actions, envs);
          const terms = ppoLoss(
            {
              newLogProb: ev.logProb,
              oldLogProb: inputs.logProbs,
              advantages: inputs.advantages,
              returns: inputs.returns,
              oldValues: inputs.values,
              newValues: ev.value,
              entropy: ev.entropy,
            },
            lossOptions,
          );
          // variableGrads disposes what its function makes except the loss: keep the diagnostics
          diag = tf.keep(
            tf.stack([terms.pgLoss, terms.vLoss, terms.entropy, terms.oldApproxKl, terms.approxKl, terms.clipFraction]),
          );
          return terms.loss;
        }, ctx.vars);
        const clipped = clipByGlobalNorm(
          ctx.vars.map((v) => grads[v.name] ?? null),
          c.maxGradNorm,
        );
        ctx.adam.step(clipped.grads, lr);
        tf.dispose([inputs.obs, inputs.actions, inputs.logProbs, inputs.advantages, inputs.returns, inputs.values]);
        tf.dispose([...Object.values(grads), ...clipped.grads.filter((g) => g !== null), clipped.norm, value]);
        const d = diag as unknown as tf.Tensor;
        const prev: tf.Tensor | null = sums;
        sums = prev ? tf.add(prev, d) : tf.clone(d);
        if (prev) prev.dispose();
        if (lastKl) lastKl.dispose();
        lastKl = c.targetKl !== null ? (tf.reshape(tf.slice(d, [4], [1]), []) as tf.Scalar) : null;
        d.dispose();
        updates++;
      }
      if (lastKl) {
        const kl = (await lastKl.data())[0]!;
        lastKl.dispose();
        if (c.targetKl !== null && kl > c.targetKl) break;
      }
    }
    if (!log) return blankStats(lr, updates);
    const s = await sums!.data();
    const m = Array.from(s, (v) => v / updates);
    if (m.some((v) => !Number.isFinite(v)))
      throw new TrainingError(
        `PPO's loss terms at iteration ${it} are not finite (${m.join(', ')}); lower the learning rate`,
      );
    return {
      lr,
      pgLoss: m[0]!,
      vLoss: m[1]!,
      entropy: m[2]!,
      oldApproxKl: m[3]!,
      approxKl: m[4]!,
      clipFraction: m[5]!,
      explainedVariance: explainedVariance(ro.values, returns),
      updates,
    };
  } finally {
    if (sums) (sums as tf.Tensor).dispose();
  }
}

function blankStats(lr: number, updates: number): Omit<PpoIterationStats, 'iteration' | 'globalStep'> {
  const nan = Number.NaN;
  return {
    lr,
    pgLoss: nan,
    vLoss: nan,
    entropy: nan,
    oldApproxKl: nan,
    approxKl: nan,
    clipFraction: nan,
    explainedVariance: nan,
    updates,
  };
}

/** 1 − Var(R − V) / Var(R) (population variances, as numpy's np.var); NaN when Var(R) = 0. */
export function explainedVariance(values: ArrayLike<number>, returns: ArrayLike<number>): number {
  const n = returns.length;
  let mr = 0;
  let md = 0;
  for (let i = 0; i < n; i++) {
    mr += returns[i]!;
    md += returns[i]! - values[i]!;
  }
  mr /= n;
  md /= n;
  let vr = 0;
  let vd = 0;
  for (let i = 0; i < n; i++) {
    vr += (returns[i]! - mr) ** 2;
    vd += (returns[i]! - values[i]! - md) ** 2;
  }
  return vr === 0 ? Number.NaN : 1 - vd / vr;
}
