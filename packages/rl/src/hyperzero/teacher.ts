import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Adam, ConfigError, MLP, Rng, TrainingError, type Weights } from '@hypernets/core';
import type { Env } from '../envs/env.js';
import type { Box } from '../envs/spaces.js';
import { orthogonalArray } from '../ppo/orthogonal.js';
import { episodeSeed } from './evaluate.js';

/**
 * The teacher that produces HyperZero's near-optimal solutions: TD3 (Fujimoto et al. 2018), as the
 * reference trains its teachers (SAIC-MONTREAL/hyperzero `agents/td3.py`): a deterministic tanh
 * actor, twin critics with a clipped double-Q target, target-policy smoothing, delayed actor and
 * target updates (Polyak averaging), Adam, a uniform-random warm-up, Gaussian exploration.
 *
 * Actions live in [−1, 1] (the actor's tanh, the reference's DMC convention); `actionScale` maps
 * them to the env's range (Pendulum's torque: 2). One gradient step per env step after the warm-up.
 * It trains on one env with an unbounded replay buffer (a teacher runs for thousands of steps).
 * Seeded: the same seed gives the same teacher on the same backend. No checkpoints: a teacher is a
 * minute of CPU; the experiment script saves each finished teacher's result instead.
 */

export interface Td3Options {
  /** Builds the env (a fresh one per call: training, then evaluation). */
  makeEnv: () => Env<Box>;
  /** Env steps to train for. Default 15,000. */
  totalSteps?: number;
  /** Uniformly random actions for this many first steps, before any update. Default 1,000. */
  warmupSteps?: number;
  /** Hidden widths of actor and critics (ReLU). Default [64, 64]. */
  hiddenSizes?: readonly number[];
  /** Adam's learning rate for actor and critics. Default 1e-3. */
  learningRate?: number;
  /** Default 0.98. */
  gamma?: number;
  /** Polyak rate of the target nets. Default 0.005. */
  tau?: number;
  /** Minibatch size. Default 128. */
  batchSize?: number;
  /** Exploration noise σ in [−1, 1] action units. Default 0.1. */
  explorationNoise?: number;
  /** Target-policy smoothing σ and clip. Default 0.2 and 0.5. */
  targetNoise?: number;
  targetNoiseClip?: number;
  /** Actor and target updates every this many critic updates. Default 2. */
  policyDelay?: number;
  /** Env action = actionScale · a. Default: the env's action high bound. */
  actionScale?: number;
  seed?: number;
}

