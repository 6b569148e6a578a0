import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors/index.js';
import {
  bfloat16ToFloat32,
  decodeSafetensors,
  encodeSafetensors,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  readSafetensorsFile,
  readSafetensorsHeader,
  safetensorsToTensors,
  tensorsToSafetensors,
  type RawTensor,
} from './safetensors/index.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'hypernets-st-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** A file from a literal header text (padded to 8) and a data buffer. */
function rawFile(header: string, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const n = Math.ceil(json.length / 8) * 8;
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + n + body.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(n), true);
  out.set(json, 8);
  out.set(body, 8 + n);
  return out;
}

let fileCounter = 0;
function put(bytes: Uint8Array): string {
  const p = join(dir, `f${++fileCounter}.safetensors`);
  writeFileSync(p, bytes);
  return p;
}

/** Expects readSafetensorsFile (and decodeSafetensors) to fail with a CheckpointError naming the file and `want`. */
async function expectCorrupt(bytes: Uint8Array, ...want: (string | RegExp)[]) {
  const p = put(bytes);
  const err = await readSafetensorsFile(p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CheckpointError);
  const msg = (err as Error).message;
  expect(msg).toContain(p);
  for (const w of want) expect(msg).toMatch(w);
  expect(() => decodeSafetensors(bytes, { file: 'mem' })).toThrow(CheckpointError);
  await expect(readSafetensorsHeader(p)).rejects.toThrow(CheckpointError);
}

describe('safetensors encoding', () => {
  it('writes the exact bytes of the format (hand-computed)', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(header.length).toBe(54); // padded with 2 spaces to 56 = 0x38
    const expected = [
      0x38,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...ascii(header),
      0x20,
      0x20,
      0x00,
      0x00,
      0x80,
      0x3f, // 1.0f
      0x00,
      0x00,
      0x00,
      0x40, // 2.0f
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it('puts metadata first and lays tensors out by element size, then name', () => {
    const bytes = encodeSafetensors(
      {
        u: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
        h: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      },
      { k: 'v' },
    );
    const header =
      '{"__metadata__":{"k":"v"},' +
      '"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},' +
      '"u":{"dtype":"U8","shape":[3],"data_offsets":[2,5]}}';
    expect(header.length).toBe(26 + 53 + 52); // 131, padded with 5 spaces to 136 = 0x88
    expect(Array.from(bytes)).toEqual([
      0x88,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...ascii(header),
      ...ascii('     '),
      0x00,
      0x3c, // F16 1.0
      1,
      2,
      3,
    ]);
  });

  it('round-trips every dtype bit-exactly, with metadata', () => {
    const tensors: Record<string, RawTensor> = {
      f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
      f32: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1.5, -0, NaN, Infinity]) },
      f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xfbff]) },
      bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc049]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) },
      u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      i32: { dtype: 'I32', shape: [3], data: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]) },
      u32: { dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
      i16: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
      u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
      i8: { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) },
      u8: { dtype: 'U8', shape: [1, 3], data: new Uint8Array([0, 128, 255]) },
      bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
      empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
      '7': { dtype: 'U8', shape: [1], data: new Uint8Array([7]) },
    };
    // a tensor literally named "__proto__" (an object-literal key would set the prototype instead)
    Object.defineProperty(tensors, '__proto__', {
      value: { dtype: 'I8', shape: [1], data: new Int8Array([5]) },
      enumerable: true,
    });
    const meta = { format: 'pt', ünïcode: 'ok ✓', empty: '' };
    const bytes = encodeSafetensors(tensors, meta);
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual(meta);
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back[name];
      expect(b.dtype, name).toBe(t.dtype);
      expect(b.shape, name).toEqual(t.shape);
      expect(b.data.constructor, name).toBe(t.data.constructor);
      expect(Array.from(new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength)), name).toEqual(
        Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
      );
    }
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('decodes aligned tensors as views of the input and misaligned input as copies', () => {
    const bytes = encodeSafetensors({
      a: { dtype: 'F64', shape: [2], data: new Float64Array([1, 2]) },
      b: { dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    });
    const views = decodeSafetensors(bytes).tensors;
    expect(views.a.data.buffer).toBe(bytes.buffer);
    expect(views.b.data.buffer).toBe(bytes.buffer);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const copies = decodeSafetensors(shifted.subarray(1)).tensors;
    expect(Array.from(copies.a.data as Float64Array)).toEqual([1, 2]);
    expect(Array.from(copies.b.data as Float32Array)).toEqual([3]);
  });

  it('rejects bad input to the encoder', () => {
    const f32 = new Float32Array(2);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: f32 } })).toThrow(/'a'.*3 elements/);
    expect(() => encodeSafetensors({ a: { dtype: 'I32', shape: [2], data: f32 } })).toThrow(/Int32Array/);
    expect(() => encodeSafetensors({ a: { dtype: 'Q4' as never, shape: [2], data: f32 } })).toThrow(/unknown dtype/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [-2], data: f32 } })).toThrow(CheckpointError);
    expect(() => encodeSafetensors({}, { n: 1 as unknown as string })).toThrow(/string/);
  });
});

