import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors/index.js';
import { writeFilesAtomic } from './atomic.js';
import { MAX_JSON_DEPTH, clip, parseBoundedJson, quoteName, scanJson } from './bounded-json.js';
import type { NamedTensor } from './checkpoint/index.js';
import { describeError, errorCode, nodeModules } from './node.js';
import {
  MAX_MODEL_JSON_BYTES,
  type ModelJson,
  type WeightsManifestEntry,
  modelJsonSchema,
  numelOf,
  storedBytes,
} from './tfjs-manifest.js';

export type { WeightsManifestEntry } from './tfjs-manifest.js';

/**
 * The TensorFlow.js model format: `model.json` (optional modelTopology plus a weightsManifest
 * of groups, each `{paths: [shard files], weights: [{name, shape, dtype, quantization?}]}`)
 * and binary shards holding each group's weights back to back, little-endian. Shards split a
 * group's bytes at arbitrary points; `model.save('file://dir')` writes one `weights.bin`,
 * the converter writes `group1-shard1of3.bin`, ….
 */

interface ReadGroup {
  specs: WeightsManifestEntry[];
  data: Uint8Array;
  /** [begin, end) of each spec in `data`. */
  ranges: [number, number][];
}

interface ReadModel {
  json: ModelJson;
  modelJsonPath: string;
  groups: ReadGroup[];
}

