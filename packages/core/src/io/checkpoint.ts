import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { CheckpointConfigError, CheckpointError } from '../errors/index.js';
import { sameShape, type ParamSpec } from '../params.js';
import { Rng } from '../random.js';
import type { NetState } from '../state.js';
import { removeOrphanTemps, writeFilesAtomic } from './atomic.js';
import { MAX_JSON_DEPTH, arrayOf, clip, intArray, parseBoundedJson, preview, quoteName, scanJson } from './bounded-json.js';
import { describeError, errorCode, nodeModules } from './node.js';
import {
  encodeSafetensorsChunks,
  rawToTensors,
  readSafetensorsFile,
  tensorsToRaw,
  type FloatStorage,
  type RawTensor,
  type ReadSafetensorsResult,
} from './safetensors/index.js';

/** What tfjs optimizers' getWeights/setWeights and tf.io.encodeWeights take. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * Checkpoints: `<name>.safetensors` (every tensor) + `<name>.json` (metadata: config,
 * ParamSpecs, step, optimizer and RNG state, and the size and SHA-256 of the tensors file).
 * Both are committed together (temps, fsync, then renames, JSON last); the recorded hash lets
 * a loader reject a pair that a crash or a copy mixed up.
 */

export const CHECKPOINT_FORMAT = 'hypernets-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** Tensor names under these prefixes hold optimizer slots and NetState entries. */
export const OPTIMIZER_PREFIX = 'optimizer/';
export const STATE_PREFIX = 'state/';

/** A tfjs optimizer's state: class, iteration counter, and its slot names in setWeights order. */
export interface OptimizerMeta {
  className: string;
  /** The optimizer's iteration counter (Adam's bias correction depends on it). */
  iterations: number;
  /** Slot names in `getWeights()` order (iteration counter excluded); tensors are `optimizer/<name>`. */
  weights: string[];
  /** `optimizer.getConfig()`, for reference. */
  config?: Record<string, unknown>;
}

export interface NetStateMeta {
  /** `${condition}/${name}` of every NetState entry; tensors are `state/<entry>`. */
  entries: string[];
}

/** Checkpoint metadata: the known fields, plus any JSON the caller adds. */
export interface CheckpointMeta {
  step?: number;
  config?: unknown;
  paramSpecs?: ParamSpec[];
  optimizer?: OptimizerMeta;
  /** `Rng.getState()`. */
  rng?: number[];
  state?: NetStateMeta;
  [key: string]: unknown;
}

const paramSpecSchema = z
  .object({
    name: z.string().min(1),
    shape: intArray({ nonnegative: true }),
    kind: z.string().min(1),
    layer: z.number().int(),
    fanIn: z.number().nonnegative(),
    fanOut: z.number().nonnegative(),
    activation: z.string().optional(),
  })
  .passthrough();

const optimizerMetaSchema = z.object({
  className: z.string().min(1),
  iterations: z.number().int().nonnegative(),
  weights: arrayOf(z.string().min(1)),
  config: z.record(z.unknown()).optional(),
});

const metaSchema = z
  .object({
    step: z.number().int().nonnegative().optional(),
    config: z.unknown().optional(),
    // arrayOf/intArray, not z.array: they stop at the first bad element instead of making an
    // issue for each of a hostile file's million elements
    paramSpecs: arrayOf(paramSpecSchema).optional(),
    optimizer: optimizerMetaSchema.optional(),
    rng: intArray({ min: 1 }).optional(),
    state: z.object({ entries: arrayOf(z.string().min(1)) }).optional(),
  })
  .passthrough();

const envelopeSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  tensors: z.object({
    file: z.string().min(1),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  }),
  meta: metaSchema,
});

type Envelope = z.infer<typeof envelopeSchema>;

function zodDetail(error: z.ZodError, root: string): string {
  const issues = error.issues
    .slice(0, 5)
    .map((i) => `${clip([root, ...i.path].filter((p) => p !== '').join('.')) || '(root)'}: ${clip(i.message)}`);
  return issues.join('; ') + (error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '');
}

/**
 * Rejects what JSON cannot carry faithfully (NaN, bigint, functions, class instances, cycles) and
 * nesting deeper than readers accept (the file adds one level above `meta`).
 */