describe('float16 / bfloat16', () => {
  it('encodes float32 to half with round-to-nearest-even, overflow and subnormals', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // max half
      [65519, 0x7bff], // rounds down
      [65520, 0x7c00], // ties to even → inf
      [1e10, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // min normal
      [2 ** -24, 0x0001], // min subnormal
      [2 ** -25, 0x0000], // tie → even (0)
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 → even 2
      [1 + 2 ** -11, 0x3c00], // tie → even
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
      [0.1, 0x2e66],
    ];
    const got = float32ToFloat16(new Float32Array(cases.map((c) => c[0])));
    expect(Array.from(got, (x) => x.toString(16))).toEqual(cases.map((c) => c[1].toString(16)));
    expect(float32ToFloat16(new Float32Array([NaN]))[0] & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16(new Float32Array([NaN]))[0] & 0x3ff).not.toBe(0);
    expect(Number.isNaN(float16ToFloat32(new Uint16Array([0x7e00]))[0])).toBe(true);
  });

  it('every non-NaN half and bfloat16 pattern survives decode → encode', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const nan16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    const h = float32ToFloat16(float16ToFloat32(all));
    const badH = all.filter((x) => !nan16(x) && h[x] !== x);
    expect(badH.length).toBe(0);
    const nanB = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
    const b = float32ToBfloat16(bfloat16ToFloat32(all));
    expect(all.filter((x) => !nanB(x) && b[x] !== x).length).toBe(0);
    expect(float32ToBfloat16(new Float32Array([1 + 2 ** -8]))[0]).toBe(0x3f80); // tie → even
    expect(float32ToBfloat16(new Float32Array([1 + 3 * 2 ** -8]))[0]).toBe(0x3f82);
  });
});

describe('tf.Tensor ⇄ safetensors', () => {
  it('round-trips float32 (F32 exact, F16/BF16 within tolerance), int32 and bool without leaks', async () => {
    const before = tf.memory().numTensors;
    const src = {
      w: tf.tensor2d([
        [0.1, -2.5, 3.14159],
        [1e-3, 100, -0.333],
      ]),
      i: tf.tensor1d([-5, 0, 2 ** 31 - 1], 'int32'),
      b: tf.tensor1d([true, false, true], 'bool'),
    };
    const w = await src.w.data();
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const bytes = await tensorsToSafetensors(src, { step: '3' }, { dtype });
      const { tensors, metadata } = safetensorsToTensors(bytes);
      expect(metadata).toEqual({ step: '3' });
      expect(tensors.w.dtype).toBe('float32');
      expect(tensors.w.shape).toEqual([2, 3]);
      const got = await tensors.w.data();
      const rel = dtype === 'F32' ? 0 : dtype === 'F16' ? 2 ** -11 : 2 ** -8;
      for (let k = 0; k < w.length; k++) expect(Math.abs(got[k] - w[k])).toBeLessThanOrEqual(Math.abs(w[k]) * rel);
      expect(tensors.i.dtype).toBe('int32');
      expect(Array.from(await tensors.i.data())).toEqual([-5, 0, 2 ** 31 - 1]);
      expect(tensors.b.dtype).toBe('bool');
      expect(Array.from(await tensors.b.data())).toEqual([1, 0, 1]);
      tf.dispose(Object.values(tensors));
    }
    tf.dispose(Object.values(src));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('maps every stored dtype onto tfjs dtypes', async () => {
    const bytes = encodeSafetensors({
      f64: { dtype: 'F64', shape: [2], data: new Float64Array([0.5, -1e40]) },
      f16: { dtype: 'F16', shape: [1], data: new Uint16Array([0xc000]) },
      bf16: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n]) },
      u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([9n]) },
      u32: { dtype: 'U32', shape: [1], data: new Uint32Array([7]) },
      i16: { dtype: 'I16', shape: [1], data: new Int16Array([-3]) },
      i8: { dtype: 'I8', shape: [1], data: new Int8Array([-4]) },
      u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
      u8: { dtype: 'U8', shape: [1], data: new Uint8Array([200]) },
      bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 3]) },
    });
    const { tensors: t } = safetensorsToTensors(bytes);
    const dt = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.dtype]));
    expect(dt).toEqual({
      f64: 'float32',
      f16: 'float32',
      bf16: 'float32',
      i64: 'int32',
      u64: 'int32',
      u32: 'int32',
      i16: 'int32',
      i8: 'int32',
      u16: 'int32',
      u8: 'int32',
      bool: 'bool',
    });
    expect(Array.from(await t.f64.data())).toEqual([0.5, -Infinity]);
    expect(Array.from(await t.f16.data())).toEqual([-2]);
    expect(Array.from(await t.bf16.data())).toEqual([1]);
    expect(Array.from(await t.i64.data())).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(Array.from(await t.u16.data())).toEqual([65535]);
    expect(Array.from(await t.bool.data())).toEqual([0, 1]);
    tf.dispose(Object.values(t));
  });

  it('rejects I64 values outside int32 with a CheckpointError naming the tensor, creating no tensor', () => {
    const before = tf.memory().numTensors;
    const bytes = encodeSafetensors({
      ok: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      big: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n ** 40n, 3n]) },
    });
    expect(() => safetensorsToTensors(bytes, { file: 'big.safetensors' })).toThrow(
      /big\.safetensors.*'big'.*1099511627776 at index 1.*int32/,
    );
    const neg = encodeSafetensors({ n: { dtype: 'I64', shape: [1], data: new BigInt64Array([-(2n ** 31n) - 1n]) } });
    expect(() => safetensorsToTensors(neg)).toThrow(CheckpointError);
    const u32 = encodeSafetensors({ n: { dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 31]) } });
    expect(() => safetensorsToTensors(u32)).toThrow(CheckpointError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses string tensors and disposed tensors', async () => {
    const s = tf.tensor(['a']);
    await expect(tensorsToSafetensors({ s })).rejects.toThrow(/'s'.*string/);
    s.dispose();
    const d = tf.scalar(1);
    d.dispose();
    await expect(tensorsToSafetensors({ d })).rejects.toThrow(/'d'.*disposed/);
  });
});