/** Whether `file` is `dir` itself's strict descendant (both absolute, resolved). */
function isInside(path: typeof import('node:path'), dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

async function modelJsonPath(source: string): Promise<string> {
  const { path } = await nodeModules(source);
  return source.endsWith('.json') ? source : path.join(source, 'model.json');
}

/**
 * Reads and validates model.json and every shard: schema, unique names, quantization
 * metadata, shard paths inside the model's directory, shard files present, and their total
 * size exactly what the weights need (checked from file sizes before reading any shard).
 */
async function readTfjsModel(source: string): Promise<ReadModel> {
  const { fs, path } = await nodeModules(source);
  const jsonPath = await modelJsonPath(source);
  const dir = path.dirname(path.resolve(jsonPath));
  let bytes: Uint8Array;
  let baseDir: string;
  try {
    // the model's directory as the file system sees it: every file read must resolve inside it
    baseDir = await fs.realpath(dir);
    const realJson = await fs.realpath(jsonPath);
    if (!isInside(path, baseDir, realJson))
      throw new CheckpointError(
        jsonPath,
        `is a link to ${clip(realJson)}, outside the model's directory ${clip(baseDir)}`,
      );
    const st = await fs.stat(realJson);
    if (!st.isFile()) throw new CheckpointError(jsonPath, 'is not a regular file');
    if (st.size > MAX_MODEL_JSON_BYTES)
      throw new CheckpointError(
        jsonPath,
        `model.json of ${st.size} bytes is over the ${MAX_MODEL_JSON_BYTES}-byte limit`,
      );
    bytes = await fs.readFile(realJson);
  } catch (e) {
    if (CheckpointError.isInstance(e)) throw e;
    throw new CheckpointError(jsonPath, `cannot read model.json (${describeError(e)})`, { cause: e });
  }
  // bounded before parsing: depth, objects and arrays per byte
  const raw = parseBoundedJson(bytes, { maxDepth: MAX_JSON_DEPTH }, jsonPath, 'model.json');
  const parsed = modelJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new CheckpointError(
      jsonPath,
      `invalid model.json: ${clip(i.path.join('.')) || '(root)'}: ${clip(i.message)}`,
    );
  }
  const json = parsed.data;
  const names = new Set<string>();
  const groups: ReadGroup[] = [];
  /** dev:ino of every shard read, so one file listed twice (or hard-linked) cannot multiply its bytes. */
  const shardIds = new Map<string, string>();

  for (const [g, group] of json.weightsManifest.entries()) {
    const specs = group.weights as WeightsManifestEntry[];
    let fixed = 0;
    let strings = 0;
    specs.forEach((e, i) => {
      const where = `weightsManifest[${g}].weights[${i}]`;
      if (names.has(e.name))
        throw new CheckpointError(jsonPath, `${where}: weight name ${quoteName(e.name)} occurs twice`);
      names.add(e.name);
      const per = storedBytes(e, where, jsonPath);
      if (per === 0) strings += numelOf(e.shape);
      else fixed += numelOf(e.shape) * per;
    });

    const files: { file: string; size: number }[] = [];
    for (const [i, p] of group.paths.entries()) {
      const where = `weightsManifest[${g}].paths[${i}]`;
      const outside = () =>
        new CheckpointError(jsonPath, `${where} ${quoteName(p)} points outside the model's directory`);
      // relative paths below the directory only: no absolute paths, no '..', no NUL
      if (path.posix.isAbsolute(p) || path.win32.isAbsolute(p) || p.split(/[\\/]/).includes('..') || p.includes('\0'))
        throw outside();
      const file = path.resolve(dir, p);
      if (!isInside(path, dir, file)) throw outside();
      const real = await fs.realpath(file).catch((e: unknown) => {
        throw new CheckpointError(
          file,
          errorCode(e) === 'ENOENT'
            ? `missing shard file listed in ${jsonPath} (${where})`
            : `cannot read shard file (${describeError(e)})`,
        );
      });
      // a symbolic link (the shard, or a directory on its way) must not lead out of the directory
      if (!isInside(path, baseDir, real))
        throw new CheckpointError(
          jsonPath,
          `${where} ${quoteName(p)} is a link to ${clip(real)}, outside the model's directory`,
        );
      const st = await fs.stat(real).catch((e: unknown) => {
        throw new CheckpointError(file, `cannot read shard file (${describeError(e)})`);
      });
      if (!st.isFile()) throw new CheckpointError(file, `shard file (${where} of ${jsonPath}) is not a regular file`);
      const id = `${st.dev}:${st.ino}`;
      const first = shardIds.get(id);
      if (first !== undefined)
        throw new CheckpointError(
          jsonPath,
          `${where} ${quoteName(p)} is the same file as ${first}; each shard is read once`,
        );
      shardIds.set(id, where);
      files.push({ file: real, size: st.size });
    }
    const total = files.reduce((a, f) => a + f.size, 0);
    const shardList = clip(files.map((f) => `${path.basename(f.file)} (${f.size} bytes)`).join(', '), 300);
    if (strings === 0 ? total !== fixed : total < fixed + 4 * strings)
      throw new CheckpointError(
        jsonPath,
        `weightsManifest[${g}]: the weights need ${strings ? 'at least ' : ''}${strings ? fixed + 4 * strings : fixed} bytes ` +
          `but the shard files hold ${total}: ${shardList} (truncated or mismatched shards)`,
      );

    const data = new Uint8Array(total);
    let at = 0;
    for (const { file, size } of files) {
      const fh = await fs.open(file, 'r').catch((e) => {
        throw new CheckpointError(file, `cannot open shard file (${describeError(e)})`);
      });
      try {
        let done = 0;
        while (done < size) {
          const { bytesRead } = await fh.read(data, at + done, Math.min(size - done, 1 << 26), done);
          if (bytesRead === 0)
            throw new CheckpointError(file, `shard file shrank while being read (expected ${size} bytes)`);
          done += bytesRead;
        }
        at += size;
      } finally {
        await fh.close();
      }
    }

    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const ranges: [number, number][] = [];
    let offset = 0;
    for (const e of specs) {
      const begin = offset;
      const per = storedBytes(e, '', jsonPath);
      if (per > 0) offset += numelOf(e.shape) * per;
      else
        for (let k = numelOf(e.shape); k > 0; k--) {
          if (offset + 4 > total)
            throw new CheckpointError(
              jsonPath,
              `string weight ${quoteName(e.name)} runs past the end of group ${g}'s shards`,
            );
          offset += 4 + view.getUint32(offset, true);
          if (offset > total)
            throw new CheckpointError(
              jsonPath,
              `string weight ${quoteName(e.name)} runs past the end of group ${g}'s shards`,
            );
        }
      ranges.push([begin, offset]);
    }
    if (offset !== total)
      throw new CheckpointError(
        jsonPath,
        `weightsManifest[${g}]: the weights use ${offset} bytes but the shards hold ${total}`,
      );
    groups.push({ specs, data, ranges });
  }
  return { json, modelJsonPath: jsonPath, groups };
}