function checkJson(value: unknown, where: string, file: string, seen: unknown[] = []): void {
  const bad = (what: string) => {
    throw new CheckpointError(file, `${clip(where)}: ${what} cannot be stored in JSON metadata`);
  };
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) bad(String(value));
      return;
    case 'object': {
      if (value === null) return;
      if (seen.includes(value)) bad('a circular reference');
      if (seen.length + 2 > MAX_JSON_DEPTH) bad(`nesting deeper than ${MAX_JSON_DEPTH} levels (readers reject it)`);
      seen.push(value);
      if (Array.isArray(value)) value.forEach((v, i) => checkJson(v, `${where}[${i}]`, file, seen));
      else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null)
          bad(`an instance of ${(value as object).constructor?.name ?? 'a class'}`);
        for (const [k, v] of Object.entries(value)) if (v !== undefined) checkJson(v, `${where}.${k}`, file, seen);
      }
      seen.pop();
      return;
    }
    default:
      bad(`a ${typeof value}`);
  }
}

// ---------------------------------------------------------------------------------------
// paths

export interface CheckpointPaths {
  tensors: string;
  meta: string;
}

/**
 * `<prefix>.safetensors` and `<prefix>.json` for a target that is a directory (ends with a
 * separator or exists as one: files are `checkpoint.*` inside it), a prefix, or either file.
 */
export async function checkpointPaths(target: string): Promise<CheckpointPaths> {
  const { fs, path } = await nodeModules(target);
  let prefix: string;
  if (target.endsWith('.safetensors')) prefix = target.slice(0, -'.safetensors'.length);
  else if (target.endsWith('.json')) prefix = target.slice(0, -'.json'.length);
  else if (/[\\/]$/.test(target) || (await fs.stat(target).then((s) => s.isDirectory(), () => false)))
    prefix = path.join(target, 'checkpoint');
  else prefix = target;
  return { tensors: `${prefix}.safetensors`, meta: `${prefix}.json` };
}

// ---------------------------------------------------------------------------------------
// optimizer / NetState / Rng helpers

export interface OptimizerState {
  /** Slots by `optimizer/<name>` (the optimizer's own variables: do not dispose). */
  tensors: Record<string, tf.Tensor>;
  meta: OptimizerMeta;
}

const NO_FILE = '<checkpoint>';

async function optimizerWeights(optimizer: tf.Optimizer, file: string): Promise<NamedTensor[]> {
  let weights: NamedTensor[];
  try {
    weights = await optimizer.getWeights();
  } catch (e) {
    throw new CheckpointError(
      file,
      `optimizer ${optimizer.getClassName()} cannot export its state (${describeError(e)}); ` +
        'use an optimizer that implements getWeights/setWeights (sgd, momentum, adam, adagrad, rmsprop, adadelta)',
    );
  }
  // tfjs puts the iteration counter first, as a fresh scalar
  if (weights[0]?.name === 'iter') {
    weights[0].tensor.dispose();
    return weights.slice(1);
  }
  return weights;
}

/** An optimizer's slots under `optimizer/` names, and its class and iteration counter. */
export async function optimizerState(optimizer: tf.Optimizer, { file = NO_FILE } = {}): Promise<OptimizerState> {
  const weights = await optimizerWeights(optimizer, file);
  const tensors: Record<string, tf.Tensor> = {};
  for (const w of weights) {
    const key = OPTIMIZER_PREFIX + w.name;
    if (Object.hasOwn(tensors, key)) throw new CheckpointError(file, `optimizer slot name '${w.name}' occurs twice`);
    tensors[key] = w.tensor;
  }
  const config = optimizer.getConfig() as Record<string, unknown>;
  return {
    tensors,
    meta: {
      className: optimizer.getClassName(),
      iterations: optimizer.iterations,
      weights: weights.map((w) => w.name),
      config: JSON.parse(JSON.stringify(config)) as Record<string, unknown>,
    },
  };
}

/** NetState entries as `state/<condition>/<name>` (views of its variables). */
export function netStateTensors(state: NetState): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(state.toNamedTensors())) out[STATE_PREFIX + k] = t;
  return out;
}

// ---------------------------------------------------------------------------------------
// save