describe('safetensors files', () => {
  const good = () =>
    encodeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
        b: { dtype: 'I64', shape: [1], data: new BigInt64Array([5n]) },
        c: { dtype: 'U8', shape: [3], data: new Uint8Array([6, 7, 8]) },
      },
      { note: 'hi' },
    );

  it('reads a file, with its SHA-256, and only the header when asked', async () => {
    const bytes = good();
    const p = put(bytes);
    const r = await readSafetensorsFile(p, { sha256: true });
    expect(r.metadata).toEqual({ note: 'hi' });
    expect(Array.from(r.tensors.a.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect((r.tensors.b.data as BigInt64Array)[0]).toBe(5n);
    expect(Array.from(r.tensors.c.data as Uint8Array)).toEqual([6, 7, 8]);
    const { createHash } = await import('node:crypto');
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    const h = await readSafetensorsHeader(p);
    expect(h.byteLength).toBe(bytes.length);
    expect(h.dataStart).toBe(8 + h.headerLength);
    expect(h.entries).toEqual({
      b: { dtype: 'I64', shape: [1], dataOffsets: [0, 8] },
      a: { dtype: 'F32', shape: [2, 2], dataOffsets: [8, 24] },
      c: { dtype: 'U8', shape: [3], dataOffsets: [24, 27] },
    });
    const some = await readSafetensorsFile(p, { names: ['c'] });
    expect(Object.keys(some.tensors)).toEqual(['c']);
    await expect(readSafetensorsFile(p, { names: ['zz'] })).rejects.toThrow(/'zz'/);
  });

  it('reads files written by other tools: space padding, keys in any order, empty tensors', async () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const header =
      '{"x":{"shape":[2],"data_offsets":[0,8],"dtype":"F32"},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},' +
      '"__metadata__":{"format":"pt"}}';
    const r = await readSafetensorsFile(put(rawFile(header, data)));
    expect(Array.from(r.tensors.x.data as Float32Array)).toEqual([1, 2]);
    expect(r.tensors.e.shape).toEqual([0]);
    expect(r.metadata).toEqual({ format: 'pt' });
    const empty = await readSafetensorsFile(put(rawFile('{}')));
    expect(empty.tensors).toEqual({});
  });

  it('names a missing file', async () => {
    await expect(readSafetensorsFile(join(dir, 'nope.safetensors'))).rejects.toThrow(/nope\.safetensors.*ENOENT/);
    await expect(readSafetensorsFile(dir)).rejects.toThrow(/not a regular file/);
  });

  describe('corrupt files fail cleanly with a CheckpointError', () => {
    const f32x2 = '"dtype":"F32","shape":[2]';
    it('truncated file (data cut short)', async () => {
      const bytes = good();
      await expectCorrupt(bytes.subarray(0, bytes.length - 2), /'c'.*run past/);
    });
    it('truncated header', async () => {
      const bytes = good();
      await expectCorrupt(bytes.subarray(0, 40), /header length \d+ runs past the end of the 40-byte file/);
    });
    it('file shorter than the length prefix', async () => {
      await expectCorrupt(new Uint8Array([1, 2, 3]), /3 bytes, shorter than the 8-byte/);
      await expectCorrupt(new Uint8Array(0), /0 bytes/);
    });
    it('header length larger than the file', async () => {
      await expectCorrupt(rawFile('{}', 0, 4096n), /header length 4096 runs past the end/);
    });
    it('huge header length (2^62) is rejected without allocating', async () => {
      await expectCorrupt(rawFile('{}', 0, 2n ** 62n), /4611686018427387904 exceeds the 100000000-byte limit/);
      await expectCorrupt(rawFile('{}', 0, 2n ** 64n - 1n), /exceeds/);
    });
    it('header JSON invalid, not an object, not UTF-8, not starting with {', async () => {
      await expectCorrupt(rawFile('{"a":{"dtype":"F32",'), /not valid JSON/);
      await expectCorrupt(rawFile('[1,2,3]'), /start with '\{'/);
      await expectCorrupt(rawFile(' {}'), /start with '\{'/);
      const bad = rawFile('{"a":"xx"}');
      bad[13] = 0xff;
      await expectCorrupt(bad, /UTF-8/);
      await expectCorrupt(rawFile('{"a":[1]}'), /'a'.*must be an object/);
    });
    it('offsets beyond the buffer (a header claiming gigabytes)', async () => {
      await expectCorrupt(
        rawFile(`{"a":{${f32x2},"data_offsets":[0,16]}}`, 8),
        /'a'.*\[0, 16\] run past the 8-byte data buffer/,
      );
      await expectCorrupt(
        rawFile('{"a":{"dtype":"F32","shape":[1000000000,4],"data_offsets":[0,16000000000]}}', 8),
        /'a'.*run past/,
      );
    });
    it('overlapping offsets', async () => {
      await expectCorrupt(
        rawFile(`{"a":{${f32x2},"data_offsets":[0,8]},"b":{${f32x2},"data_offsets":[4,12]}}`, 12),
        /'b'.*\[4, 12\] overlap tensor 'a' \[0, 8\]/,
      );
      await expectCorrupt(
        rawFile(`{"a":{${f32x2},"data_offsets":[0,8]},"b":{${f32x2},"data_offsets":[0,8]}}`, 8),
        /overlap/,
      );
    });
    it('holes and trailing bytes', async () => {
      await expectCorrupt(rawFile(`{"a":{${f32x2},"data_offsets":[4,12]}}`, 12), /'a'.*\[0, 4\).*hole/);
      await expectCorrupt(rawFile(`{"a":{${f32x2},"data_offsets":[0,8]}}`, 9), /holds 9 bytes but the tensors cover 8/);
    });
    it('unknown dtype', async () => {
      await expectCorrupt(
        rawFile('{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', 2),
        /'a'.*unknown dtype "F8_E4M3"/,
      );
      await expectCorrupt(rawFile('{"a":{"dtype":"toString","shape":[2],"data_offsets":[0,2]}}', 2), /unknown dtype/);
      await expectCorrupt(rawFile('{"a":{"shape":[2],"data_offsets":[0,2]}}', 2), /unknown dtype undefined/);
    });
    it('shape and offsets disagree on the size', async () => {
      await expectCorrupt(
        rawFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8),
        /'a'.*shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] span 8/,
      );
    });
    it('bad shapes and offsets', async () => {
      await expectCorrupt(rawFile('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', 1), /'a'.*integers >= 0/);
      await expectCorrupt(rawFile('{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}', 1), /'a'/);
      await expectCorrupt(rawFile('{"a":{"dtype":"U8","shape":"1","data_offsets":[0,1]}}', 1), /'a'.*shape/);
      await expectCorrupt(rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', 1), /'a'.*end before/);
      await expectCorrupt(rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', 1), /'a'.*two integers/);
      await expectCorrupt(rawFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}', 1), /'a'/);
    });
    it('duplicate names', async () => {
      await expectCorrupt(
        rawFile(
          '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
          2,
        ),
        /'a' appears more than once/,
      );
    });
    it('metadata that is not string → string', async () => {
      await expectCorrupt(rawFile('{"__metadata__":{"n":1}}'), /__metadata__ entry 'n' must be a string/);
      await expectCorrupt(rawFile('{"__metadata__":[]}'), /__metadata__ must be an object/);
    });
  });
});