export interface TfjsImport {
  /** Weights by manifest name, in manifest order (dequantized to their dtype). */
  tensors: Record<string, tf.Tensor>;
  weightSpecs: WeightsManifestEntry[];
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
}

/**
 * Reads the weights of a tfjs model directory (or a model.json path): every shard of every
 * manifest group, validated before decoding. Quantized weights (uint8, uint16, float16) are
 * dequantized. The caller owns the tensors.
 */
export async function importTfjsWeights(source: string): Promise<TfjsImport> {
  const { json, modelJsonPath: file, groups } = await readTfjsModel(source);
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const g of groups)
      g.specs.forEach((spec, i) => {
        const [begin, end] = g.ranges[i];
        const bytes = g.data.slice(begin, end).buffer;
        let t: tf.Tensor;
        try {
          t = tf.io.decodeWeights(bytes, [spec])[spec.name];
        } catch (e) {
          throw new CheckpointError(file, `cannot decode weight ${quoteName(spec.name)} (${describeError(e)})`, {
            cause: e,
          });
        }
        Object.defineProperty(tensors, spec.name, { value: t, enumerable: true, writable: true, configurable: true });
      });
  } catch (e) {
    tf.dispose(Object.values(tensors));
    throw e;
  }
  return {
    tensors,
    weightSpecs: groups.flatMap((g) => g.specs),
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    trainingConfig: json.trainingConfig,
    userDefinedMetadata: json.userDefinedMetadata,
  };
}

/**
 * Reads a tfjs model directory into ModelArtifacts (validated like importTfjsWeights), for
 * `tf.loadLayersModel(tf.io.fromMemory(artifacts))` or `tf.loadGraphModel(...)`.
 */
export async function loadTfjsArtifacts(source: string): Promise<tf.io.ModelArtifacts> {
  const { json, groups } = await readTfjsModel(source);
  const total = groups.reduce((a, g) => a + g.data.length, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const g of groups) {
    weightData.set(g.data, at);
    at += g.data.length;
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as {},
    weightSpecs: groups.flatMap((g) => g.specs),
    weightData: weightData.buffer,
  };
  for (const k of [
    'format',
    'generatedBy',
    'convertedBy',
    'trainingConfig',
    'userDefinedMetadata',
    'signature',
    'modelInitializer',
    'initializerSignature',
  ] as const)
    if (json[k] !== undefined) (artifacts as Record<string, unknown>)[k] = json[k];
  return artifacts;
}

export interface TfjsWriteOptions {
  /** Split the weights into shards of at most this many bytes, named `group1-shardNofM.bin`. Default: one `weights.bin`. */
  shardBytes?: number;
  /** fsync files and directory (default true). */
  fsync?: boolean;
}

export interface TfjsWriteResult {
  modelJson: string;
  weightFiles: string[];
}

function weightDataBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (!Array.isArray(data)) return new Uint8Array(data);
  const out = new Uint8Array(data.reduce((a, b) => a + b.byteLength, 0));
  let at = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

/**
 * Writes ModelArtifacts (what `model.save(tf.io.withSaveHandler(...))` hands over) in the
 * `file://` layout: `model.json` + `weights.bin` (or shards), atomically, model.json last.
 */