export interface CheckpointInput {
  /** Model tensors (variables or plain tensors). Names must not start with `optimizer/` or `state/`. */
  tensors: Record<string, tf.Tensor>;
  meta?: CheckpointMeta;
  /** Saved under `optimizer/`, with class and iteration counter in `meta.optimizer`. */
  optimizer?: tf.Optimizer;
  /** Its state goes to `meta.rng`. */
  rng?: Rng;
  /** Saved under `state/`, entry names in `meta.state`. */
  state?: NetState;
}

export interface SaveCheckpointOptions {
  /** Storage of float32 model tensors (optimizer and NetState stay F32). Default F32. */
  dtype?: FloatStorage;
  /** fsync files and directory (default true). */
  fsync?: boolean;
}

export interface SavedCheckpoint {
  paths: CheckpointPaths;
  /** Byte length of the tensors file. */
  bytes: number;
  /** Hex SHA-256 of the tensors file. */
  sha256: string;
}

/**
 * Saves a checkpoint pair atomically. `target` is a directory (`checkpoint.*` inside it), a
 * prefix (`runs/a/step-100` → `step-100.safetensors` + `step-100.json`), or either file name.
 * Everything is validated before the first byte is written: on any error the previous
 * checkpoint at `target` is left as it was.
 */
export async function saveCheckpoint(
  target: string,
  input: CheckpointInput,
  options: SaveCheckpointOptions = {},
): Promise<SavedCheckpoint> {
  const { fs, path, crypto } = await nodeModules(target);
  const paths = await checkpointPaths(target);
  const file = paths.tensors;

  const model: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(input.tensors ?? {})) {
    if (name.startsWith(OPTIMIZER_PREFIX) || name.startsWith(STATE_PREFIX))
      throw new CheckpointError(
        file,
        `tensor '${name}': names under '${OPTIMIZER_PREFIX}' and '${STATE_PREFIX}' are reserved; ` +
          'pass the optimizer and NetState as `optimizer` and `state`',
      );
    model[name] = t;
  }

  const meta: CheckpointMeta = { ...(input.meta ?? {}) };
  let extra: Record<string, tf.Tensor> = {};
  if (input.optimizer) {
    const s = await optimizerState(input.optimizer, { file });
    extra = { ...extra, ...s.tensors };
    meta.optimizer = s.meta;
  }
  if (input.state) {
    const s = netStateTensors(input.state);
    extra = { ...extra, ...s };
    meta.state = { entries: Object.keys(s).map((k) => k.slice(STATE_PREFIX.length)) };
  }
  if (input.rng) meta.rng = input.rng.getState();

  checkJson(meta, 'meta', paths.meta);
  const parsedMeta = metaSchema.safeParse(meta);
  if (!parsedMeta.success) throw new CheckpointError(paths.meta, `invalid metadata: ${zodDetail(parsedMeta.error, 'meta')}`);

  const raw: Record<string, RawTensor> = {
    ...(await tensorsToRaw(model, { dtype: options.dtype ?? 'F32', file })),
    ...(await tensorsToRaw(extra, { dtype: 'F32', file })),
  };
  const stMeta: Record<string, string> = { producer: '@hypernets/core', format: CHECKPOINT_FORMAT };
  if (meta.step !== undefined) stMeta.step = String(meta.step);
  const { chunks, byteLength } = encodeSafetensorsChunks(raw, stMeta, { file });
  const hash = crypto.createHash('sha256');
  for (const c of chunks) hash.update(c);
  const sha256 = hash.digest('hex');

  const envelope: Envelope = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    tensors: { file: path.basename(paths.tensors), bytes: byteLength, sha256 },
    meta: meta as Envelope['meta'],
  };
  // what loadCheckpoint would refuse is never written (nothing saved before is lost)
  const metaBytes = new TextEncoder().encode(JSON.stringify(envelope, null, 2) + '\n');
  if (metaBytes.length > MAX_META_BYTES)
    throw new CheckpointError(paths.meta, `metadata of ${metaBytes.length} bytes is over the ${MAX_META_BYTES}-byte limit readers enforce`);
  scanJson(metaBytes, { maxDepth: MAX_JSON_DEPTH }, paths.meta, 'metadata');
  try {
    await fs.mkdir(path.dirname(path.resolve(paths.tensors)), { recursive: true });
  } catch (e) {
    throw new CheckpointError(file, `cannot create the directory (${describeError(e)})`);
  }
  // tensors first, JSON last: the JSON commits the pair
  await writeFilesAtomic(
    [
      { path: paths.tensors, data: chunks },
      { path: paths.meta, data: metaBytes },
    ],
    { fsync: options.fsync },
  );
  return { paths, bytes: byteLength, sha256 };
}

