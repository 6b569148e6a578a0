// Records facts of Gymnasium's own MuJoCo models for src/envs/mujoco/mujoco.test.ts. Run by hand,
// not by CI, from packages/rl, with the path of a Gymnasium checkout:
//
//   git --git-dir=/work/.mirror/Farama-Foundation+Gymnasium/repo archive HEAD gymnasium/envs/mujoco/assets | tar -x -C /tmp/gym
//   node scripts/mujoco-model-facts.mjs /tmp/gym
//
// It compiles Gymnasium's XML files with @mujoco/mujoco (the same engine our envs use) and writes,
// per model: sizes (nq, nv, nu, nbody), body masses and inertias, actuator gears and control
// ranges, the timestep, and a trajectory: qpos and qvel after each of 60 physics steps of a fixed
// control sequence from qpos0 with a fixed small initial velocity.
import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import load from '@mujoco/mujoco';

const root = process.argv[2];
if (!root) {
  console.error('usage: node scripts/mujoco-model-facts.mjs <Gymnasium checkout>');
  process.exit(2);
}
const MODELS = { 'HalfCheetah-v5': 'half_cheetah.xml', 'Hopper-v5': 'hopper.xml', 'Walker2d-v5': 'walker2d_v5.xml' };
const STEPS = 60;
const mj = await load();
const out = {
  source: `Gymnasium gymnasium/envs/mujoco/assets, compiled with @mujoco/mujoco 3.14.0`,
  steps: STEPS,
  models: {},
};
for (const [id, file] of Object.entries(MODELS)) {
  // the originals name textures and materials: keep them, MuJoCo compiles them without files
  const xml = readFileSync(join(root, 'gymnasium/envs/mujoco/assets', file), 'utf8');
  const m = mj.MjModel.from_xml_string(xml);
  const d = new mj.MjData(m);
  mj.mj_resetData(m, d);
  const nu = m.nu;
  const qvel0 = Array.from({ length: m.nv }, (_, i) => 0.05 * Math.sin(i + 1));
  d.qvel.set(qvel0);
  mj.mj_forward(m, d);
  const qpos = [];
  const qvel = [];
  for (let t = 0; t < STEPS; t++) {
    d.ctrl.set(Array.from({ length: nu }, (_, i) => 0.8 * Math.sin(0.3 * t + i)));
    mj.mj_step(m, d);
    qpos.push(Array.from(d.qpos));
    qvel.push(Array.from(d.qvel));
  }
  out.models[id] = {
    nq: m.nq,
    nv: m.nv,
    nu,
    nbody: m.nbody,
    timestep: m.opt.timestep,
    bodyMass: Array.from(m.body_mass),
    bodyInertia: Array.from(m.body_inertia),
    actuatorGear: Array.from({ length: nu }, (_, i) => m.actuator_gear[6 * i]),
    actuatorCtrlRange: Array.from(m.actuator_ctrlrange),
    qpos0: Array.from(m.qpos0),
    qvel0,
    qpos,
    qvel,
  };
  d.delete();
  m.delete();
}
const path = new URL('../src/testing/fixtures/mujoco-models.json', import.meta.url);
writeFileSync(path, JSON.stringify(out));
console.log(`wrote ${path.pathname}`);