export async function writeTfjsArtifacts(
  dir: string,
  artifacts: tf.io.ModelArtifacts,
  options: TfjsWriteOptions = {},
): Promise<TfjsWriteResult> {
  const { fs, path } = await nodeModules(dir);
  const jsonPath = path.join(dir, 'model.json');
  if (artifacts.modelTopology instanceof ArrayBuffer)
    throw new CheckpointError(jsonPath, 'a binary (GraphDef) modelTopology cannot be written to model.json');
  const data = weightDataBytes(artifacts.weightData);
  const specs = artifacts.weightSpecs ?? [];
  let fixed = 0;
  let hasStrings = false;
  specs.forEach((e, i) => {
    const per = storedBytes(e, `weightSpecs[${i}]`, jsonPath);
    if (per === 0) hasStrings = true;
    fixed += numelOf(e.shape) * per;
  });
  if (hasStrings ? data.length < fixed : data.length !== fixed)
    throw new CheckpointError(jsonPath, `weightData holds ${data.length} bytes but weightSpecs need ${fixed}`);

  const shardBytes = options.shardBytes;
  if (shardBytes !== undefined && !(Number.isSafeInteger(shardBytes) && shardBytes > 0))
    throw new CheckpointError(jsonPath, `shardBytes must be a positive integer, got ${shardBytes}`);
  const shards: { name: string; bytes: Uint8Array }[] = [];
  if (shardBytes === undefined) shards.push({ name: 'weights.bin', bytes: data });
  else {
    const n = Math.max(1, Math.ceil(data.length / shardBytes));
    for (let i = 0; i < n; i++)
      shards.push({
        name: `group1-shard${i + 1}of${n}.bin`,
        bytes: data.subarray(i * shardBytes, (i + 1) * shardBytes),
      });
  }
  const modelJson: Record<string, unknown> = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: shards.map((s) => `./${s.name}`), weights: specs }],
  };
  for (const k of [
    'trainingConfig',
    'userDefinedMetadata',
    'signature',
    'modelInitializer',
    'initializerSignature',
  ] as const)
    if (artifacts[k] !== undefined) modelJson[k] = artifacts[k];
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new CheckpointError(dir, `cannot create the directory (${describeError(e)})`, { cause: e });
  }
  // what readers would refuse is never written
  let jsonBytes: Uint8Array;
  try {
    jsonBytes = new TextEncoder().encode(JSON.stringify(modelJson));
  } catch (e) {
    throw new CheckpointError(jsonPath, `the model cannot be written as JSON (${clip(describeError(e))})`, {
      cause: e,
    });
  }
  if (jsonBytes.length > MAX_MODEL_JSON_BYTES)
    throw new CheckpointError(
      jsonPath,
      `model.json of ${jsonBytes.length} bytes is over the ${MAX_MODEL_JSON_BYTES}-byte limit readers enforce`,
    );
  scanJson(jsonBytes, { maxDepth: MAX_JSON_DEPTH }, jsonPath, 'model.json');
  const weightFiles = shards.map((s) => path.join(dir, s.name));
  await writeFilesAtomic(
    [...shards.map((s, i) => ({ path: weightFiles[i], data: s.bytes })), { path: jsonPath, data: jsonBytes }],
    { fsync: options.fsync },
  );
  return { modelJson: jsonPath, weightFiles };
}

export interface TfjsExportOptions extends TfjsWriteOptions {
  /** Written as model.json's modelTopology (e.g. a Keras/Layers JSON topology). */
  modelTopology?: {};
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: { [key: string]: {} };
}

/**
 * Exports tensors as a tfjs weights pair (`model.json` + `weights.bin`), readable by
 * `importTfjsWeights`, `tf.io.loadWeights`-style loaders and, with a Layers topology,
 * `tf.loadLayersModel`.
 */
export async function exportTfjsWeights(
  dir: string,
  tensors: Record<string, tf.Tensor> | NamedTensor[],
  options: TfjsExportOptions = {},
): Promise<TfjsWriteResult> {
  const list = Array.isArray(tensors) ? tensors : Object.entries(tensors).map(([name, tensor]) => ({ name, tensor }));
  for (const { name, tensor } of list)
    if (tensor.isDisposed) throw new CheckpointError(dir, `tensor '${name}' has been disposed`);
  const { data, specs } = await tf.io.encodeWeights(list);
  return writeTfjsArtifacts(
    dir,
    {
      modelTopology: options.modelTopology,
      weightSpecs: specs,
      weightData: data,
      format: options.format,
      generatedBy: options.generatedBy ?? `TensorFlow.js tfjs-core v${tf.version_core} (@hypernets/core)`,
      convertedBy: options.convertedBy ?? null,
      userDefinedMetadata: options.userDefinedMetadata,
    },
    options,
  );
}