const optionsSchema = z
  .object({
    makeEnv: z.function(),
    totalSteps: z.number().int().positive().default(15_000),
    warmupSteps: z.number().int().nonnegative().default(1_000),
    hiddenSizes: z.array(z.number().int().positive()).min(1).max(8).default([64, 64]),
    learningRate: z.number().positive().default(1e-3),
    gamma: z.number().min(0).max(1).default(0.98),
    tau: z.number().positive().max(1).default(0.005),
    batchSize: z.number().int().positive().default(128),
    explorationNoise: z.number().nonnegative().default(0.1),
    targetNoise: z.number().nonnegative().default(0.2),
    targetNoiseClip: z.number().nonnegative().default(0.5),
    policyDelay: z.number().int().positive().default(2),
    actionScale: z.number().positive().optional(),
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();

/** The options after the defaults (`Td3Options` without `makeEnv`, every value set). */
export interface ResolvedTd3Options {
  totalSteps: number;
  warmupSteps: number;
  hiddenSizes: number[];
  learningRate: number;
  gamma: number;
  tau: number;
  batchSize: number;
  explorationNoise: number;
  targetNoise: number;
  targetNoiseClip: number;
  policyDelay: number;
  seed: number;
  actionScale: number;
}

export interface Td3Result {
  steps: number;
  seconds: number;
  /** Every finished training episode's return (with exploration noise). */
  episodeReturns: number[];
}

/** A deterministic rollout of the teacher: what HyperZero learns from. */
export interface TeacherRollout {
  /** Transitions: states [n, obs], actions in [−1, 1] [n, act], rewards, next states, terminal flags. */
  states: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  nextStates: Float32Array;
  dones: Float32Array;
  /** Q*(s, a*): the teacher's first critic at the teacher's action (the reference's `agent.observe`). */
  values: Float32Array;
  /** Undiscounted return of each episode. */
  returns: number[];
  observationSize: number;
  actionSize: number;
}

const parse = (o: Td3Options) => {
  const r = optionsSchema.safeParse(o);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(`Td3Teacher ${issue.path.join('.') || 'options'}`, issue.message);
  }
  return r.data;
};

export class Td3Teacher {
  readonly config: ResolvedTd3Options;
  readonly observationSize: number;
  readonly actionSize: number;
  readonly actor: MLP;
  readonly critic: MLP;
  /** actor.*, q1.*, q2.* (trained) and their targets under `target.`. */
  readonly variables: Record<string, tf.Variable> = {};
  private readonly makeEnv: () => Env<Box>;
  private readonly rng: Rng;

  constructor(options: Td3Options) {
    const o = parse(options);
    this.makeEnv = options.makeEnv;
    const probe = this.makeEnv();
    if (probe.actionSpace.kind !== 'box') throw new ConfigError('makeEnv', 'TD3 needs a Box action space');
    this.observationSize = probe.observationSpace.size;
    this.actionSize = probe.actionSpace.size;
    const high = probe.actionSpace.high[0]!;
    probe.close();
    const { makeEnv: _m, actionScale, ...rest } = o;
    this.config = { ...rest, actionScale: actionScale ?? high };
    this.rng = new Rng(o.seed);
    const h = o.hiddenSizes;
    this.actor = new MLP({
      inputSize: this.observationSize,
      hiddenSizes: h,
      outputSize: this.actionSize,
      activation: 'relu',
      outputActivation: 'tanh',
    });
    this.critic = new MLP({ inputSize: this.observationSize + this.actionSize, hiddenSizes: h, outputSize: 1 });
    // The reference's utils.weight_init: orthogonal weights (gain 1), zero biases.
    const initRng = this.rng.fork();
    const add = (prefix: string, net: MLP) => {
      for (const s of net.params) {
        const values =
          s.kind === 'weight' ? orthogonalArray(s.shape[0]!, s.shape[1]!, initRng, 1) : new Float32Array(s.shape[0]!);
        this.variables[`${prefix}.${s.name}`] = tf.tidy(() => tf.variable(tf.tensor(values, [...s.shape])));
        this.variables[`target.${prefix}.${s.name}`] = tf.tidy(() =>
          tf.variable(tf.tensor(values, [...s.shape]), false),
        );
      }
    };
    add('actor', this.actor);
    add('q1', this.critic);
    add('q2', this.critic);
  }

  private weights(prefix: string): Weights {
    const out: Weights = {};
    for (const [k, v] of Object.entries(this.variables))
      if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
    return out;
  }

  /**
   * Starts from another teacher's weights (actor, critics and their targets; same sizes): a
   * warm start from the teacher of a neighbouring context. Adam's moments start from zero.
   */
  copyFrom(other: Td3Teacher): void {
    for (const [k, v] of Object.entries(this.variables)) {
      const src = other.variables[k];
      if (!src || src.shape.join() !== v.shape.join())
        throw new ConfigError('copyFrom', `the other teacher has no variable '${k}' of shape [${v.shape.join(', ')}]`);
    }
    tf.tidy(() => {
      for (const [k, v] of Object.entries(this.variables)) v.assign(tf.clone(other.variables[k]!));
    });
  }

  /** The actor's weights (views of its variables). */
  actorWeights(): Weights {
    return this.weights('actor');
  }

  /** The deterministic action in [−1, 1] for observations [B, obs]: [B, act]. */
  act(obs: tf.Tensor2D): tf.Tensor2D {
    return this.actor.forward(obs, this.actorWeights()) as tf.Tensor2D;
  }

  /** Q1(s, a) for observations [B, obs] and actions [B, act] in [−1, 1]: [B]. */
  q(obs: tf.Tensor2D, actions: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.reshape(this.critic.forward(tf.concat([obs, actions], 1), this.weights('q1')), [-1]));
  }

  /** Trains the teacher; `onEpisode` gets each finished training episode. */
  async train(callbacks: { onEpisode?: (e: { step: number; return: number }) => void } = {}): Promise<Td3Result> {
    const c = this.config;
    const O = this.observationSize;
    const A = this.actionSize;
    const N = c.totalSteps;
    const buf = {
      obs: new Float32Array(N * O),
      act: new Float32Array(N * A),
      rew: new Float32Array(N),
      next: new Float32Array(N * O),
      notDone: new Float32Array(N),
    };
    const trainedNames = Object.keys(this.variables).filter((k) => !k.startsWith('target.'));
    const actorNames = trainedNames.filter((k) => k.startsWith('actor.'));
    const criticNames = trainedNames.filter((k) => !k.startsWith('actor.'));
    const actorVars = actorNames.map((k) => this.variables[k]!);
    const criticVars = criticNames.map((k) => this.variables[k]!);
    const actorAdam = new Adam(actorVars, { lr: c.learningRate });
    const criticAdam = new Adam(criticVars, { lr: c.learningRate });
    const env = this.makeEnv();
    const t0 = performance.now();
    const episodeReturns: number[] = [];
    let obs = env.reset({ seed: episodeSeed(this.rng.int(0, 0x7fffffff), 0) }).observation;
    let epReturn = 0;
    let updates = 0;
    try {
      for (let t = 0; t < N; t++) {
        let action: Float32Array;
        if (t < c.warmupSteps) {
          action = new Float32Array(A);
          for (let j = 0; j < A; j++) action[j] = 2 * this.rng.uniform() - 1;
        } else {
          const x = tf.tensor2d(obs, [1, O]);
          const a = this.act(x);
          action = (await a.data()) as Float32Array;
          tf.dispose([x, a]);
          const noise = this.rng.normalArray([A], 0, c.explorationNoise);
          for (let j = 0; j < A; j++) action[j] = Math.min(1, Math.max(-1, action[j]! + noise[j]!));
        }
        const step = env.step(Array.from(action, (v) => v * c.actionScale));
        buf.obs.set(obs, t * O);
        buf.act.set(action, t * A);
        buf.rew[t] = step.reward;
        buf.next.set(step.observation, t * O);
        buf.notDone[t] = step.terminated ? 0 : 1;
        epReturn += step.reward;
        obs = step.observation;
        if (step.terminated || step.truncated) {
          episodeReturns.push(epReturn);
          callbacks.onEpisode?.({ step: t + 1, return: epReturn });
          epReturn = 0;
          obs = env.reset().observation;
        }
        if (t + 1 < c.warmupSteps) continue;
        // one update per step, on a minibatch drawn uniformly from the buffer so far
        const size = t + 1;
        const B = Math.min(c.batchSize, size);
        const mb = {
          obs: new Float32Array(B * O),
          act: new Float32Array(B * A),
          rew: new Float32Array(B),
          next: new Float32Array(B * O),
          notDone: new Float32Array(B),
        };
        for (let i = 0; i < B; i++) {
          const j = this.rng.int(0, size - 1);
          mb.obs.set(buf.obs.subarray(j * O, (j + 1) * O), i * O);
          mb.act.set(buf.act.subarray(j * A, (j + 1) * A), i * A);
          mb.rew[i] = buf.rew[j]!;
          mb.next.set(buf.next.subarray(j * O, (j + 1) * O), i * O);
          mb.notDone[i] = buf.notDone[j]!;
        }
        const smoothing = this.rng.normalArray([B, A], 0, c.targetNoise);
        updates++;
        this.update(
          mb,
          smoothing,
          B,
          criticVars,
          criticAdam,
          updates % c.policyDelay === 0 ? { actorVars, actorAdam } : null,
        );
      }
    } finally {
      actorAdam.dispose();
      criticAdam.dispose();
      env.close();
    }
    // a cheap finiteness check of the trained actor (a diverged run is worthless as a teacher)
    const probe = tf.tidy(() => tf.addN(Object.values(this.actorWeights()).map((w) => tf.sum(w))));
    const v = (await probe.data())[0]!;
    probe.dispose();
    if (!Number.isFinite(v))
      throw new TrainingError('TD3 diverged: the actor weights are not finite; lower the learning rate');
    return { steps: N, seconds: (performance.now() - t0) / 1000, episodeReturns };
  }

  private update(
    mb: { obs: Float32Array; act: Float32Array; rew: Float32Array; next: Float32Array; notDone: Float32Array },
    smoothing: Float32Array,
    B: number,
    criticVars: tf.Variable[],
    criticAdam: Adam,
    actor: { actorVars: tf.Variable[]; actorAdam: Adam } | null,
  ): void {
    const c = this.config;
    const O = this.observationSize;
    const A = this.actionSize;
    tf.tidy(() => {
      const obs = tf.tensor2d(mb.obs, [B, O]);
      const act = tf.tensor2d(mb.act, [B, A]);
      const next = tf.tensor2d(mb.next, [B, O]);
      const rew = tf.tensor2d(mb.rew, [B, 1]);
      const notDone = tf.tensor2d(mb.notDone, [B, 1]);
      const noise = tf.clipByValue(tf.tensor2d(smoothing, [B, A]), -c.targetNoiseClip, c.targetNoiseClip);
      const nextAct = tf.clipByValue(tf.add(this.actor.forward(next, this.weights('target.actor')), noise), -1, 1);
      const nextSa = tf.concat([next, nextAct], 1);
      const tq = tf.minimum(
        this.critic.forward(nextSa, this.weights('target.q1')),
        this.critic.forward(nextSa, this.weights('target.q2')),
      );
      const y = tf.add(rew, tf.mul(tf.mul(notDone, c.gamma), tq));
      const sa = tf.concat([obs, act], 1);
      const { grads } = tf.variableGrads(() => {
        const q1 = this.critic.forward(sa, this.weights('q1'));
        const q2 = this.critic.forward(sa, this.weights('q2'));
        return tf.add(tf.mean(tf.square(tf.sub(q1, y))), tf.mean(tf.square(tf.sub(q2, y)))) as tf.Scalar;
      }, criticVars);
      criticAdam.step(criticVars.map((v) => grads[v.name] ?? null));
      if (!actor) return;
      const q1w = this.weights('q1');
      const { grads: ag } = tf.variableGrads(() => {
        const a = this.actor.forward(obs, this.actorWeights());
        return tf.neg(tf.mean(this.critic.forward(tf.concat([obs, a], 1), q1w))) as tf.Scalar;
      }, actor.actorVars);
      actor.actorAdam.step(actor.actorVars.map((v) => ag[v.name] ?? null));
      for (const [k, v] of Object.entries(this.variables)) {
        if (k.startsWith('target.')) continue;
        const target = this.variables[`target.${k}`]!;
        target.assign(tf.add(tf.mul(v, c.tau), tf.mul(target, 1 - c.tau)));
      }
    });
  }

  /**
   * Runs `episodes` deterministic episodes (reset seeds `episodeSeed(seed, e)`, as `evaluateZeroShot`) on fresh envs and records
   * every transition with the action in [−1, 1] and Q*(s, a*) from the first critic.
   */
  async rollout(episodes: number, seed: number, makeEnv: () => Env<Box> = this.makeEnv): Promise<TeacherRollout> {
    const O = this.observationSize;
    const A = this.actionSize;
    const states: number[] = [];
    const actions: number[] = [];
    const rewards: number[] = [];
    const nextStates: number[] = [];
    const dones: number[] = [];
    const values: number[] = [];
    const returns: number[] = [];
    for (let ep = 0; ep < episodes; ep++) {
      const env = makeEnv();
      let obs = env.reset({ seed: episodeSeed(seed, ep) }).observation;
      let total = 0;
      for (;;) {
        const x = tf.tensor2d(obs, [1, O]);
        const a = this.act(x);
        const q = this.q(x, a);
        const [ah, qh] = await Promise.all([a.data(), q.data()]);
        tf.dispose([x, a, q]);
        const step = env.step(Array.from(ah, (v) => v * this.config.actionScale));
        states.push(...obs);
        actions.push(...ah);
        rewards.push(step.reward);
        nextStates.push(...step.observation);
        dones.push(step.terminated ? 1 : 0);
        values.push(qh[0]!);
        total += step.reward;
        obs = step.observation;
        if (step.terminated || step.truncated) break;
      }
      env.close();
      returns.push(total);
    }
    return {
      states: Float32Array.from(states),
      actions: Float32Array.from(actions),
      rewards: Float32Array.from(rewards),
      nextStates: Float32Array.from(nextStates),
      dones: Float32Array.from(dones),
      values: Float32Array.from(values),
      returns,
      observationSize: O,
      actionSize: A,
    };
  }

  dispose(): void {
    tf.dispose(Object.values(this.variables));
  }
}