describe('hostile headers (issue 14)', () => {
  /** heapUsed growth across `f` (garbage included: without a GC it counts what was allocated). */
  function heapGrowthMb(f: () => void): number {
    const before = process.memoryUsage().heapUsed;
    f();
    return (process.memoryUsage().heapUsed - before) / 2 ** 20;
  }
  const entry = (offsets: string, shape = '[1]') => `{"a":{"dtype":"U8","shape":${shape},"data_offsets":${offsets}}}`;

  it('deeply nested values are a CheckpointError, not a RangeError', async () => {
    // data_offsets nested 5,000 deep in a 10 KB file, and 100,000 deep
    for (const depth of [5000, 100_000]) {
      const bytes = rawFile(entry('['.repeat(depth) + ']'.repeat(depth)), 1);
      await expectCorrupt(bytes, /data_offsets must be two integers >= 0, got \[\[\[\[.*…/);
      const msg = (() => {
        try {
          decodeSafetensors(bytes);
        } catch (e) {
          return (e as Error).message;
        }
      })()!;
      expect(msg.length).toBeLessThan(300);
    }
  });

  it('error messages show a short preview of the bad value, not all of it', async () => {
    const n = 200_000;
    const long = (w: string) => Array(n).fill(w).join(',');
    const cases: [string, RegExp][] = [
      [entry(`[${long('0')}]`), /data_offsets must be two integers >= 0, got \[0,0,0.*…$/],
      [entry('[0,1]', `[${long('-1')}]`), /shape \[-1,-1.*… must hold at most 1024 integers >= 0/],
      [entry('[0,1]', `[${long('1')}]`), /shape \[1,1,1.*… must hold at most 1024 integers >= 0/],
      [`{"a":{"dtype":${JSON.stringify('x'.repeat(n))},"shape":[1],"data_offsets":[0,1]}}`, /unknown dtype "xxx.*…/],
      [`{${JSON.stringify('n'.repeat(n))}:[1]}`, /tensor 'nnn.*…': entry must be an object/],
      [`{"__metadata__":{${JSON.stringify('k'.repeat(n))}:1}}`, /__metadata__ entry 'kkk.*…' must be a string/],
    ];
    for (const [header, re] of cases) {
      const bytes = rawFile(header, 1);
      await expectCorrupt(bytes, re);
      const msg = (() => {
        try {
          decodeSafetensors(bytes);
        } catch (e) {
          return (e as Error).message;
        }
      })()!;
      expect(msg.length, header.slice(0, 60)).toBeLessThan(600);
    }
  });

  it('10 MB headers of millions of objects or arrays fail at the first impossible character, in bounded memory', () => {
    const mb10 = 10_000_000;
    const fill = (item: string) =>
      Array(Math.floor(mb10 / (item.length + 1)))
        .fill(item)
        .join(',');
    const headers: [string, RegExp][] = [
      [`{"a":[${fill('{}')}]}`, /'a': entry must be an object/],
      [`{"a":{"b":[${fill('[]')}]}}`, /nests deeper than 3 levels/],
      [`{"a":{${fill('"b":[]')}}}`, /'a': field 'b' appears more than once/],
      [`{"a":{"x":${'['.repeat(mb10 / 2) + ']'.repeat(mb10 / 2)}}}`, /nests deeper than 3 levels/],
      [entry('['.repeat(mb10 / 2) + ']'.repeat(mb10 / 2)), /data_offsets must be two integers >= 0, got \[\[\[/],
      [`{"__metadata__":{${fill('"k":"v"')}}}`, /__metadata__ holds more than 65536 entries/],
    ];
    for (const [header, re] of headers) {
      const bytes = rawFile(header, 1);
      let err: unknown;
      const mb = heapGrowthMb(() => {
        try {
          decodeSafetensors(bytes);
        } catch (e) {
          err = e;
        }
      });
      expect(err, header.slice(0, 40)).toBeInstanceOf(CheckpointError);
      // the header decoded to a string (10 MB) is all that may be allocated; parsing these took 200-500 MB
      expect(mb, header.slice(0, 40)).toBeLessThan(40);
      expect((err as Error).message).toMatch(re);
    }
  });
});
