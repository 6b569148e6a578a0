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

/**
 * The MJCF files this package ships in its `models/` folder (its own, written from the physical
 * facts of Gymnasium v5's models), read by `loadMujoco()`.
 */
export const MUJOCO_MODEL_FILES = ['half_cheetah.xml', 'hopper.xml', 'walker2d.xml', 'ant.xml'] as const;
export type MujocoModelFile = (typeof MUJOCO_MODEL_FILES)[number];

/** What `loadMujoco` takes. */
export interface LoadMujocoOptions {
  /**
   * `@mujoco/mujoco`'s default export, imported by you: for a bundler that cannot follow this
   * package's dynamic import of an optional dependency. Default: imported here.
   */
  factory?: (options?: unknown) => Promise<unknown>;
  /**
   * The folder holding the MJCF files (a URL or, in Node, a path): where a bundle or a web page
   * serves this package's `models/` folder. Default: the `models/` folder of the installed package,
   * found from this module's URL (from `dist/` or, in this repository, `src/envs/mujoco/`).
   */
  models?: string | URL;
}

let module: MainModule | null = null;
let loading: Promise<MainModule> | null = null;
const modelXml = new Map<MujocoModelFile, string>();
let modelsLoading: Promise<void> | null = null;

/**
 * Loads MuJoCo's WebAssembly build (`@mujoco/mujoco`, an optional dependency: `npm install
 * @mujoco/mujoco@3.14.0`) and this package's MJCF files once; later calls return at once. Await it
 * before `makeEnv('HalfCheetah-v5')` and the other MuJoCo ids (makeEnv is synchronous). Throws
 * MujocoUnavailableError naming the package when it is not installed, and naming the folder when
 * the model files cannot be read. A function argument is taken as `options.factory`.
 */
export async function loadMujoco(
  options: LoadMujocoOptions | ((options?: unknown) => Promise<unknown>) = {},
): Promise<void> {
  const o: LoadMujocoOptions = typeof options === 'function' ? { factory: options } : options;
  if (o.factory && !module) module = (await o.factory()) as MainModule;
  await Promise.all([loadModule(), loadModels(o.models)]);
}

/** Whether `loadMujoco()` has finished: the MuJoCo envs can be made synchronously. */
export function isMujocoLoaded(): boolean {
  return module !== null && modelXml.size === MUJOCO_MODEL_FILES.length;
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

/**
 * Where the package's `models/` folder may be, relative to this module: `dist/index.js` (and its
 * chunks) sit one level below the package root, `src/envs/mujoco/loader.ts` three.
 */
export function modelFolderCandidates(base: string | URL = import.meta.url): URL[] {
  return [new URL('../models/', base), new URL('../../../models/', base)];
}

function loadModels(folder: string | URL | undefined): Promise<void> {
  if (modelXml.size === MUJOCO_MODEL_FILES.length) return Promise.resolve();
  modelsLoading ??= readModels(folder).catch((e: unknown) => {
    modelsLoading = null;
    throw e;
  });
  return modelsLoading;
}

async function readModels(folder: string | URL | undefined): Promise<void> {
  const candidates = folder === undefined ? modelFolderCandidates() : [await folderUrl(folder)];
  const failures: string[] = [];
  for (const dir of candidates) {
    try {
      const texts = await Promise.all(MUJOCO_MODEL_FILES.map((f) => readText(new URL(f, dir))));
      MUJOCO_MODEL_FILES.forEach((f, i) => modelXml.set(f, texts[i]!));
      return;
    } catch (e) {
      failures.push(`${dir.href}: ${(e as Error).message}`);
    }
  }
  throw new MujocoUnavailableError(
    'models',
    `could not read the MuJoCo model files (${MUJOCO_MODEL_FILES.join(', ')}) of @hypernets/rl; pass ` +
      `loadMujoco({ models }) the folder that holds its models/ files. Tried: ${failures.join('; ')}`,
  );
}

async function folderUrl(folder: string | URL): Promise<URL> {
  if (folder instanceof URL) return folder.href.endsWith('/') ? folder : new URL(`${folder.href}/`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(folder)) return new URL(folder.endsWith('/') ? folder : `${folder}/`);
  // a path (Node): absolute, or relative to the working directory
  const url = 'node:url'; // a variable, as in readText
  const { pathToFileURL } = (await import(/* @vite-ignore */ url)) as typeof import('node:url');
  const href = pathToFileURL(folder).href;
  return new URL(href.endsWith('/') ? href : `${href}/`);
}

async function readText(url: URL): Promise<string> {
  if (url.protocol === 'file:') {
    const fs = 'node:fs/promises'; // a variable: browser bundles must not pull node:fs in
    const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import('node:fs/promises');
    return readFile(url, 'utf8');
  }
  const response = await fetch(url);
  if (!response.ok) throw new MujocoUnavailableError('models', `GET ${url.href}: HTTP ${response.status}`);
  return response.text();
}

/** The loaded module, or MujocoUnavailableError saying to await loadMujoco() first. */
export function mujocoModule(env: string): MainModule {
  if (!module || modelXml.size !== MUJOCO_MODEL_FILES.length)
    throw new MujocoUnavailableError(
      env,
      `MuJoCo is not loaded: await loadMujoco() (from @hypernets/rl) once before makeEnv('${env}')`,
    );
  return module;
}

/** The text of one of the package's MJCF files, read by loadMujoco() (MujocoUnavailableError before it). */
export function mujocoModelXml(env: string, file: MujocoModelFile): string {
  mujocoModule(env);
  return modelXml.get(file)!;
}
