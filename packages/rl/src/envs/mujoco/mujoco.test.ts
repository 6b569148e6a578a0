import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MujocoUnavailableError, ResetNeededError } from '../../errors.js';
import { makeEnv } from '../registry.js';
import { loadMujoco, mujocoModule } from './loader.js';
import { HALF_CHEETAH_XML } from './models/half-cheetah.js';
import { HOPPER_XML } from './models/hopper.js';
import { WALKER2D_XML } from './models/walker2d.js';
import type { MujocoEnv } from './mujoco-env.js';
import type { HopperEnv } from './hopper.js';

interface ModelFacts {
  nq: number;
  nv: number;
  nu: number;
  nbody: number;
  timestep: number;
  bodyMass: number[];
  bodyInertia: number[];
  actuatorGear: number[];
  actuatorCtrlRange: number[];
  qpos0: number[];
  qvel0: number[];
  qpos: number[][];
  qvel: number[][];
}
// Recorded from Gymnasium's own XML files by scripts/mujoco-model-facts.mjs (same engine).
const fx = JSON.parse(readFileSync(new URL('../../testing/fixtures/mujoco-models.json', import.meta.url), 'utf8')) as {
  steps: number;
  models: Record<string, ModelFacts>;
};

const OURS: Record<string, string> = {
  'HalfCheetah-v5': HALF_CHEETAH_XML,
  'Hopper-v5': HOPPER_XML,
  'Walker2d-v5': WALKER2D_XML,
};

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
};

describe('MuJoCo envs before loadMujoco', () => {
  it('makeEnv says to await loadMujoco() first', () => {
    // this file's other suites load it; this one runs first (vitest keeps file order)
    expect(() => makeEnv('Hopper-v5')).toThrow(MujocoUnavailableError);
    expect(() => makeEnv('Hopper-v5')).toThrow(/await loadMujoco\(\)/);
  });
});

describe('our MJCF models against Gymnasium v5’s', () => {
  beforeAll(async () => {
    await loadMujoco();
  });

  for (const id of Object.keys(OURS))
    it(`${id}: same sizes, masses, inertias, gears, control ranges, timestep, and the same trajectory`, () => {
      const mj = mujocoModule(id);
      const ref = fx.models[id]!;
      const m = mj.MjModel.from_xml_string(OURS[id]!);
      const d = new mj.MjData(m);
      try {
        expect([m.nq, m.nv, m.nu, m.nbody]).toEqual([ref.nq, ref.nv, ref.nu, ref.nbody]);
        expect(m.opt.timestep).toBe(ref.timestep);
        close(m.body_mass, ref.bodyMass, 1e-9);
        close(m.body_inertia, ref.bodyInertia, 1e-9);
        close(
          Array.from({ length: m.nu }, (_, i) => m.actuator_gear[6 * i]!),
          ref.actuatorGear,
          0,
        );
        close(m.actuator_ctrlrange, ref.actuatorCtrlRange, 0);
        // 60 physics steps of a fixed control sequence from qpos0 and a small velocity
        mj.mj_resetData(m, d);
        close(d.qpos, ref.qpos0, 0);
        d.qvel.set(ref.qvel0);
        mj.mj_forward(m, d);
        for (let t = 0; t < fx.steps; t++) {
          d.ctrl.set(Array.from({ length: m.nu }, (_, i) => 0.8 * Math.sin(0.3 * t + i)));
          mj.mj_step(m, d);
          close(d.qpos, ref.qpos[t]!, 1e-6);
          close(d.qvel, ref.qvel[t]!, 1e-6);
        }
      } finally {
        d.delete();
        m.delete();
      }
    });
});

