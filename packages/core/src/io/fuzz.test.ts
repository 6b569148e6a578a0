import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors/index.js';
import { Rng } from '../random.js';
import { assertSameRunConfig, loadCheckpoint, restoreCheckpoint, saveCheckpoint } from './checkpoint/index.js';
import { encodeSafetensors, readSafetensorsFile, safetensorsToTensors } from './safetensors/index.js';
import { exportTfjsWeights, importTfjsWeights } from './tfjs-format.js';

/**
 * Seeded mutation fuzzing of every reader (issue 14): byte flips, truncations, insertions and
 * JSON rewrites with huge, nested and lying values, of a valid safetensors file, a valid
 * checkpoint folder and a valid tfjs model folder. Every outcome must be a successful load or
 * a CheckpointError (never a RangeError, TypeError or pure-rand's Error), and the heap must stay
 * bounded. A failure names the seed and mutant index: rerun with that seed to reproduce.
 */

const SEED = 14;
/** heapUsed may rise this far above where the fuzzing started (each mutant allocates ~1 MB at most). */
const HEAP_LIMIT_MB = 256;

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'hypernets-fuzz-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------
// mutations

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Raw JSON texts of hostile values: huge, deep, long, lying, or not JSON at all. */
function hostileValue(r: Rng): string {
  const n = () => (r.int(1, 4) === 1 ? r.int(10_000, 200_000) : r.int(0, 20));
  switch (r.int(0, 24)) {
    case 0: {
      const d = r.int(1, 4) === 1 ? r.int(3, 200) : r.int(1000, 100_000);
      return '['.repeat(d) + ']'.repeat(d);
    }
    case 1: {
      const d = r.int(2, 20_000);
      return '{"a":'.repeat(d) + '1' + '}'.repeat(d);
    }
    case 2:
      return `[${Array(n()).fill('{}').join(',')}]`;
    case 3:
      return `[${Array(n()).fill('[]').join(',')}]`;
    case 4:
      return `[${Array(n())
        .fill(String(r.int(-5, 5)))
        .join(',')}]`;
    case 5:
      return JSON.stringify('x'.repeat(r.int(0, 1 << 20)));
    case 6:
      return `{${Array.from({ length: n() }, (_, i) => `"k${i}":"v"`).join(',')}}`;
    case 7:
      return ['1e999', '-1e999', '1e308', '-0', '1.5', '-1', '0.1', '1e-400'][r.int(0, 7)];
    case 8:
      return [
        '9007199254740993',
        '18446744073709551616',
        '4294967296',
        '2147483648',
        '-2147483649',
        '4611686018427387904',
      ][r.int(0, 5)];
    case 9:
      return ['null', 'true', 'false', '{}', '[]', '""', '"\\u0000"', '"\\ud800"'][r.int(0, 7)];
    case 10:
      return ['"__proto__"', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', '"toString"'][
        r.int(0, 3)
      ];
    case 11:
      return `[0,${r.int(0, 1 << 20)}]`;
    case 12:
      return `[${r.int(0, 64)},${r.int(0, 64)}]`;
    case 13:
      return `[${Array(r.int(0, 40))
        .fill(String(r.int(0, 3)))
        .join(',')}]`;
    case 14:
      return `[1,2,3]`;
    case 15:
      return ['"F32"', '"F16"', '"BF16"', '"I64"', '"U64"', '"BOOL"', '"U8"', '"F64"', '"F8_E4M3"', '"Q4"'][
        r.int(0, 9)
      ];
    case 16:
      return [
        '"../outside.bin"',
        '"/etc/passwd"',
        '"sub/../w.bin"',
        '"C:\\\\x.bin"',
        '"weights.bin\\u0000x"',
        '"."',
        '""',
      ][r.int(0, 6)];
    case 17:
      return ['{', '[', '"', '{"a":', '[1,', '}', ']]', '"\\'][r.int(0, 7)]; // broken JSON
    case 18:
      return `"${'\\\\'.repeat(r.int(0, 1000))}"`;
    case 19:
      return `[${r.nextInt()},${r.nextInt()},${r.nextInt()},${r.nextInt()}]`;
    case 20:
      return `[0,0,0,0]`;
    case 21:
      return `${r.int(0, 2 ** 31 - 1) * 1000}`;
    case 22:
      return JSON.stringify(['Adam', 'SGD', 'Momentum', 'RMSProp', 'x'][r.int(0, 4)]);
    case 23:
      return JSON.stringify(['a', 'b', 'm', 'v', 'w/m', 'x'][r.int(0, 5)]);
    default:
      return String(r.int(0, 100));
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every container path in a JSON tree, and every value path. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...at, k], out);
  return out;
}