// ---------------------------------------------------------------------------------------
// load

/** A loaded, validated checkpoint. Owns its tensors: call `dispose()` when done. */
export interface Checkpoint {
  /** Every tensor, `optimizer/` and `state/` entries included. F16/BF16 are float32 here. */
  tensors: Record<string, tf.Tensor>;
  meta: CheckpointMeta;
  /** The tensors file's own `__metadata__`. */
  metadata: Record<string, string>;
  paths: CheckpointPaths;
  sha256: string;
  dispose(): void;
}

/** What the restore functions need: tensors, and for optimizer/RNG/state, the metadata. */
export interface CheckpointLike {
  tensors: Record<string, tf.Tensor>;
  meta?: CheckpointMeta;
  paths?: CheckpointPaths;
}

export interface LoadCheckpointOptions {
  /** Check the tensors file's SHA-256 against the JSON (default true; size is always checked). */
  verifyHash?: boolean;
}

/** Largest checkpoint.json read (well under V8's longest string). */
const MAX_META_BYTES = 256 * 1024 * 1024;

async function readMetaFile(metaPath: string): Promise<Envelope> {
  const { fs } = await nodeModules(metaPath);
  let bytes: Uint8Array;
  try {
    const st = await fs.stat(metaPath);
    if (!st.isFile()) throw new CheckpointError(metaPath, 'is not a regular file');
    if (st.size > MAX_META_BYTES)
      throw new CheckpointError(metaPath, `metadata file of ${st.size} bytes is over the ${MAX_META_BYTES}-byte limit`);
    bytes = await fs.readFile(metaPath);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const hint = errorCode(e) === 'ENOENT' ? ' — is this a checkpoint prefix, directory or file?' : '';
    throw new CheckpointError(metaPath, `cannot read checkpoint metadata (${describeError(e)})${hint}`);
  }
  // bounded before parsing: depth, objects and arrays per byte (a file that grew since stat still parses bounded)
  const json = parseBoundedJson(bytes, { maxDepth: MAX_JSON_DEPTH }, metaPath, 'metadata');
  const head = z.object({ format: z.unknown(), version: z.unknown() }).safeParse(json);
  if (!head.success || head.data.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(metaPath, `not a hypernets checkpoint (format must be '${CHECKPOINT_FORMAT}')`);
  if (typeof head.data.version === 'number' && head.data.version > CHECKPOINT_VERSION)
    throw new CheckpointError(
      metaPath,
      `written by a newer @hypernets/core (format version ${head.data.version}, this one reads ${CHECKPOINT_VERSION}); upgrade to load it`,
    );
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) throw new CheckpointError(metaPath, `invalid metadata: ${zodDetail(parsed.error, '')}`);
  return parsed.data;
}

/**
 * `loadCheckpoint(target)`, or null when nothing has been saved there yet (no metadata file): what
 * a `--resume` of a run that never checkpointed needs. Any other read failure is a CheckpointError.
 * First removes the temp/backup files that saves to `target` killed midway left (see
 * `removeOrphanTemps`: only our own names for these two files, only of processes that are gone).
 */
export async function loadCheckpointIfAny(target: string, options: LoadCheckpointOptions = {}): Promise<Checkpoint | null> {
  const paths = await checkpointPaths(target);
  // a resume follows a killed run: remove the temp/backup files its interrupted saves left
  await removeOrphanTemps([paths.tensors, paths.meta]);
  return (await metaExists(paths)) ? loadCheckpoint(target, options) : null;
}

/** Whether the metadata file exists (a save committed there); a failure other than ENOENT is a CheckpointError. */
async function metaExists(paths: CheckpointPaths): Promise<boolean> {
  const { fs } = await nodeModules(paths.meta);
  return fs.stat(paths.meta).then(
    () => true,
    (e: unknown) => {
      if (errorCode(e) === 'ENOENT') return false;
      throw new CheckpointError(paths.meta, `cannot read the checkpoint (${describeError(e)})`);
    },
  );
}

