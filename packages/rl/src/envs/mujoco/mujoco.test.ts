import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MujocoUnavailableError, ResetNeededError } from '../../errors.js';
import { makeEnv } from '../registry.js';
import type { Box } from '../spaces.js';
import type { AntEnv } from './ant.js';
import {
  MUJOCO_MODEL_FILES,
  isMujocoLoaded,
  loadMujoco,
  modelFolderCandidates,
  mujocoModelXml,
  mujocoModule,
  type MujocoModelFile,
} from './loader.js';
import type { MujocoEnv } from './mujoco-env.js';
import type { HopperEnv } from './hopper.js';

interface ModelFacts {
  file: string;
  nq: number;
  nv: number;
  nu: number;
  nbody: number;
  ngeom: number;
  timestep: number;
  observationSize: number;
  bodyNames: string[];
  bodyMass: number[];
  bodyInertia: number[];
  geomType: number[];
  geomSize: number[];
  jointRange: number[];
  jointStiffness: number[];
  dofDamping: number[];
  dofArmature: number[];
  cfrcStep: number;
  cfrcExt: number[];
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

// our model file of each env (Gymnasium's file name is in the fixture)
const OURS: Record<string, MujocoModelFile> = {
  'HalfCheetah-v5': 'half_cheetah.xml',
  'Hopper-v5': 'hopper.xml',
  'Walker2d-v5': 'walker2d.xml',
  'Ant-v5': 'ant.xml',
};
const packageRoot = new URL('../../../', import.meta.url);

function bodyName(m: unknown, i: number): string {
  const body = (m as { body(i: number): { name: string; delete?: () => void } }).body(i);
  const name = body.name;
  body.delete?.();
  return name;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
};

describe('MuJoCo envs before loadMujoco', () => {
  it('makeEnv says to await loadMujoco() first', () => {
    // this file's other suites load it; this one runs first (vitest keeps file order)
    expect(isMujocoLoaded()).toBe(false);
    for (const id of Object.keys(OURS)) {
      expect(() => makeEnv(id)).toThrow(MujocoUnavailableError);
      expect(() => makeEnv(id)).toThrow(/await loadMujoco\(\)/);
    }
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
      const m = mj.MjModel.from_xml_string(mujocoModelXml(id, OURS[id]!));
      const d = new mj.MjData(m);
      const raw = m as unknown as Record<string, Float64Array | Int32Array>;
      try {
        expect([m.nq, m.nv, m.nu, m.nbody, m.ngeom]).toEqual([ref.nq, ref.nv, ref.nu, ref.nbody, ref.ngeom]);
        expect(m.opt.timestep).toBe(ref.timestep);
        expect(Array.from({ length: m.nbody }, (_, i) => bodyName(m, i))).toEqual(ref.bodyNames);
        close(m.body_mass, ref.bodyMass, 1e-9);
        close(m.body_inertia, ref.bodyInertia, 1e-9);
        expect(Array.from(m.geom_type)).toEqual(ref.geomType);
        close(m.geom_size, ref.geomSize, 1e-12);
        close(raw.jnt_range!, ref.jointRange, 1e-12);
        close(raw.jnt_stiffness!, ref.jointStiffness, 0);
        close(raw.dof_damping!, ref.dofDamping, 0);
        close(raw.dof_armature!, ref.dofArmature, 0);
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
          if (t === ref.cfrcStep) {
            // the contact forces (Ant's observation and contact cost) at a step touching the floor
            mj.mj_rnePostConstraint(m, d);
            expect(ref.cfrcExt.some((v) => v !== 0)).toBe(true);
            close(d.cfrc_ext, ref.cfrcExt, 1e-6);
          }
        }
        // and the env's observation has Gymnasium's size
        const env = makeEnv(id);
        expect(env.observationSpace.shape).toEqual([ref.observationSize]);
        env.close();
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
      ['Ant-v5', 105, 8, 1000, 6000],
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
    const shapes = [
      makeEnv('HalfCheetah-v5', { excludeCurrentPositionsFromObservation: false }),
      makeEnv('Ant-v5', { excludeCurrentPositionsFromObservation: false }),
      makeEnv('Ant-v5', { includeCfrcExtInObservation: false }),
    ].map((env) => {
      env.close();
      return env.observationSpace.shape;
    });
    expect(shapes).toEqual([[18], [107], [27]]);
    expect(() => makeEnv('HalfCheetah-v5', { healthyReward: 1 } as never)).toThrow(/options.healthyReward/);
    expect(() => makeEnv('Ant-v5', { healthyAngleRange: [-1, 1] } as never)).toThrow(/options.healthyAngleRange/);
    expect(() => makeEnv('Ant-v5', { mainBody: 'tail' })).toThrow(ConfigError);
    expect(() => makeEnv('Hopper-v5', { healthyZRange: [1, 0] })).toThrow(/low < high/);
    expect(() => makeEnv('Walker2d-v5', { xml: '<mujoco><bogus/></mujoco>' })).toThrow(/could not compile/);
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
    const x0 = raw.qpos[0]!;
    for (let t = 0; t < 40; t++) env.step([1, -1, 1, -1, 1, -1]);
    const f = raw.renderFrame();
    expect(f.shapes.filter((s) => s.kind === 'capsule').length).toBe(8); // torso, head, 6 leg parts
    expect(f.shapes.filter((s) => s.kind === 'line').length).toBe(1);
    for (const s of f.shapes)
      for (const v of Object.values(s)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    // The view centres on the torso body's position from the last substep's kinematics (what
    // MuJoCo draws), which trails qpos by one 0.01 s substep of motion.
    const torsoX = raw.qpos[0]!;
    expect(Math.abs(torsoX - x0)).toBeGreaterThan(0.05);
    expect(Math.abs((f.view.xMin + f.view.xMax) / 2 - torsoX)).toBeLessThan(1e-3);
    expect(f.view.xMax - f.view.xMin).toBeCloseTo(6, 9);
    env.close();
  });

  it('Walker2d: healthy while 0.8 < z < 2 and |angle| < 1; the left leg mirrors the right', () => {
    const env = makeEnv('Walker2d-v5');
    const raw = env.unwrapped as unknown as HopperEnv;
    env.reset({ seed: 2 });
    const r = env.step([0, 0, 0, 0, 0, 0]);
    expect(r.terminated).toBe(false);
    expect(r.info.reward_survive).toBe(1);
    const q = raw.qpos;
    q[1] = 2.5; // too high
    raw.setState(q, new Float64Array(9));
    expect(raw.isHealthy).toBe(false);
    expect(env.step([0, 0, 0, 0, 0, 0]).terminated).toBe(true);
    // the same torque on both legs from a symmetric state keeps them together
    env.reset({ seed: 2 });
    raw.setState(raw.initQpos, raw.initQvel);
    for (let t = 0; t < 10; t++) env.step([0.3, -0.2, 0.5, 0.3, -0.2, 0.5]);
    const p = raw.qpos;
    for (let i = 0; i < 3; i++) expect(p[3 + i]).toBeCloseTo(p[6 + i]!, 9);
    env.close();
  });

  it('Ant: reward = Δx/dt + 1 − 0.5‖a‖² − 5e-4‖clip(cfrc_ext)‖², observation qpos[2:], qvel, clip(cfrc_ext[1:])', () => {
    const env = makeEnv('Ant-v5');
    const raw = env.unwrapped as unknown as AntEnv;
    const mj = raw as unknown as { data: { xpos: Float64Array; cfrc_ext: Float64Array } };
    env.reset({ seed: 4 });
    expect(raw.dt).toBeCloseTo(0.05, 12);
    let touched = 0;
    for (let t = 0; t < 40; t++) {
      const a = Array.from({ length: 8 }, (_, i) => Math.sin(0.7 * t + i));
      const x0 = mj.data.xpos[3]!;
      const y0 = mj.data.xpos[4]!;
      const r = env.step(a);
      const xv = (mj.data.xpos[3]! - x0) / 0.05;
      const cfrc = Array.from(mj.data.cfrc_ext, (v) => Math.min(Math.max(v, -1), 1));
      const ctrl = 0.5 * a.reduce((s, v) => s + v * v, 0);
      const contact = 5e-4 * cfrc.reduce((s, v) => s + v * v, 0);
      if (contact > 0) touched++;
      const z = raw.qpos[2]!;
      const healthy = z >= 0.2 && z <= 1;
      expect(r.reward).toBeCloseTo(xv + (healthy ? 1 : 0) - ctrl - contact, 9);
      expect(r.terminated).toBe(!healthy);
      expect(r.info).toMatchObject({
        x_position: raw.qpos[0],
        y_position: raw.qpos[1],
        reward_ctrl: -ctrl,
        reward_survive: healthy ? 1 : 0,
      });
      expect(r.info.y_velocity).toBeCloseTo((mj.data.xpos[4]! - y0) / 0.05, 9);
      expect(r.info.reward_contact).toBeCloseTo(-contact, 12);
      expect(r.info.distance_from_origin).toBeCloseTo(Math.hypot(raw.qpos[0]!, raw.qpos[1]!), 12);
      close(r.observation, Float32Array.from([...raw.qpos.slice(2), ...raw.qvel, ...cfrc.slice(6)]), 1e-6);
      if (r.terminated) break;
    }
    expect(touched).toBeGreaterThan(0);
    // the torso above 1 m is unhealthy (closed interval: exactly 1 is healthy)
    env.reset({ seed: 4 });
    const q = raw.qpos;
    q[2] = 1;
    raw.setState(q, new Float64Array(14));
    expect(raw.isHealthy).toBe(true);
    q[2] = 1.5;
    raw.setState(q, new Float64Array(14));
    expect(raw.isHealthy).toBe(false);
    const up = env.step(new Array(8).fill(0));
    expect(up.terminated).toBe(true);
    expect(up.info.reward_survive).toBe(0);
    env.close();
    // the main body by name is the torso's id; without terminating, unhealthy steps go on
    const named = makeEnv('Ant-v5', { mainBody: 'torso', terminateWhenUnhealthy: false, healthyZRange: [2, 3] });
    expect((named.unwrapped as unknown as AntEnv).mainBody).toBe(1);
    named.reset({ seed: 0 });
    expect(named.step(new Array(8).fill(0)).terminated).toBe(false);
    named.close();
  });

  it("Ant's reset: qpos + U(−0.1, 0.1) around qpos0 (torso 0.75 m up, upright), qvel 0.1·N(0, 1)", () => {
    const env = makeEnv('Ant-v5');
    const raw = env.unwrapped as unknown as AntEnv;
    expect(Array.from(raw.initQpos.slice(0, 7))).toEqual([0, 0, 0.75, 1, 0, 0, 0]);
    let maxV = 0;
    for (let s = 0; s < 10; s++) {
      const { info } = env.reset({ seed: s });
      const q = raw.qpos;
      for (let i = 0; i < q.length; i++) expect(Math.abs(q[i]! - raw.initQpos[i]!)).toBeLessThanOrEqual(0.1);
      maxV = Math.max(maxV, ...Array.from(raw.qvel, Math.abs));
      expect(Object.keys(info)).toEqual(['x_position', 'y_position', 'distance_from_origin']);
    }
    expect(maxV).toBeGreaterThan(0.1);
    env.close();
  });

  it('close() frees the wasm memory: creating and closing many envs does not grow the heap', () => {
    const heap = () => {
      const env = makeEnv('Ant-v5');
      const size = (env.unwrapped as unknown as { data: { qpos: Float64Array } }).data.qpos.buffer.byteLength;
      env.close();
      return size;
    };
    const before = heap();
    for (let i = 0; i < 30; i++) {
      const env = makeEnv(i % 2 ? 'Ant-v5' : 'HalfCheetah-v5');
      env.reset({ seed: i });
      env.step(new Array((env.actionSpace as Box).shape[0]).fill(0.1));
      env.close();
    }
    // each model and data holds over 2 MB of the heap (the models' 2 MB arena): 30 leaked would add 60 MB
    expect(heap() - before).toBeLessThan(16 * 2 ** 20);
  });

  it('every env draws finite shapes; the Ant (3-D) from the side: a torso circle and 12 leg capsules', () => {
    for (const id of Object.keys(OURS)) {
      const env = makeEnv(id);
      const raw = env.unwrapped as unknown as MujocoEnv;
      env.reset({ seed: 0 });
      for (let t = 0; t < 5; t++) env.step(new Array((env.actionSpace as Box).shape[0]).fill(0.5));
      const f = raw.renderFrame();
      for (const s of f.shapes)
        for (const v of Object.values(s)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      expect(f.view.xMax - f.view.xMin).toBe(6);
      if (id === 'Ant-v5') {
        expect(f.shapes.filter((s) => s.kind === 'circle').length).toBe(1);
        expect(f.shapes.filter((s) => s.kind === 'capsule').length).toBe(12);
      }
      env.close();
    }
  });

  it('a robot of your own through the xml option (here the cheetah with doubled gears)', () => {
    const xml = mujocoModelXml('HalfCheetah-v5', 'half_cheetah.xml').replace(
      /gear="(\d+)"/g,
      (_, g) => `gear="${2 * Number(g)}"`,
    );
    const env = makeEnv('HalfCheetah-v5', { xml });
    const raw = env.unwrapped as unknown as { model: { actuator_gear: Float64Array } };
    expect(raw.model.actuator_gear[0]).toBe(240);
    env.reset({ seed: 0 });
    expect(env.step([1, 1, 1, 1, 1, 1]).observation.length).toBe(17);
    env.close();
  });
});

describe("the package's model files", () => {
  it('sit in models/, listed in package.json "files", and are found from dist/index.js as from src/', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('models');
    const models = new URL('models/', packageRoot).href;
    // tsup bundles src/index.ts into dist/index.js: one level below the package root
    const fromDist = modelFolderCandidates(pathToFileURL(fileURLToPath(new URL('dist/index.js', packageRoot))));
    expect(fromDist[0]!.href).toBe(models);
    // this module (src/envs/mujoco/loader.ts): three levels below
    expect(modelFolderCandidates(new URL('./loader.ts', import.meta.url))[1]!.href).toBe(models);
    for (const f of MUJOCO_MODEL_FILES) expect(existsSync(new URL(f, models))).toBe(true);
    expect(isMujocoLoaded()).toBe(true);
  });
});
