// Records facts of Gymnasium's own MuJoCo models for src/envs/mujoco/mujoco.test.ts. Run by hand,
// not by CI, from packages/rl, with the path of a Gymnasium checkout (only its MuJoCo assets are
// read), e.g. from the bare mirror:
//
//   mkdir -p /tmp/gym && git --git-dir=/work/.mirror/Farama-Foundation+Gymnasium/repo archive HEAD \
//     gymnasium/envs/mujoco/assets | tar -x -C /tmp/gym
//   node scripts/mujoco-model-facts.mjs /tmp/gym
//
// It compiles Gymnasium's XML files with @mujoco/mujoco (the same engine our envs use) and writes,
// per model: sizes (nq, nv, nu, nbody, ngeom), body names, masses and inertias, geom types and
// sizes, joint ranges and stiffness, dof damping and armature, actuator gears and control ranges,
// the timestep, Gymnasium v5's default observation size, and a trajectory: qpos and qvel after each
// of 60 physics steps of a fixed control sequence from qpos0 with a fixed small initial velocity,
// and cfrc_ext (after mj_rnePostConstraint, as Gymnasium's step does; it changes no state) after
// the step where the contact forces are largest.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import load from '@mujoco/mujoco';

const root = process.argv[2];
if (!root) {
  console.error('usage: node scripts/mujoco-model-facts.mjs <Gymnasium checkout>');
  process.exit(2);
}
// file, and the size of v5's default observation from the model (the x position left out; Ant:
// x and y left out, cfrc_ext of every body but the world added)
const MODELS = {
  'HalfCheetah-v5': ['half_cheetah.xml', (m) => m.nq - 1 + m.nv],
  'Hopper-v5': ['hopper.xml', (m) => m.nq - 1 + m.nv],
  'Walker2d-v5': ['walker2d_v5.xml', (m) => m.nq - 1 + m.nv],
  'Ant-v5': ['ant.xml', (m) => m.nq - 2 + m.nv + 6 * (m.nbody - 1)],
};
const STEPS = 60;
const mj = await load();
const out = {
  source: `Gymnasium gymnasium/envs/mujoco/assets, compiled with @mujoco/mujoco 3.14.0`,
  steps: STEPS,
  models: {},
};
const list = (a) => Array.from(a);
// an unnamed body reads '' (mj_id2name gives a stray string for a missing name in this build)
function bodyName(m, i) {
  const body = m.body(i);
  const name = body.name;
  body.delete?.();
  return name;
}
for (const [id, [file, observationSize]] of Object.entries(MODELS)) {
  // the originals name textures and materials: MuJoCo compiles the builtin ones without files
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
  let cfrcExt = [];
  let cfrcStep = -1;
  let largest = 0;
  for (let t = 0; t < STEPS; t++) {
    d.ctrl.set(Array.from({ length: nu }, (_, i) => 0.8 * Math.sin(0.3 * t + i)));
    mj.mj_step(m, d);
    qpos.push(list(d.qpos));
    qvel.push(list(d.qvel));
    mj.mj_rnePostConstraint(m, d);
    const size = d.cfrc_ext.reduce((s, v) => s + Math.abs(v), 0);
    if (size > largest) [largest, cfrcStep, cfrcExt] = [size, t, list(d.cfrc_ext)];
  }
  out.models[id] = {
    file,
    nq: m.nq,
    nv: m.nv,
    nu,
    nbody: m.nbody,
    ngeom: m.ngeom,
    timestep: m.opt.timestep,
    observationSize: observationSize(m),
    bodyNames: Array.from({ length: m.nbody }, (_, i) => bodyName(m, i)),
    bodyMass: list(m.body_mass),
    bodyInertia: list(m.body_inertia),
    geomType: list(m.geom_type),
    geomSize: list(m.geom_size),
    jointRange: list(m.jnt_range),
    jointStiffness: list(m.jnt_stiffness),
    dofDamping: list(m.dof_damping),
    dofArmature: list(m.dof_armature),
    actuatorGear: Array.from({ length: nu }, (_, i) => m.actuator_gear[6 * i]),
    actuatorCtrlRange: list(m.actuator_ctrlrange),
    qpos0: list(m.qpos0),
    qvel0,
    qpos,
    qvel,
    cfrcStep,
    cfrcExt,
  };
  d.delete();
  m.delete();
}
const path = new URL('../src/testing/fixtures/mujoco-models.json', import.meta.url);
writeFileSync(path, JSON.stringify(out));
console.log(`wrote ${path.pathname}`);