/**
 * Throws a CheckpointError naming both configurations unless the one a checkpoint was written with
 * (`have`, from its metadata) equals this run's (`want`), compared as JSON.
 */
export function assertSameRunConfig(metaPath: string, want: unknown, have: unknown, hint = 'use another output directory, or the same options'): void {
  const w = configJson(metaPath, want, "this run's configuration");
  const h = configJson(metaPath, have, "the checkpoint's configuration");
  if (w === h) return;
  const [hs, ws] = differingParts(h, w);
  throw new CheckpointConfigError(metaPath, `was written with another configuration (${hs}); this run is ${ws}. ${hint[0]!.toUpperCase()}${hint.slice(1)}`, have, want);
}

/** JSON text of a configuration; one nested too deeply (or not JSON) is a CheckpointError, not a RangeError. */
function configJson(metaPath: string, value: unknown, what: string): string {
  try {
    return JSON.stringify(value ?? null) ?? 'null';
  } catch (e) {
    const why = e instanceof RangeError ? 'is nested too deeply' : `cannot be written as JSON (${clip(describeError(e))})`;
    throw new CheckpointError(metaPath, `${what} ${why}: ${preview(value)}`);
  }
}

/** Both texts whole when short; else a window of each around their first difference. */
function differingParts(a: string, b: string, max = 200): [string, string] {
  if (a.length <= max && b.length <= max) return [a, b];
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const from = Math.max(0, i - 40);
  const part = (s: string) => (from > 0 ? '…' : '') + clip(s.slice(from), max);
  return [part(a), part(b)];
}

/**
 * The checks of a checkpoint's tensors file that loading and verifying share: its size and
 * SHA-256 against the metadata (a mismatched pair is an error), its safetensors structure, the
 * RNG state, and a tensor for each optimizer slot and NetState entry the metadata names.
 * `keepTensors: false` reads each tensor only to hash it and keeps none (no tensor memory).
 */
async function readTensorsFile(
  paths: CheckpointPaths,
  envelope: Envelope,
  { verifyHash = true, keepTensors }: LoadCheckpointOptions & { keepTensors: boolean },
): Promise<ReadSafetensorsResult> {
  const { fs, path } = await nodeModules(paths.tensors);
  const file = paths.tensors;
  const size = await fs.stat(file).then(
    (s) => s.size,
    (e) => {
      throw new CheckpointError(file, `cannot read the tensors file named by ${paths.meta} (${describeError(e)})`);
    },
  );
  const mismatch = ` (${paths.meta} was written with a different tensors file: an interrupted save, or files from two saves mixed)`;
  if (size !== envelope.tensors.bytes)
    throw new CheckpointError(file, `is ${size} bytes but ${path.basename(paths.meta)} records ${envelope.tensors.bytes}${mismatch}`);
  const read = await readSafetensorsFile(file, { sha256: verifyHash, ...(keepTensors ? {} : { names: [] }) });
  if (verifyHash && read.sha256 !== envelope.tensors.sha256)
    throw new CheckpointError(file, `SHA-256 ${read.sha256} differs from the recorded ${envelope.tensors.sha256}${mismatch}`);

  const meta = envelope.meta as CheckpointMeta;
  const entries = read.header.entries;
  if (meta.rng !== undefined) rngFromState(meta.rng, paths.meta);
  for (const w of meta.optimizer?.weights ?? [])
    if (!Object.hasOwn(entries, OPTIMIZER_PREFIX + w))
      throw new CheckpointError(file, `optimizer slot ${quoteName(w)} named in the metadata has no tensor ${quoteName(OPTIMIZER_PREFIX + w)}`);
  for (const s of meta.state?.entries ?? [])
    if (!Object.hasOwn(entries, STATE_PREFIX + s))
      throw new CheckpointError(file, `NetState entry ${quoteName(s)} named in the metadata has no tensor ${quoteName(STATE_PREFIX + s)}`);
  return read;
}

/**
 * Loads a checkpoint saved by `saveCheckpoint` and validates it all: the JSON against its
 * schema, the tensors file's size and SHA-256 against the JSON (a mismatched pair is an
 * error), the safetensors structure, and the optimizer/state entries the JSON names.
 */
