import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { CheckpointConfigError, CheckpointError } from '../../errors/index.js';
import { removeOrphanTemps } from '../atomic.js';
import { MAX_JSON_DEPTH, clip, parseBoundedJson, preview, quoteName } from '../bounded-json.js';
import { describeError, errorCode, nodeModules } from '../node.js';
import { rawToTensors, readSafetensorsFile, type ReadSafetensorsResult } from '../safetensors/index.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  MAX_META_BYTES,
  OPTIMIZER_PREFIX,
  STATE_PREFIX,
  envelopeSchema,
  zodDetail,
  type CheckpointMeta,
  type Envelope,
} from './meta.js';
import { checkpointPaths, type CheckpointPaths } from './paths.js';
import { rngFromState } from './run-state.js';

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
    if (CheckpointError.isInstance(e)) throw e;
    const hint = errorCode(e) === 'ENOENT' ? ' — is this a checkpoint prefix, directory or file?' : '';
    throw new CheckpointError(metaPath, `cannot read checkpoint metadata (${describeError(e)})${hint}`, { cause: e });
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
export async function loadCheckpointIfAny(
  target: string,
  options: LoadCheckpointOptions = {},
): Promise<Checkpoint | null> {
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
export function assertSameRunConfig(
  metaPath: string,
  want: unknown,
  have: unknown,
  hint = 'use another output directory, or the same options',
): void {
  const w = configJson(metaPath, want, "this run's configuration");
  const h = configJson(metaPath, have, "the checkpoint's configuration");
  if (w === h) return;
  const [hs, ws] = differingParts(h, w);
  throw new CheckpointConfigError(
    metaPath,
    `was written with another configuration (${hs}); this run is ${ws}. ${hint[0]!.toUpperCase()}${hint.slice(1)}`,
    have,
    want,
  );
}

/** JSON text of a configuration; one nested too deeply (or not JSON) is a CheckpointError, not a RangeError. */
function configJson(metaPath: string, value: unknown, what: string): string {
  try {
    return JSON.stringify(value ?? null) ?? 'null';
  } catch (e) {
    const why =
      e instanceof RangeError ? 'is nested too deeply' : `cannot be written as JSON (${clip(describeError(e))})`;
    throw new CheckpointError(metaPath, `${what} ${why}: ${preview(value)}`, { cause: e });
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
    throw new CheckpointError(
      file,
      `is ${size} bytes but ${path.basename(paths.meta)} records ${envelope.tensors.bytes}${mismatch}`,
    );
  const read = await readSafetensorsFile(file, { sha256: verifyHash, ...(keepTensors ? {} : { names: [] }) });
  if (verifyHash && read.sha256 !== envelope.tensors.sha256)
    throw new CheckpointError(
      file,
      `SHA-256 ${read.sha256} differs from the recorded ${envelope.tensors.sha256}${mismatch}`,
    );

  const meta = envelope.meta as CheckpointMeta;
  const entries = read.header.entries;
  if (meta.rng !== undefined) rngFromState(meta.rng, paths.meta);
  for (const w of meta.optimizer?.weights ?? [])
    if (!Object.hasOwn(entries, OPTIMIZER_PREFIX + w))
      throw new CheckpointError(
        file,
        `optimizer slot ${quoteName(w)} named in the metadata has no tensor ${quoteName(OPTIMIZER_PREFIX + w)}`,
      );
  for (const s of meta.state?.entries ?? [])
    if (!Object.hasOwn(entries, STATE_PREFIX + s))
      throw new CheckpointError(
        file,
        `NetState entry ${quoteName(s)} named in the metadata has no tensor ${quoteName(STATE_PREFIX + s)}`,
      );
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
export async function verifyCheckpoint(
  target: string,
  options: VerifyCheckpointOptions = {},
): Promise<CheckpointMeta | null> {
  const paths = await checkpointPaths(target);
  if (!(await metaExists(paths))) return null;
  const envelope = await readMetaFile(paths.meta);
  const meta = envelope.meta as CheckpointMeta;
  if (options.config !== undefined) assertSameRunConfig(paths.meta, options.config, meta.config, options.configHint);
  await readTensorsFile(paths, envelope, { ...options, keepTensors: false });
  return meta;
}