const HOLE = '"@@HOSTILE@@"';

/**
 * A JSON text with one structural rewrite: a value replaced by a hostile one, a key removed,
 * duplicated or renamed. Hostile values are spliced in as text, so they can be deeper than
 * JSON.stringify itself can write.
 */
function rewriteJson(text: string, r: Rng): string {
  const tree = JSON.parse(text) as Json;
  const all = paths(tree);
  const at = all[r.int(0, all.length - 1)];
  const parentPath = at.slice(0, -1);
  let parent: any = tree;
  for (const k of parentPath) parent = parent[k];
  const key = at[at.length - 1];
  const op = at.length === 0 ? 0 : r.int(0, 5);
  if (op <= 2 || parent === null || typeof parent !== 'object') {
    if (at.length === 0) return r.int(0, 1) ? hostileValue(r) : `{"x":${hostileValue(r)}}`;
    parent[key] = '@@HOSTILE@@';
    return JSON.stringify(tree).replace(HOLE, () => hostileValue(r));
  }
  if (op === 3) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return JSON.stringify(tree);
  }
  if (op === 4 && !Array.isArray(parent)) {
    // a duplicate key: JSON.stringify cannot write one, so splice the text
    const s = JSON.stringify(tree);
    const needle = `${JSON.stringify(key)}:`;
    const i = s.indexOf(needle);
    return i < 0 ? s : `${s.slice(0, i)}${needle}${hostileValue(r)},${s.slice(i)}`;
  }
  if (!Array.isArray(parent)) {
    const names = ['__proto__', 'constructor', '', 'a', 'b', 'optimizer/x', 'state/x', '__metadata__'];
    const s = JSON.stringify(tree);
    const needle = `${JSON.stringify(key)}:`;
    return s.replace(needle, `${JSON.stringify(names[r.int(0, names.length - 1)])}:`);
  }
  parent.push(parent[0] ?? null);
  return JSON.stringify(tree);
}

/** A byte-level mutation: flips, truncation, insertion, deletion, duplication. */
function mutateBytes(bytes: Uint8Array, r: Rng): Uint8Array {
  const b = bytes.slice();
  const pos = () => r.int(0, Math.max(0, b.length - 1));
  switch (r.int(0, 5)) {
    case 0: {
      for (let k = r.int(1, 8); k > 0; k--) b[pos()] = r.int(0, 255);
      return b;
    }
    case 1: {
      for (let k = r.int(1, 4); k > 0; k--) b[pos()] ^= 1 << r.int(0, 7);
      return b;
    }
    case 2:
      return b.subarray(0, r.int(0, b.length));
    case 3: {
      const at = r.int(0, b.length);
      const ins = new Uint8Array(r.int(1, 64)).map(() =>
        r.int(0, 3) ? r.int(0, 255) : '{["]},:\\ 0'.charCodeAt(r.int(0, 10)),
      );
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      return out;
    }
    case 4: {
      const at = pos();
      const len = r.int(1, 32);
      return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + len)]);
    }
    default: {
      const at = pos();
      const len = r.int(1, 32);
      return new Uint8Array([...b.subarray(0, at + len), ...b.subarray(at)]);
    }
  }
}

/** A safetensors file with its header text rewritten; the length prefix fixed, kept, or made up. */
function mutateSafetensorsHeader(file: Uint8Array, r: Rng): Uint8Array {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = dec.decode(file.subarray(8, 8 + n)).trimEnd();
  const data = file.subarray(8 + n);
  const json = enc.encode(rewriteJson(header, r));
  const padded = Math.ceil(json.length / 8) * 8;
  const lengths = [
    BigInt(padded),
    BigInt(n),
    BigInt(r.int(0, padded + 64)),
    2n ** 63n,
    2n ** 64n - 1n,
    BigInt(r.int(0, 2 ** 31 - 1)),
  ];
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, lengths[r.int(0, 3) ? 0 : r.int(1, lengths.length - 1)], true);
  out.set(json, 8);
  out.set(data, 8 + padded);
  return out;
}