export async function loadCheckpoint(target: string, options: LoadCheckpointOptions = {}): Promise<Checkpoint> {
  const paths = await checkpointPaths(target);
  const envelope = await readMetaFile(paths.meta);
  const read = await readTensorsFile(paths, envelope, { ...options, keepTensors: true });
  const tensors = rawToTensors(read.tensors, { file: paths.tensors });
  return {
    tensors,
    meta: envelope.meta as CheckpointMeta,
    metadata: read.metadata,
    paths,
    sha256: read.sha256 ?? envelope.tensors.sha256,
    dispose() {
      for (const t of Object.values(tensors)) if (!t.isDisposed) t.dispose();
    },
  };
}

export interface VerifyCheckpointOptions extends LoadCheckpointOptions {
  /** This run's configuration: the checkpoint's `meta.config` must equal it (`assertSameRunConfig`). */
  config?: unknown;
  /** What to do when the configurations differ, for the error message (see `assertSameRunConfig`). */
  configHint?: string;
}

/**
 * Validates the checkpoint at `target` as `loadCheckpoint` would (metadata schema, tensors file
 * size, safetensors structure, SHA-256, optimizer/state entries) and, with `config`, that it was
 * written with this configuration (checked before the tensors file is read), without creating a
 * tensor: no backend needed, so a `--resume` can be checked before any work. Returns the
 * metadata, or null when nothing has been saved there (no metadata file). Read-only: unlike
 * `loadCheckpointIfAny`, it removes no orphan temp files. Throws CheckpointError (a
 * CheckpointConfigError for another configuration).
 */
export async function verifyCheckpoint(target: string, options: VerifyCheckpointOptions = {}): Promise<CheckpointMeta | null> {
  const paths = await checkpointPaths(target);
  if (!(await metaExists(paths))) return null;
  const envelope = await readMetaFile(paths.meta);
  const meta = envelope.meta as CheckpointMeta;
  if (options.config !== undefined) assertSameRunConfig(paths.meta, options.config, meta.config, options.configHint);
  await readTensorsFile(paths, envelope, { ...options, keepTensors: false });
  return meta;
}

// ---------------------------------------------------------------------------------------
// restore: validate everything, then assign

export interface RestoreVariablesOptions {
  /** Reject checkpoint tensors no target takes (default true). `optimizer/` and `state/` are never counted. */
  strict?: boolean;
  /** Leave targets the checkpoint has no tensor for unchanged instead of failing (default false). */
  allowMissing?: boolean;
  /** Checkpoint names are `prefix + target name` (default ''). */
  prefix?: string;
}

function isReserved(name: string): boolean {
  return name.startsWith(OPTIMIZER_PREFIX) || name.startsWith(STATE_PREFIX);
}

function fileOf(checkpoint: CheckpointLike): string {
  return checkpoint.paths?.tensors ?? NO_FILE;
}

function usable(checkpoint: CheckpointLike, name: string, file: string): tf.Tensor {
  const t = checkpoint.tensors[name];
  if (t.isDisposed) throw new CheckpointError(file, `tensor '${name}' has been disposed (was checkpoint.dispose() called?)`);
  return t;
}

function planVariables(
  checkpoint: CheckpointLike,
  targets: Record<string, tf.Variable>,
  { strict = true, allowMissing = false, prefix = '' }: RestoreVariablesOptions,
): [tf.Variable, tf.Tensor][] {
  const file = fileOf(checkpoint);
  const plan: [tf.Variable, tf.Tensor][] = [];
  for (const [name, v] of Object.entries(targets)) {
    const key = prefix + name;
    if (!Object.hasOwn(checkpoint.tensors, key)) {
      if (allowMissing) continue;
      const have = Object.keys(checkpoint.tensors).filter((k) => !isReserved(k));
      throw new CheckpointError(
        file,
        `no tensor '${key}' for variable '${name}' (the checkpoint holds ${have.length} model tensors: ` +
          `${have.slice(0, 8).join(', ')}${have.length > 8 ? ', …' : ''}); pass {allowMissing: true} to skip it`,
      );
    }
    const t = usable(checkpoint, key, file);
    if (v.isDisposed) throw new CheckpointError(file, `variable '${name}' has been disposed`);
    if (!sameShape(t.shape, v.shape))
      throw new CheckpointError(
        file,
        `tensor '${key}' has shape [${t.shape.join(', ')}] but variable '${name}' has shape [${v.shape.join(', ')}]`,
      );
    if (t.dtype !== v.dtype)
      throw new CheckpointError(file, `tensor '${key}' has dtype ${t.dtype} but variable '${name}' has dtype ${v.dtype}`);
    plan.push([v, t]);
  }
  if (strict)
    for (const key of Object.keys(checkpoint.tensors)) {
      if (isReserved(key) || !key.startsWith(prefix)) continue;
      if (!Object.hasOwn(targets, key.slice(prefix.length)))
        throw new CheckpointError(
          file,
          `tensor '${key}' has no target variable (strict mode; pass {strict: false} to ignore it)`,
        );
    }
  return plan;
}