describe('MuJoCo envs (Gymnasium v5 definitions)', () => {
  beforeAll(async () => {
    await loadMujoco();
  });

  it('observation and action layouts, time limits and reward thresholds', () => {
    const cases = [
      ['HalfCheetah-v5', 17, 6, 1000, 4800],
      ['Hopper-v5', 11, 3, 1000, 3800],
      ['Walker2d-v5', 17, 6, 1000, null],
    ] as const;
    for (const [id, obs, act, limit, threshold] of cases) {
      const env = makeEnv(id);
      expect(env.observationSpace.shape).toEqual([obs]);
      expect(env.actionSpace.shape).toEqual([act]);
      expect(Array.from(env.actionSpace.low)).toEqual(new Array(act).fill(-1));
      expect(env.spec).toMatchObject({ id, maxEpisodeSteps: limit, rewardThreshold: threshold });
      const { observation } = env.reset({ seed: 0 });
      expect(observation.length).toBe(obs);
      env.close();
    }
    expect(makeEnv('HalfCheetah-v5', { excludeCurrentPositionsFromObservation: false }).observationSpace.shape).toEqual(
      [18],
    );
    expect(() => makeEnv('HalfCheetah-v5', { healthyReward: 1 } as never)).toThrow(/options.healthyReward/);
  });

  it('HalfCheetah: reward = Δx / dt − 0.1‖a‖², the observation is qpos[1:] and qvel, never terminates', () => {
    const env = makeEnv('HalfCheetah-v5');
    const raw = env.unwrapped as unknown as MujocoEnv;
    env.reset({ seed: 3 });
    const a = [0.5, -0.3, 0.9, -1, 0.2, 0.7];
    for (let t = 0; t < 30; t++) {
      const x0 = raw.qpos[0]!;
      const r = env.step(a);
      const x1 = raw.qpos[0]!;
      expect(raw.dt).toBeCloseTo(0.05, 12);
      const ctrl = 0.1 * a.reduce((s, v) => s + v * v, 0);
      expect(r.reward).toBeCloseTo((x1 - x0) / 0.05 - ctrl, 9);
      expect(r.info).toMatchObject({ x_position: x1, reward_ctrl: -ctrl });
      expect(r.terminated).toBe(false);
      close(r.observation, Float32Array.from([...raw.qpos.slice(1), ...raw.qvel]), 1e-6);
    }
    env.close();
  });

  it('Hopper: healthy reward, termination when the torso falls or tilts, qvel clipped to ±10', () => {
    const env = makeEnv('Hopper-v5');
    const raw = env.unwrapped as unknown as HopperEnv;
    env.reset({ seed: 1 });
    const x0 = raw.qpos[0]!;
    const r = env.step([0, 0, 0]);
    expect(raw.dt).toBeCloseTo(0.008, 12);
    expect(r.reward).toBeCloseTo((raw.qpos[0]! - x0) / 0.008 + 1, 9);
    expect(r.terminated).toBe(false);
    // tilt the torso past 0.2 rad: unhealthy, terminated, no survival reward
    const q = raw.qpos;
    q[2] = 0.5;
    raw.setState(q, new Float64Array(6).fill(0));
    expect(raw.isHealthy).toBe(false);
    const fall = env.step([0, 0, 0]);
    expect(fall.terminated).toBe(true);
    expect(fall.info.reward_survive).toBe(0);
    expect(() => env.step([0, 0, 0])).toThrow(ResetNeededError);
    // a fast joint: its observed velocity is clipped to ±10
    env.reset({ seed: 1 });
    const v = new Float64Array(6);
    v[3] = 50;
    const obs = raw.setState(raw.qpos, v);
    expect(obs[5 + 3]).toBe(10);
    env.close();
  });

  it('reset noise: within its bounds around qpos0, the same per seed, different across seeds', () => {
    const env = makeEnv('Hopper-v5');
    const raw = env.unwrapped as unknown as MujocoEnv;
    const a = env.reset({ seed: 7 }).observation;
    const qpos = raw.qpos;
    const qvel = raw.qvel;
    for (let i = 0; i < qpos.length; i++) expect(Math.abs(qpos[i]! - raw.initQpos[i]!)).toBeLessThanOrEqual(5e-3);
    for (const v of qvel) expect(Math.abs(v)).toBeLessThanOrEqual(5e-3);
    expect(env.reset({ seed: 7 }).observation).toEqual(a);
    expect(env.reset({ seed: 8 }).observation).not.toEqual(a);
    // HalfCheetah's velocity noise is Gaussian: wider than its U(−0.1, 0.1) position noise
    const cheetah = makeEnv('HalfCheetah-v5');
    let maxV = 0;
    for (let s = 0; s < 20; s++) {
      cheetah.reset({ seed: s });
      const c = cheetah.unwrapped as unknown as MujocoEnv;
      for (const p of c.qpos.slice(1)) expect(Math.abs(p)).toBeLessThanOrEqual(0.1 + 1e-12);
      maxV = Math.max(maxV, ...Array.from(c.qvel, Math.abs));
    }
    expect(maxV).toBeGreaterThan(0.1);
    env.close();
    cheetah.close();
  });

  it('rollouts are deterministic per seed; close() frees the env and later calls fail clearly', () => {
    const run = () => {
      const env = makeEnv('Walker2d-v5');
      env.reset({ seed: 11 });
      env.actionSpace.seed(11);
      let total = 0;
      for (let t = 0; t < 50; t++) {
        const r = env.step(env.actionSpace.sample());
        total += r.reward;
        if (r.terminated) break;
      }
      env.close();
      return total;
    };
    expect(run()).toBe(run());
    const env = makeEnv('HalfCheetah-v5');
    env.reset({ seed: 0 });
    env.close();
    expect(() => env.step([0, 0, 0, 0, 0, 0])).toThrow(ResetNeededError);
    expect(() => env.reset()).toThrow(/closed/);
  });

  it('draws its bodies from the side: capsules and the floor, finite, the view following the torso', () => {
    const env = makeEnv('HalfCheetah-v5');
    const raw = env.unwrapped as unknown as MujocoEnv;
    env.reset({ seed: 0 });
    for (let t = 0; t < 40; t++) env.step([1, -1, 1, -1, 1, -1]);
    const f = raw.renderFrame();
    expect(f.shapes.filter((s) => s.kind === 'capsule').length).toBe(8); // torso, head, 6 leg parts
    expect(f.shapes.filter((s) => s.kind === 'line').length).toBe(1);
    for (const s of f.shapes)
      for (const v of Object.values(s)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    const torsoX = raw.qpos[0]!;
    expect((f.view.xMin + f.view.xMax) / 2).toBeCloseTo(torsoX, 6);
    env.close();
  });
});
