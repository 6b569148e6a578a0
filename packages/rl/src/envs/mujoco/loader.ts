import { MujocoUnavailableError } from '../../errors.js';

/**
 * The parts of @mujoco/mujoco's model the envs use (typed here, so that @hypernets/rl's types do
 * not need the optional package installed). Arrays are views into the wasm heap: read them fresh.
 */
export interface MjModelHandle {
  nq: number;
  nv: number;
  nu: number;
  nbody: number;
  ngeom: number;
  opt: { timestep: number };
  readonly body_mass: Float64Array;
  readonly body_inertia: Float64Array;
  readonly actuator_ctrlrange: Float64Array;
  readonly actuator_gear: Float64Array;
  readonly geom_type: Int32Array;
  readonly geom_size: Float64Array;
  readonly geom_bodyid: Int32Array;
  readonly geom_rgba: Float32Array;
  delete(): void;
}

/** The parts of @mujoco/mujoco's data the envs use. */
export interface MjDataHandle {
  readonly qpos: Float64Array;
  readonly qvel: Float64Array;
  readonly ctrl: Float64Array;
  readonly cfrc_ext: Float64Array;
  readonly xpos: Float64Array;
  readonly geom_xpos: Float64Array;
  readonly geom_xmat: Float64Array;
  delete(): void;
}

/** The module functions the envs call. */
export interface MujocoModule {
  MjModel: { from_xml_string(xml: string): MjModelHandle };
  MjData: new (model: MjModelHandle) => MjDataHandle;
  mj_step(m: MjModelHandle, d: MjDataHandle): void;
  mj_forward(m: MjModelHandle, d: MjDataHandle): void;
  mj_resetData(m: MjModelHandle, d: MjDataHandle): void;
  mj_rnePostConstraint(m: MjModelHandle, d: MjDataHandle): void;
  mj_name2id(m: MjModelHandle, type: number, name: string): number;
}

type MainModule = MujocoModule;

/** The version of `@mujoco/mujoco` the models and tests were written against. */
export const MUJOCO_VERSION = '3.14.0';

let module: MainModule | null = null;
let loading: Promise<MainModule> | null = null;

/**
 * Loads MuJoCo's WebAssembly build (`@mujoco/mujoco`, an optional dependency: `npm install
 * @mujoco/mujoco@3.14.0`) once; later calls return the same module. Await it before
 * `makeEnv('HalfCheetah-v5')` and the other MuJoCo ids (makeEnv is synchronous). Throws
 * MujocoUnavailableError naming the package when it is not installed.
 */
export async function loadMujoco(
  /** The package's default export, imported by you (a bundler that cannot follow a dynamic import of an optional package). */
  factory?: (options?: unknown) => Promise<unknown>,
): Promise<void> {
  if (factory && !module) module = (await factory()) as MainModule;
  await loadModule();
}

function loadModule(): Promise<MainModule> {
  if (module) return Promise.resolve(module);
  loading ??= (async () => {
    let factory: (options?: unknown) => Promise<MainModule>;
    try {
      const pkg = '@mujoco/mujoco'; // a variable: bundlers must not pull the optional package in
      factory = ((await import(/* @vite-ignore */ pkg)) as { default: (o?: unknown) => Promise<MainModule> }).default;
    } catch (e) {
      loading = null;
      throw new MujocoUnavailableError(
        '@mujoco/mujoco',
        `the MuJoCo envs need the optional dependency @mujoco/mujoco: npm install @mujoco/mujoco@${MUJOCO_VERSION} (${(e as Error).message})`,
      );
    }
    module = await factory();
    return module;
  })();
  return loading;
}

/** The loaded module, or MujocoUnavailableError saying to await loadMujoco() first. */
export function mujocoModule(env: string): MainModule {
  if (!module)
    throw new MujocoUnavailableError(
      env,
      `MuJoCo is not loaded: await loadMujoco() (from @hypernets/rl) once before makeEnv('${env}')`,
    );
  return module;
}