/**
 * Assigns checkpoint tensors to variables by name. Every name, shape and dtype is checked
 * first; on the first mismatch a CheckpointError names it and no variable has changed.
 */
export function restoreVariables(
  checkpoint: CheckpointLike,
  targets: Record<string, tf.Variable>,
  options: RestoreVariablesOptions = {},
): void {
  for (const [v, t] of planVariables(checkpoint, targets, options)) v.assign(t);
}

interface OptimizerPlan {
  optimizer: tf.Optimizer;
  iterations: number;
  weights: NamedTensor[];
  previous: tf.Tensor[];
}

async function planOptimizer(checkpoint: CheckpointLike, optimizer: tf.Optimizer): Promise<OptimizerPlan> {
  const file = fileOf(checkpoint);
  const m = checkpoint.meta?.optimizer;
  if (!m) throw new CheckpointError(file, 'holds no optimizer state (it was saved without `optimizer`)');
  const cls = optimizer.getClassName();
  if (m.className !== cls)
    throw new CheckpointError(file, `holds ${clip(m.className)} optimizer state; it cannot be restored into a ${cls} optimizer`);
  const weights: NamedTensor[] = m.weights.map((w) => {
    const key = OPTIMIZER_PREFIX + w;
    if (!Object.hasOwn(checkpoint.tensors, key)) throw new CheckpointError(file, `optimizer slot ${quoteName(w)} has no tensor ${quoteName(key)}`);
    const t = usable(checkpoint, key, file);
    if (t.dtype !== 'float32') throw new CheckpointError(file, `optimizer slot '${key}' has dtype ${t.dtype}, not float32`);
    return { name: w, tensor: t };
  });
  // An optimizer that has already stepped has slots: the checkpoint must fit them.
  const previous = (await optimizerWeights(optimizer, file)).map((w) => w.tensor);
  if (previous.length > 0) {
    if (previous.length !== weights.length)
      throw new CheckpointError(
        file,
        `holds ${weights.length} optimizer slots but the ${cls} optimizer has ${previous.length} (trained on other variables?)`,
      );
    weights.forEach((w, i) => {
      if (!sameShape(w.tensor.shape, previous[i].shape))
        throw new CheckpointError(
          file,
          `optimizer slot '${w.name}' has shape [${w.tensor.shape.join(', ')}] but the optimizer's slot ${i} has ` +
            `shape [${previous[i].shape.join(', ')}]`,
        );
    });
  }
  return { optimizer, iterations: m.iterations, weights, previous };
}

async function applyOptimizer(p: OptimizerPlan, file: string): Promise<void> {
  const iter = tf.scalar(p.iterations, 'int32');
  try {
    await p.optimizer.setWeights([{ name: 'iter', tensor: iter }, ...p.weights]);
  } catch (e) {
    throw new CheckpointError(file, `${p.optimizer.getClassName()}.setWeights failed (${describeError(e)})`);
  } finally {
    iter.dispose();
  }
  // tfjs optimizers make new slot variables in setWeights; free the ones they dropped
  const now = new Set<tf.Tensor>((await optimizerWeights(p.optimizer, file)).map((w) => w.tensor));
  for (const t of p.previous) if (!now.has(t) && !t.isDisposed) t.dispose();
}

/**
 * Restores a tfjs optimizer's slots and iteration counter (validated first: class, slot
 * tensors, and shapes against slots the optimizer already has). The optimizer must be given
 * the variables in the same order as when it was saved.
 */