/** Runs `load`; anything but success or a CheckpointError fails the test, naming the mutant. */
async function expectTyped(label: string, load: () => unknown): Promise<'ok' | 'typed'> {
  try {
    await load();
    return 'ok';
  } catch (e) {
    if (e instanceof CheckpointError) return 'typed';
    throw new Error(
      `${label}: ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message ?? e).slice(0, 300)}`,
      { cause: e },
    );
  }
}

/** Tracks the highest heapUsed seen above the starting point. */
function heapWatch() {
  const start = process.memoryUsage().heapUsed;
  let peak = 0;
  return {
    sample() {
      peak = Math.max(peak, process.memoryUsage().heapUsed - start);
    },
    get peakMb() {
      return peak / 2 ** 20;
    },
  };
}

// ---------------------------------------------------------------------------------------

describe(`seeded mutation fuzz of every reader (seed ${SEED})`, () => {
  it('safetensors: 3,000 mutants, each loads or fails with a CheckpointError, heap bounded', async () => {
    const r = new Rng(SEED);
    const base = encodeSafetensors(
      {
        w: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        h: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x4000, 0x7c00]) },
        i: { dtype: 'I64', shape: [2], data: new BigInt64Array([3n, -4n]) },
        m: { dtype: 'BOOL', shape: [4], data: new Uint8Array([1, 0, 1, 1]) },
        e: { dtype: 'U8', shape: [0], data: new Uint8Array(0) },
      },
      { producer: 'fuzz', note: 'n' },
    );
    const before = tf.memory().numTensors;
    const heap = heapWatch();
    const counts = { ok: 0, typed: 0 };
    for (let k = 0; k < 3000; k++) {
      let m = r.int(0, 2) === 0 ? mutateBytes(base, r) : mutateSafetensorsHeader(base, r);
      if (r.int(0, 4) === 0) m = mutateBytes(m, r);
      const label = `safetensors mutant ${k}`;
      counts[
        await expectTyped(label, () => {
          const { tensors } = safetensorsToTensors(m, { file: label });
          const names = Object.keys(tensors).sort();
          tf.dispose(Object.values(tensors));
          // the header reader is strict JSON: what it accepts, JSON.parse reads as the same tensors
          const n = Number(new DataView(m.buffer, m.byteOffset).getBigUint64(0, true));
          const json = JSON.parse(dec.decode(m.subarray(8, 8 + n))) as Record<string, unknown>;
          expect(
            Object.keys(json)
              .filter((k) => k !== '__metadata__')
              .sort(),
            label,
          ).toEqual(names);
        })
      ]++;
      if (k % 10 === 0) {
        // the file reader too (it reads the header and tensors separately)
        const p = join(root, 'mutant.safetensors');
        writeFileSync(p, m);
        counts[await expectTyped(`${label} (file)`, () => readSafetensorsFile(p, { sha256: true }))]++;
      }
      heap.sample();
    }
    expect(counts.ok).toBeGreaterThan(10); // some mutants stay valid (a flipped data byte)
    expect(counts.typed).toBeGreaterThan(2000);
    expect(heap.peakMb).toBeLessThan(HEAP_LIMIT_MB);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('checkpoint folders: 600 mutants of checkpoint.json and the tensors file, loaded and restored', async () => {
    const r = new Rng(SEED + 1);
    const dir = join(root, 'ck-base');
    mkdirSync(dir);
    const w = tf.variable(
      tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
    );
    const b = tf.variable(tf.tensor1d([0.5, -0.5]));
    const adam = tf.train.adam(0.1);
    adam.minimize(() => tf.sum(tf.square(tf.add(tf.matMul(w, w), b))) as tf.Scalar, false, [w, b]);
    const config = { lr: 0.1, layers: [2, 2], nested: { a: [1, { b: 'c' }] } };
    await saveCheckpoint(dir, { tensors: { w, b }, optimizer: adam, rng: new Rng(3), meta: { step: 7, config } });
    const baseJson = readFileSync(join(dir, 'checkpoint.json'), 'utf8');
    const baseTensors = new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors')));

    const before = tf.memory().numTensors;
    const heap = heapWatch();
    const counts = { ok: 0, typed: 0 };
    const d = join(root, 'ck-mutant');
    mkdirSync(d);
    for (let k = 0; k < 600; k++) {
      let json = baseJson;
      let tensors: Uint8Array = baseTensors;
      const what = r.int(0, 5);
      if (what <= 2) json = rewriteJson(json, r);
      else if (what === 3) json = dec.decode(mutateBytes(enc.encode(json), r));
      else {
        tensors = r.int(0, 1) ? mutateBytes(tensors, r) : mutateSafetensorsHeader(tensors, r);
        if (r.int(0, 1)) {
          // a JSON that vouches for the mutated tensors file, so the hash check lets it through
          const env = JSON.parse(json);
          env.tensors.bytes = tensors.length;
          env.tensors.sha256 = createHash('sha256').update(tensors).digest('hex');
          json = JSON.stringify(env);
        }
      }
      writeFileSync(join(d, 'checkpoint.json'), json);
      writeFileSync(join(d, 'checkpoint.safetensors'), tensors);
      const label = `checkpoint mutant ${k}`;
      counts[
        await expectTyped(label, async () => {
          const ck = await loadCheckpoint(d, { verifyHash: r.int(0, 3) !== 0 });
          try {
            assertSameRunConfig(ck.paths.meta, config, ck.meta.config);
            const v = tf.tidy(() => ({ w: tf.variable(tf.zeros([2, 2])), b: tf.variable(tf.zeros([2])) }));
            const opt = tf.train.adam(0.1);
            try {
              await restoreCheckpoint(ck, { variables: v, optimizer: opt });
            } finally {
              tf.dispose([v.w, v.b]);
              opt.dispose();
            }
          } finally {
            ck.dispose();
          }
        })
      ]++;
      heap.sample();
    }
    expect(counts.ok).toBeGreaterThan(5);
    expect(counts.typed).toBeGreaterThan(300);
    expect(heap.peakMb).toBeLessThan(HEAP_LIMIT_MB);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, b]);
    adam.dispose();
  }, 120_000);

  it('tfjs model folders: 300 mutants of model.json and the shards', async () => {
    const r = new Rng(SEED + 2);
    const base = join(root, 'tfjs-base');
    const a = tf.tensor1d([1, 2, 3, 4, 5]);
    const c = tf.tensor2d(
      [
        [1, 2],
        [3, 4],
      ],
      [2, 2],
      'int32',
    );
    await exportTfjsWeights(base, { a, c }, { shardBytes: 16 });
    tf.dispose([a, c]);
    const shards = readdirSync(base).filter((f) => f.endsWith('.bin'));
    expect(shards.length).toBe(3);
    // outside the folder, one file of each shard's size: a link to it would otherwise load
    for (const f of shards)
      writeFileSync(join(root, `outside-${f}`), new Uint8Array(readFileSync(join(base, f)).length).fill(0x7f));
    const before = tf.memory().numTensors;
    const heap = heapWatch();
    const counts = { ok: 0, typed: 0 };
    for (let k = 0; k < 300; k++) {
      const d = join(root, `tfjs-${k}`);
      cpSync(base, d, { recursive: true });
      const what = r.int(0, 5);
      let mustFail = false;
      if (what <= 2) writeFileSync(join(d, 'model.json'), rewriteJson(readFileSync(join(d, 'model.json'), 'utf8'), r));
      else if (what === 3)
        writeFileSync(join(d, 'model.json'), mutateBytes(new Uint8Array(readFileSync(join(d, 'model.json'))), r));
      else if (what === 4) {
        const shard = join(d, shards[r.int(0, shards.length - 1)]);
        writeFileSync(shard, mutateBytes(new Uint8Array(readFileSync(shard)), r));
      } else {
        // a shard replaced by a link out of the folder
        const name = shards[r.int(0, shards.length - 1)];
        rmSync(join(d, name));
        symlinkSync(join('..', `outside-${name}`), join(d, name));
        mustFail = true;
      }
      const label = `tfjs mutant ${k}`;
      const res = await expectTyped(label, async () => {
        const imp = await importTfjsWeights(d);
        tf.dispose(Object.values(imp.tensors));
      });
      if (mustFail) expect(res, `${label}: a shard linked out of the folder was read`).toBe('typed');
      counts[res]++;
      rmSync(d, { recursive: true, force: true });
      heap.sample();
    }
    expect(counts.ok).toBeGreaterThan(5);
    expect(counts.typed).toBeGreaterThan(150);
    expect(heap.peakMb).toBeLessThan(HEAP_LIMIT_MB);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
