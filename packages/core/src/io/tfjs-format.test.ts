import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors/index.js';
import { float32ToFloat16 } from './safetensors/index.js';
import { exportTfjsWeights, importTfjsWeights, loadTfjsArtifacts, writeTfjsArtifacts } from './tfjs-format.js';

let root: string;
let n = 0;
const fresh = () => {
  const d = join(root, `m${++n}`);
  mkdirSync(d);
  return d;
};
const values = async (t: tf.Tensor) => Array.from(await t.data());

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'hypernets-tfjs-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A small dense model and the artifacts `model.save` hands to a save handler. */
async function denseModel() {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 3, inputShape: [4], activation: 'relu', kernelInitializer: 'glorotUniform' }),
      tfl.layers.dense({ units: 2 }),
    ],
  });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return { model, artifacts: artifacts! };
}

function bytesOf(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  if (!Array.isArray(data)) return new Uint8Array(data);
  return Uint8Array.from(data.flatMap((b) => Array.from(new Uint8Array(b))));
}

describe('tfjs model.json + weights', () => {
  it('exports and imports tensors (float32, int32, bool), single file and shards, without leaks', async () => {
    const before = tf.memory().numTensors;
    const src = {
      'dense/kernel': tf.tensor2d([
        [1.5, -2],
        [3, 4.25],
      ]),
      'dense/bias': tf.tensor1d([0.5, -0.5]),
      steps: tf.tensor1d([1, 2, 3], 'int32'),
      mask: tf.tensor1d([true, false], 'bool'),
    };
    for (const shardBytes of [undefined, 7]) {
      const d = fresh();
      const res = await exportTfjsWeights(d, src, { shardBytes, userDefinedMetadata: { by: 'test' } });
      const files = readdirSync(d).sort();
      if (shardBytes === undefined) expect(files).toEqual(['model.json', 'weights.bin']);
      else {
        expect(files.length).toBe(1 + Math.ceil((16 + 8 + 12 + 2) / 7));
        expect(files).toContain('group1-shard1of6.bin');
      }
      expect(res.weightFiles.length).toBe(files.length - 1);
      const json = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
      expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(Object.keys(src));
      const imp = await importTfjsWeights(d);
      expect(Object.keys(imp.tensors)).toEqual(Object.keys(src));
      expect(imp.userDefinedMetadata).toEqual({ by: 'test' });
      for (const [k, t] of Object.entries(src)) {
        expect(imp.tensors[k].dtype, k).toBe(t.dtype);
        expect(imp.tensors[k].shape, k).toEqual(t.shape);
        expect(await values(imp.tensors[k]), k).toEqual(await values(t));
      }
      tf.dispose(Object.values(imp.tensors));
    }
    tf.dispose(Object.values(src));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('imports what a tfjs-layers model saves, written in the file:// layout, over several shards', async () => {
    const { model, artifacts } = await denseModel();
    const d = fresh();
    const data = bytesOf(artifacts.weightData);
    // two shards split mid-tensor, as the converter does
    const cut = 10;
    writeFileSync(join(d, 'group1-shard1of2.bin'), data.subarray(0, cut));
    writeFileSync(join(d, 'group1-shard2of2.bin'), data.subarray(cut));
    writeFileSync(
      join(d, 'model.json'),
      JSON.stringify({
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [
          { paths: ['./group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: artifacts.weightSpecs },
        ],
      }),
    );
    const imp = await importTfjsWeights(join(d, 'model.json'));
    expect(imp.format).toBe('layers-model');
    expect(imp.generatedBy).toMatch(/TensorFlow\.js/);
    expect((imp.modelTopology as { class_name: string }).class_name).toBe('Sequential');
    const names = model.weights.map((w) => w.originalName);
    expect(Object.keys(imp.tensors)).toEqual(names);
    const live = model.getWeights();
    for (const [i, name] of names.entries())
      expect(await values(imp.tensors[name]), name).toEqual(await values(live[i]));
    tf.dispose(Object.values(imp.tensors));

    // the same directory loads back as a working LayersModel
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(await loadTfjsArtifacts(d)));
    const x = tf.tensor2d([[1, -2, 3, 0.5]]);
    const [ya, yb] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(await values(yb)).toEqual(await values(ya));
    tf.dispose([x, ya, yb]);

    // and writeTfjsArtifacts produces the same layout tfjs-node's file:// handler does
    const d2 = fresh();
    await writeTfjsArtifacts(d2, artifacts);
    expect(readdirSync(d2).sort()).toEqual(['model.json', 'weights.bin']);
    expect(JSON.parse(readFileSync(join(d2, 'model.json'), 'utf8')).weightsManifest[0].paths).toEqual([
      './weights.bin',
    ]);
    const again = await importTfjsWeights(d2);
    expect(Object.keys(again.tensors)).toEqual(names);
    tf.dispose(Object.values(again.tensors));
    model.dispose();
    loaded.dispose();
  });

  it('dequantizes float16 and uint8 weights', async () => {
    const d = fresh();
    const half = float32ToFloat16(new Float32Array([1, -0.5, 2048]));
    const u8 = new Uint8Array([0, 10, 255]);
    const bin = new Uint8Array(half.byteLength + u8.byteLength);
    bin.set(new Uint8Array(half.buffer), 0);
    bin.set(u8, half.byteLength);
    writeFileSync(join(d, 'weights.bin'), bin);
    writeFileSync(
      join(d, 'model.json'),
      JSON.stringify({
        weightsManifest: [
          {
            paths: ['weights.bin'],
            weights: [
              { name: 'h', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
              { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.1 } },
            ],
          },
        ],
      }),
    );
    const imp = await importTfjsWeights(d);
    expect(await values(imp.tensors.h)).toEqual([1, -0.5, 2048]);
    const q = await values(imp.tensors.q);
    [-1, 0, 24.5].forEach((x, i) => expect(q[i]).toBeCloseTo(x, 5));
    tf.dispose(Object.values(imp.tensors));
  });

  describe('broken model directories fail with a CheckpointError', () => {
    async function exported() {
      const d = fresh();
      const a = tf.tensor1d([1, 2, 3, 4]);
      const b = tf.tensor1d([5, 6]);
      await exportTfjsWeights(d, { a, b }, { shardBytes: 12 });
      tf.dispose([a, b]);
      return d;
    }
    const patchJson = (d: string, f: (j: any) => void) => {
      const j = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
      f(j);
      writeFileSync(join(d, 'model.json'), JSON.stringify(j));
    };
    const fails = async (d: string, re: RegExp) => {
      const before = tf.memory().numTensors;
      const err = await importTfjsWeights(d).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(re);
      await expect(loadTfjsArtifacts(d)).rejects.toThrow(CheckpointError);
      expect(tf.memory().numTensors).toBe(before);
    };

    it('missing shard file', async () => {
      const d = await exported();
      rmSync(join(d, 'group1-shard2of2.bin'));
      await fails(
        d,
        /group1-shard2of2\.bin: missing shard file listed in .*model\.json \(weightsManifest\[0\]\.paths\[1\]\)/,
      );
    });
    it('wrong byte length (truncated or padded shard)', async () => {
      const d = await exported();
      truncateSync(join(d, 'group1-shard2of2.bin'), 7);
      await fails(d, /the weights need 24 bytes but the shard files hold 19/);
      writeFileSync(join(d, 'group1-shard2of2.bin'), new Uint8Array(20));
      await fails(d, /need 24 bytes but the shard files hold 32/);
    });
    it('manifest shape disagreeing with the shards', async () => {
      const d = await exported();
      patchJson(d, (j) => (j.weightsManifest[0].weights[1].shape = [1000000, 1000000]));
      await fails(d, /the weights need \d+ bytes but the shard files hold 24/);
    });
    it('invalid model.json, bad entries, duplicate names, paths leaving the directory', async () => {
      const d = await exported();
      writeFileSync(join(d, 'model.json'), '{"weightsManifest": [');
      await fails(d, /model\.json is not valid JSON/);
      const d2 = await exported();
      patchJson(d2, (j) => (j.weightsManifest[0].weights[0].dtype = 'float64'));
      await fails(d2, /weightsManifest\.0\.weights\.0\.dtype/);
      const d3 = await exported();
      patchJson(d3, (j) => (j.weightsManifest[0].weights[1].name = 'a'));
      await fails(d3, /weight name 'a' occurs twice/);
      const d4 = await exported();
      patchJson(d4, (j) => (j.weightsManifest[0].paths[0] = '../../../etc/passwd'));
      await fails(d4, /'\.\.\/\.\.\/\.\.\/etc\/passwd' points outside the model's directory/);
      const d5 = await exported();
      patchJson(d5, (j) => (j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8' }));
      await fails(d5, /'a'.*uint8 quantization needs numeric min and scale/);
      await fails(join(root, 'nowhere'), /cannot read model\.json/);
    });
  });
});

describe('hostile model folders (issue 14)', () => {
  /** A model folder with weights.bin holding a = [1, 2, 3, 4]. */
  async function model() {
    const d = fresh();
    const a = tf.tensor1d([1, 2, 3, 4]);
    await exportTfjsWeights(d, { a });
    a.dispose();
    return d;
  }
  const patchJson = (d: string, f: (j: any) => void) => {
    const j = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
    f(j);
    writeFileSync(join(d, 'model.json'), JSON.stringify(j));
  };
  const refused = async (d: string, re: RegExp) => {
    const before = tf.memory().numTensors;
    const err = await importTfjsWeights(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(re);
    await expect(loadTfjsArtifacts(d)).rejects.toThrow(CheckpointError);
    expect(tf.memory().numTensors).toBe(before);
  };
  const outsideBytes = () => new Uint8Array(new Float32Array([9, 9, 9, 9]).buffer);

  it('a shard that is a symbolic link out of the folder is refused (its bytes were returned)', async () => {
    const d = await model();
    const outside = join(d, '..', `${d.split('/').pop()}-outside.bin`);
    writeFileSync(outside, outsideBytes());
    rmSync(join(d, 'weights.bin'));
    symlinkSync(join('..', `${d.split('/').pop()}-outside.bin`), join(d, 'weights.bin'));
    await refused(d, /paths\[0\] '\.\/weights\.bin' is a link to .*-outside\.bin, outside the model's directory/);
  });

  it('a linked directory leading out, and a model.json linked from elsewhere, are refused', async () => {
    const d = await model();
    const elsewhere = fresh();
    writeFileSync(join(elsewhere, 'w.bin'), outsideBytes());
    symlinkSync(elsewhere, join(d, 'sub'));
    patchJson(d, (j) => (j.weightsManifest[0].paths = ['sub/w.bin']));
    await refused(d, /'sub\/w\.bin' is a link to .*outside the model's directory/);

    const m = await model();
    const other = await model();
    renameSync(join(m, 'model.json'), join(m, 'mine.json'));
    symlinkSync(join(other, 'model.json'), join(m, 'model.json'));
    await refused(m, /model\.json: is a link to .*outside the model's directory/);
  });

  it('links that stay inside the folder still load', async () => {
    const d = await model();
    mkdirSync(join(d, 'real'));
    renameSync(join(d, 'weights.bin'), join(d, 'real', 'w.bin'));
    symlinkSync(join('real', 'w.bin'), join(d, 'weights.bin'));
    const imp = await importTfjsWeights(d);
    expect(await values(imp.tensors.a)).toEqual([1, 2, 3, 4]);
    tf.dispose(Object.values(imp.tensors));
  });

  it("'..' segments and absolute paths are refused even when they resolve inside the folder", async () => {
    for (const p of ['sub/../weights.bin', '/etc/passwd', 'C:\\x\\weights.bin', '..\\weights.bin']) {
      const d = await model();
      mkdirSync(join(d, 'sub'));
      patchJson(d, (j) => (j.weightsManifest[0].paths = [p]));
      await refused(d, /points outside the model's directory/);
    }
  });

  it('one file listed twice (or hard-linked) is refused: it cannot multiply its bytes', async () => {
    const d = await model();
    patchJson(d, (j) => {
      j.weightsManifest[0].paths = ['weights.bin', './weights.bin'];
      j.weightsManifest[0].weights[0].shape = [8];
    });
    await refused(d, /paths\[1\] '\.\/weights\.bin' is the same file as weightsManifest\[0\]\.paths\[0\]/);
    const h = await model();
    linkSync(join(h, 'weights.bin'), join(h, 'again.bin'));
    patchJson(h, (j) => {
      j.weightsManifest[0].paths = ['weights.bin', 'again.bin'];
      j.weightsManifest[0].weights[0].shape = [8];
    });
    await refused(h, /is the same file as/);
  });

  it('deeply nested or huge model.json fails before parsing, with a short message', async () => {
    const d = await model();
    const good = readFileSync(join(d, 'model.json'), 'utf8');
    writeFileSync(
      join(d, 'model.json'),
      `{"modelTopology":${'['.repeat(100_000)}${']'.repeat(100_000)},${good.slice(1)}`,
    );
    await refused(d, /model\.json nests deeper than 128 levels/);
    const n = 300_000;
    patchJson(d, (j) => {
      delete j.modelTopology;
      j.weightsManifest = Array(n).fill({ paths: [], pad: 'x'.repeat(24) }); // passes the pre-scan
    });
    const before = process.memoryUsage().heapUsed;
    await refused(d, /invalid model\.json: weightsManifest\.0\.paths: Array must contain at least 1 element/);
    expect((process.memoryUsage().heapUsed - before) / 2 ** 20).toBeLessThan(60);
  });
});