export async function restoreOptimizer(checkpoint: CheckpointLike, optimizer: tf.Optimizer): Promise<void> {
  await applyOptimizer(await planOptimizer(checkpoint, optimizer), fileOf(checkpoint));
}

function planNetState(checkpoint: CheckpointLike, state: NetState): Record<string, tf.Tensor> {
  const file = fileOf(checkpoint);
  const out: Record<string, tf.Tensor> = {};
  for (const key of Object.keys(checkpoint.tensors)) {
    if (!key.startsWith(STATE_PREFIX)) continue;
    const entry = key.slice(STATE_PREFIX.length);
    const slash = entry.indexOf('/');
    const name = entry.slice(slash + 1);
    const spec = state.specs.find((s) => s.name === name);
    if (slash < 0 || !spec)
      throw new CheckpointError(file, `state entry '${entry}' matches no StateSpec of this NetState (has: ${state.specs.map((s) => s.name).join(', ')})`);
    const t = usable(checkpoint, key, file);
    if (!sameShape(t.shape, spec.shape))
      throw new CheckpointError(file, `state entry '${entry}' has shape [${t.shape.join(', ')}] but StateSpec '${name}' has [${spec.shape.join(', ')}]`);
    if (t.dtype !== 'float32') throw new CheckpointError(file, `state entry '${entry}' has dtype ${t.dtype}, not float32`);
    out[entry] = t;
  }
  return out;
}

/** Loads `state/` entries into a NetState (validated first against its StateSpecs). */
export function restoreNetState(checkpoint: CheckpointLike, state: NetState): void {
  state.loadNamedTensors(planNetState(checkpoint, state));
}

/**
 * The generator a saved state continues, checked: pure-rand throws a plain Error for a state of
 * the wrong length and silently truncates non-32-bit values, so the state must also read back
 * unchanged (and not be all zeros, which xoroshiro never leaves).
 */
function rngFromState(state: unknown, file: string): Rng {
  const bad = (why: string): never => {
    throw new CheckpointError(file, `meta.rng ${preview(state)} is not a saved random generator state (${why})`);
  };
  // Rng's generator (xoroshiro128+) keeps its state as signed 32-bit integers
  if (!Array.isArray(state) || state.length === 0 || !state.every((x) => typeof x === 'number' && x === (x | 0)))
    bad('expected a non-empty array of 32-bit integers');
  const s = state as number[];
  let back: number[] = [];
  let rng: Rng | undefined;
  try {
    rng = new Rng(s);
    back = rng.getState();
  } catch (e) {
    bad(clip(describeError(e)));
  }
  if (back.length !== s.length || back.some((x, i) => x !== s[i])) bad('values out of range for the generator');
  if (back.every((x) => x === 0)) bad('all zeros');
  return rng!;
}

/** A generator continuing the saved random stream, or undefined when none was saved. */
export function restoreRng(checkpoint: CheckpointLike): Rng | undefined {
  const s = checkpoint.meta?.rng;
  return s === undefined ? undefined : rngFromState(s, fileOf(checkpoint));
}

export interface RestoreCheckpointOptions extends RestoreVariablesOptions {
  variables?: Record<string, tf.Variable>;
  optimizer?: tf.Optimizer;
  state?: NetState;
}

/**
 * Restores variables, optimizer and NetState together: all three are validated before any
 * of them changes. Returns the step and a generator continuing the saved random stream.
 */
export async function restoreCheckpoint(
  checkpoint: CheckpointLike,
  options: RestoreCheckpointOptions,
): Promise<{ step?: number; rng?: Rng }> {
  // every check first (the RNG state included), then the assignments
  const rng = restoreRng(checkpoint);
  const vars = options.variables ? planVariables(checkpoint, options.variables, options) : [];
  const state = options.state ? planNetState(checkpoint, options.state) : undefined;
  const opt = options.optimizer ? await planOptimizer(checkpoint, options.optimizer) : undefined;
  if (opt) await applyOptimizer(opt, fileOf(checkpoint));
  for (const [v, t] of vars) v.assign(t);
  if (state && options.state) options.state.loadNamedTensors(state);
  return { step: checkpoint.meta?.step, rng };
}
