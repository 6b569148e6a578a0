import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../../errors/index.js';
import type { Rng } from '../../random.js';
import type { NetState } from '../../state.js';
import { writeFilesAtomic } from '../atomic.js';
import { MAX_JSON_DEPTH, scanJson } from '../bounded-json.js';
import { describeError, nodeModules } from '../node.js';
import { encodeSafetensorsChunks, tensorsToRaw, type FloatStorage, type RawTensor } from '../safetensors/index.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  MAX_META_BYTES,
  OPTIMIZER_PREFIX,
  STATE_PREFIX,
  checkJson,
  metaSchema,
  zodDetail,
  type CheckpointMeta,
  type Envelope,
} from './meta.js';
import { checkpointPaths, type CheckpointPaths } from './paths.js';
import { netStateTensors, optimizerState } from './run-state.js';

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
  if (!parsedMeta.success)
    throw new CheckpointError(paths.meta, `invalid metadata: ${zodDetail(parsedMeta.error, 'meta')}`);

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
    throw new CheckpointError(
      paths.meta,
      `metadata of ${metaBytes.length} bytes is over the ${MAX_META_BYTES}-byte limit readers enforce`,
    );
  scanJson(metaBytes, { maxDepth: MAX_JSON_DEPTH }, paths.meta, 'metadata');
  try {
    await fs.mkdir(path.dirname(path.resolve(paths.tensors)), { recursive: true });
  } catch (e) {
    throw new CheckpointError(file, `cannot create the directory (${describeError(e)})`, { cause: e });
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
