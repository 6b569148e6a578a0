import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// optimizers need the gradients that the @tensorflow/tfjs union package registers
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointConfigError, CheckpointError } from '../errors/index.js';
import { paramSpec } from '../params.js';
import { Rng } from '../random.js';
import { NetState } from '../state.js';
import {
  assertSameRunConfig,
  loadCheckpoint,
  loadCheckpointIfAny,
  restoreCheckpoint,
  restoreNetState,
  restoreOptimizer,
  restoreRng,
  restoreVariables,
  saveCheckpoint,
  verifyCheckpoint,
} from './checkpoint/index.js';
import { readSafetensorsHeader } from './safetensors/index.js';

let root: string;
let n = 0;
const fresh = () => join(root, `c${++n}`);

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'hypernets-ckpt-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const values = async (t: tf.Tensor) => Array.from(await t.data());
/** A variable holding `init`'s values, without leaving `init` behind. */
const variable = (init: tf.Tensor, name?: string) => {
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
};

const specs = [
  paramSpec({ name: 'fc/w', shape: [3, 2], kind: 'weight', layer: 0, fanIn: 3, fanOut: 2 }),
  paramSpec({ name: 'fc/b', shape: [2], kind: 'bias', layer: 0, fanIn: 3, fanOut: 2, activation: 'relu' }),
];

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips tensors and metadata, addressed by prefix, either file, or directory', async () => {
    const before = tf.memory().numTensors;
    const w = variable(
      tf.tensor2d([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      'rt/w',
    );
    const idx = tf.tensor1d([3, -1], 'int32');
    const mask = tf.tensor1d([true, false], 'bool');
    const prefix = join(fresh(), 'sub', 'step-10');
    const meta = {
      step: 10,
      config: { lr: 0.01, layers: [3, 2], name: 'x', nested: { ok: true, none: null } },
      paramSpecs: specs,
      note: 'any JSON',
    };
    const saved = await saveCheckpoint(prefix, { tensors: { w, idx, mask }, meta });
    expect(saved.paths).toEqual({ tensors: `${prefix}.safetensors`, meta: `${prefix}.json` });
    expect(readdirSync(join(prefix, '..')).sort()).toEqual(['step-10.json', 'step-10.safetensors']);
    const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
    expect(json.tensors).toEqual({ file: 'step-10.safetensors', bytes: saved.bytes, sha256: saved.sha256 });
    expect((await readSafetensorsHeader(`${prefix}.safetensors`)).metadata.step).toBe('10');

    for (const target of [prefix, `${prefix}.json`, `${prefix}.safetensors`]) {
      const ck = await loadCheckpoint(target);
      expect(ck.meta).toEqual(JSON.parse(JSON.stringify(meta)));
      expect(Object.keys(ck.tensors).sort()).toEqual(['idx', 'mask', 'w']);
      expect(ck.tensors.w.shape).toEqual([3, 2]);
      expect(await values(ck.tensors.w)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(ck.tensors.idx.dtype).toBe('int32');
      expect(await values(ck.tensors.idx)).toEqual([3, -1]);
      expect(ck.tensors.mask.dtype).toBe('bool');
      expect(ck.sha256).toBe(saved.sha256);
      ck.dispose();
    }

    const d = fresh();
    await saveCheckpoint(`${d}/`, { tensors: { w } });
    expect(readdirSync(d).sort()).toEqual(['checkpoint.json', 'checkpoint.safetensors']);
    const ck = await loadCheckpoint(d);
    expect(ck.meta).toEqual({});
    ck.dispose();

    tf.dispose([w, idx, mask]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stores float32 model tensors as F16 on request', async () => {
    const p = join(fresh(), 'half');
    const w = tf.tensor1d([0.1, 1000.5, -3]);
    await saveCheckpoint(p, { tensors: { w } }, { dtype: 'F16' });
    expect((await readSafetensorsHeader(`${p}.safetensors`)).entries.w.dtype).toBe('F16');
    const ck = await loadCheckpoint(p);
    expect(ck.tensors.w.dtype).toBe('float32');
    const got = await values(ck.tensors.w);
    [0.1, 1000.5, -3].forEach((x, i) => expect(got[i]).toBeCloseTo(x, Math.abs(x) > 100 ? -1 : 3));
    ck.dispose();
    w.dispose();
  });

  it('validates metadata before writing anything; the previous checkpoint stays', async () => {
    const p = join(fresh(), 'ck');
    const w = tf.tensor1d([1, 2]);
    await saveCheckpoint(p, { tensors: { w }, meta: { step: 1 } });
    const oldJson = readFileSync(`${p}.json`, 'utf8');
    const oldTensors = readFileSync(`${p}.safetensors`);
    const bad: [unknown, RegExp][] = [
      [{ step: -1 }, /meta\.step/],
      [{ step: 1.5 }, /meta\.step/],
      [{ config: { lr: NaN } }, /meta\.config\.lr: NaN/],
      [{ config: { t: w } }, /meta\.config\.t: an instance of/],
      [{ config: { n: 10n } }, /meta\.config\.n: a bigint/],
      [{ paramSpecs: [{ name: 'x' }] }, /meta\.paramSpecs\.0\.shape/],
    ];
    for (const [meta, re] of bad)
      await expect(saveCheckpoint(p, { tensors: { w }, meta: meta as never })).rejects.toThrow(re);
    await expect(saveCheckpoint(p, { tensors: { 'optimizer/x': w } })).rejects.toThrow(/'optimizer\/x'.*reserved/);
    const gone = tf.scalar(1);
    gone.dispose();
    await expect(saveCheckpoint(p, { tensors: { gone } })).rejects.toThrow(/'gone'.*disposed/);
    expect(readFileSync(`${p}.json`, 'utf8')).toBe(oldJson);
    expect(readFileSync(`${p}.safetensors`).equals(oldTensors)).toBe(true);
    expect(readdirSync(join(p, '..')).sort()).toEqual(['ck.json', 'ck.safetensors']);
    w.dispose();
  });

  it('detects a mismatched pair (tensors file from another save)', async () => {
    const d = fresh();
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor1d([1, 2, 4]);
    const c = tf.tensor1d([1, 2, 3, 4]);
    await saveCheckpoint(join(d, 'a'), { tensors: { w: a } });
    await saveCheckpoint(join(d, 'b'), { tensors: { w: b } });
    await saveCheckpoint(join(d, 'c'), { tensors: { w: c } });
    copyFileSync(join(d, 'b.safetensors'), join(d, 'a.safetensors')); // same size, other bytes
    await expect(loadCheckpoint(join(d, 'a'))).rejects.toThrow(
      /a\.safetensors: SHA-256 .* differs .*different tensors file/,
    );
    copyFileSync(join(d, 'c.safetensors'), join(d, 'b.safetensors')); // other size
    await expect(loadCheckpoint(join(d, 'b'))).rejects.toThrow(/b\.safetensors: is \d+ bytes but b\.json records \d+/);
    const ck = await loadCheckpoint(join(d, 'a'), { verifyHash: false }); // size matches: loads when asked not to hash
    ck.dispose();
    tf.dispose([a, b, c]);
  });

  it('rejects broken metadata files with a CheckpointError naming the file', async () => {
    const d = fresh();
    const w = tf.tensor1d([1]);
    await saveCheckpoint(join(d, 'ok'), { tensors: { w } });
    w.dispose();
    const good = JSON.parse(readFileSync(join(d, 'ok.json'), 'utf8'));
    const variants: [string, string, RegExp][] = [
      ['nojson', '{"format": ', /nojson\.json: metadata is not valid JSON/],
      ['other', JSON.stringify({ hello: 1 }), /not a hypernets checkpoint/],
      ['future', JSON.stringify({ ...good, version: 99 }), /newer @hypernets\/core \(format version 99/],
      ['badhash', JSON.stringify({ ...good, tensors: { ...good.tensors, sha256: 'xyz' } }), /tensors\.sha256/],
      ['badstep', JSON.stringify({ ...good, meta: { step: 'ten' } }), /meta\.step/],
      [
        'badopt',
        JSON.stringify({ ...good, meta: { optimizer: { className: 'Adam' } } }),
        /meta\.optimizer\.iterations/,
      ],
    ];
    for (const [name, text, re] of variants) {
      writeFileSync(join(d, `${name}.json`), text);
      copyFileSync(join(d, 'ok.safetensors'), join(d, `${name}.safetensors`));
      const err = await loadCheckpoint(join(d, name)).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(CheckpointError);
      expect((err as Error).message, name).toMatch(re);
    }
    // metadata naming optimizer slots the tensors file lacks
    writeFileSync(
      join(d, 'noslot.json'),
      JSON.stringify({ ...good, meta: { optimizer: { className: 'Adam', iterations: 1, weights: ['v/m'] } } }),
    );
    copyFileSync(join(d, 'ok.safetensors'), join(d, 'noslot.safetensors'));
    await expect(loadCheckpoint(join(d, 'noslot'))).rejects.toThrow(/slot 'v\/m'.*'optimizer\/v\/m'/);
    await expect(loadCheckpoint(join(d, 'absent'))).rejects.toThrow(/absent\.json.*ENOENT/);
    rmSync(join(d, 'ok.safetensors'));
    await expect(loadCheckpoint(join(d, 'ok'))).rejects.toThrow(/ok\.safetensors: cannot read the tensors file/);
  });
});

describe('loadCheckpointIfAny / assertSameRunConfig (what --resume needs)', () => {
  it('null where nothing was saved, the checkpoint where one was; configurations compared as JSON', async () => {
    const dir = fresh();
    expect(await loadCheckpointIfAny(join(dir, 'none'))).toBeNull();
    expect(await loadCheckpointIfAny(dir + '/')).toBeNull();
    const x = tf.tensor1d([1, 2]);
    await saveCheckpoint(dir + '/', { tensors: { x }, meta: { config: { lr: 0.1 } } });
    const ck = (await loadCheckpointIfAny(dir + '/'))!;
    expect(await values(ck.tensors.x!)).toEqual([1, 2]);
    expect(() => assertSameRunConfig(ck.paths.meta, { lr: 0.1 }, ck.meta.config)).not.toThrow();
    expect(() => assertSameRunConfig(ck.paths.meta, { lr: 0.2 }, ck.meta.config)).toThrow(CheckpointError);
    expect(() => assertSameRunConfig(ck.paths.meta, { lr: 0.2 }, ck.meta.config, 'use another --out')).toThrow(
      /another configuration \({"lr":0.1}\); this run is {"lr":0.2}\. Use another --out/,
    );
    ck.dispose();
    x.dispose();
  });
});

describe('verifyCheckpoint (a --resume checked before any work)', () => {
  it('validates what loadCheckpoint validates, and the configuration, without creating a tensor', async () => {
    const dir = fresh();
    expect(await verifyCheckpoint(join(dir, 'none'))).toBeNull();
    const x = tf.tensor1d([1, 2, 3]);
    const opt = tf.train.adam(0.1);
    const v = variable(tf.tensor1d([1, 2]));
    opt.minimize(() => tf.sum(tf.square(v)), false, [v]);
    await saveCheckpoint(join(dir, 'ok'), {
      tensors: { x },
      optimizer: opt,
      rng: new Rng(3),
      meta: { step: 4, config: { lr: 0.1 } },
    });
    const before = tf.memory().numTensors;
    const meta = await verifyCheckpoint(join(dir, 'ok'), { config: { lr: 0.1 } });
    expect(tf.memory().numTensors).toBe(before);
    expect(meta?.step).toBe(4);
    expect(meta?.optimizer?.className).toBe('Adam');
    expect(await verifyCheckpoint(join(dir, 'ok'))).not.toBeNull(); // no config: not compared

    const other = await verifyCheckpoint(join(dir, 'ok'), {
      config: { lr: 0.2 },
      configHint: 'use another --out',
    }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(CheckpointConfigError);
    expect((other as CheckpointConfigError).have).toEqual({ lr: 0.1 });
    expect((other as CheckpointConfigError).want).toEqual({ lr: 0.2 });
    expect((other as Error).message).toMatch(/ok\.json: was written with another configuration .*Use another --out/);

    const copy = (name: string, damage: (bytes: Buffer) => Buffer) => {
      copyFileSync(join(dir, 'ok.json'), join(dir, `${name}.json`));
      writeFileSync(join(dir, `${name}.safetensors`), damage(readFileSync(join(dir, 'ok.safetensors'))));
      return join(dir, name);
    };
    const truncated = copy('trunc', (b) => b.subarray(0, b.length - 3));
    const flipped = copy('flip', (b) => {
      b[b.length - 1]! ^= 0xff;
      return b;
    });
    const header = copy('header', (b) => {
      b.writeBigUInt64LE(BigInt(b.length), 0); // the header runs past the end of the file
      return b;
    });
    for (const [target, re] of [
      [truncated, /trunc\.safetensors: is \d+ bytes but trunc\.json records \d+/],
      [flipped, /flip\.safetensors: SHA-256 .* differs/],
      [header, /header\.safetensors/],
    ] as const) {
      const err = await verifyCheckpoint(target, { config: { lr: 0.1 } }).catch((e: unknown) => e);
      expect(err, target).toBeInstanceOf(CheckpointError);
      expect((err as Error).message, target).toMatch(re);
    }
    // the configuration is checked before the tensors file is read
    await expect(verifyCheckpoint(truncated, { config: { lr: 0.2 } })).rejects.toBeInstanceOf(CheckpointConfigError);
    await expect(verifyCheckpoint(flipped, { config: { lr: 0.1 }, verifyHash: false })).resolves.not.toBeNull();
    writeFileSync(join(dir, 'bad.json'), '{"format": ');
    await expect(verifyCheckpoint(join(dir, 'bad'))).rejects.toThrow(/bad\.json: metadata is not valid JSON/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, v]);
    opt.dispose();
  });
});

describe('restoreVariables', () => {
  it('assigns by name and validates every name, shape and dtype before assigning any', async () => {
    const p = join(fresh(), 'v');
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor2d([[1, 2, 3]]);
    const i = tf.tensor1d([7], 'int32');
    await saveCheckpoint(p, { tensors: { a, b, i } });
    tf.dispose([a, b, i]);
    const ck = await loadCheckpoint(p);
    const before = tf.memory().numTensors;

    const va = variable(tf.zeros([2]));
    const vb = variable(tf.zeros([1, 3]));
    const vi = variable(tf.zeros([1], 'int32'));
    restoreVariables(ck, { a: va, b: vb, i: vi });
    expect(await values(va)).toEqual([1, 2]);
    expect(await values(vb)).toEqual([1, 2, 3]);
    expect(await values(vi)).toEqual([7]);

    // 2nd target mismatches: the first must stay untouched
    const fa = variable(tf.fill([2], 9));
    const wrongShape = variable(tf.zeros([3, 1]));
    expect(() => restoreVariables(ck, { a: fa, b: wrongShape, i: vi })).toThrow(
      /v\.safetensors: tensor 'b' has shape \[1, 3\] but variable 'b' has shape \[3, 1\]/,
    );
    expect(await values(fa)).toEqual([9, 9]);
    const wrongDtype = variable(tf.zeros([1], 'float32'));
    expect(() => restoreVariables(ck, { a: fa, b: vb, i: wrongDtype })).toThrow(
      /'i' has dtype int32 but variable 'i' has dtype float32/,
    );
    expect(await values(fa)).toEqual([9, 9]);
    const extra = variable(tf.zeros([1]));
    expect(() => restoreVariables(ck, { a: fa, b: vb, i: vi, extra })).toThrow(
      /no tensor 'extra' for variable 'extra'/,
    );
    expect(() => restoreVariables(ck, { a: fa, b: vb })).toThrow(/tensor 'i' has no target variable \(strict mode/);
    expect(await values(fa)).toEqual([9, 9]);

    // non-strict ignores unexpected tensors; allowMissing skips absent ones
    restoreVariables(ck, { a: fa, extra }, { strict: false, allowMissing: true });
    expect(await values(fa)).toEqual([1, 2]);
    expect(await values(extra)).toEqual([0]);

    // the variables keep their values after the checkpoint is disposed
    ck.dispose();
    expect(await values(va)).toEqual([1, 2]);
    expect(() => restoreVariables(ck, { a: va }, { strict: false })).toThrow(/disposed/);
    tf.dispose([va, vb, vi, fa, wrongShape, wrongDtype, extra]);
    expect(tf.memory().numTensors).toBe(before - 3);
  });

  it('maps names through a prefix', async () => {
    const p = join(fresh(), 'pre');
    const t = tf.tensor1d([4]);
    await saveCheckpoint(p, { tensors: { 'hyper/w': t, other: t } });
    t.dispose();
    const ck = await loadCheckpoint(p);
    const v = variable(tf.zeros([1]));
    restoreVariables(ck, { w: v }, { prefix: 'hyper/' });
    expect(await values(v)).toEqual([4]);
    ck.dispose();
    v.dispose();
  });
});

/** A tiny regression problem trained with an optimizer; `step` runs one minimize. */
function problem(seed: number) {
  const rng = new Rng(seed);
  const w = variable(rng.normal([4, 2]));
  const b = variable(tf.zeros([2]));
  const x = tf.tensor2d([
    [1, 2, 3, 4],
    [0.5, -1, 2, 0],
    [3, 3, -1, 1],
  ]);
  const y = tf.tensor2d([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  const step = (opt: tf.Optimizer) =>
    opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))) as tf.Scalar, false, [w, b]);
  const dispose = () => tf.dispose([w, b, x, y]);
  return { w, b, step, dispose };
}

describe('optimizer, NetState and RNG state', () => {
  for (const [label, make] of [
    ['adam', () => tf.train.adam(0.05)],
    ['momentum', () => tf.train.momentum(0.05, 0.9)],
    ['rmsprop', () => tf.train.rmsprop(0.05)],
    ['sgd', () => tf.train.sgd(0.05)],
  ] as const) {
    it(`${label}: save after a few steps, restore into a fresh optimizer, the next step is identical`, async () => {
      const p = join(fresh(), label);
      const a = problem(1);
      const optA = make();
      for (let i = 0; i < 3; i++) a.step(optA);
      await saveCheckpoint(p, { tensors: { w: a.w, b: a.b }, optimizer: optA, meta: { step: 3 } });
      a.step(optA);
      const expected = [await values(a.w), await values(a.b)];

      const before = tf.memory().numTensors;
      const bProb = problem(2); // different initial weights
      const optB = make();
      const ck = await loadCheckpoint(p);
      expect(ck.meta.optimizer?.iterations).toBe(3);
      expect(ck.meta.optimizer?.className).toBe(optA.getClassName());
      const res = await restoreCheckpoint(ck, { variables: { w: bProb.w, b: bProb.b }, optimizer: optB });
      expect(res.step).toBe(3);
      ck.dispose();
      expect(optB.iterations).toBe(3);
      bProb.step(optB);
      expect(await values(bProb.w)).toEqual(expected[0]);
      expect(await values(bProb.b)).toEqual(expected[1]);

      // restoring into an optimizer that already has slots frees the old ones
      const ck2 = await loadCheckpoint(p);
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        await restoreOptimizer(ck2, optB);
        bProb.step(optB);
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts).size).toBe(1);
      ck2.dispose();
      bProb.dispose();
      optB.dispose();
      // everything made since `before` is gone (tfjs's MomentumOptimizer.dispose keeps its
      // learning-rate scalar: an upstream leak of one tensor per optimizer, not ours)
      expect(tf.memory().numTensors).toBe(before + (label === 'momentum' ? 1 : 0));
      a.dispose();
      optA.dispose();
    });
  }

  it('refuses optimizer state of another class or slot shape, changing nothing', async () => {
    const p = join(fresh(), 'cls');
    const a = problem(1);
    const adam = tf.train.adam(0.05);
    a.step(adam);
    await saveCheckpoint(p, { tensors: { w: a.w, b: a.b }, optimizer: adam });
    const ck = await loadCheckpoint(p);
    const bProb = problem(3);
    const wBefore = await values(bProb.w);
    const sgd = tf.train.sgd(0.1);
    await expect(restoreCheckpoint(ck, { variables: { w: bProb.w, b: bProb.b }, optimizer: sgd })).rejects.toThrow(
      /holds Adam optimizer state; it cannot be restored into a SGD optimizer/,
    );
    expect(await values(bProb.w)).toEqual(wBefore);
    // an Adam that has stepped on differently shaped variables
    const other = variable(tf.zeros([5]));
    const adam2 = tf.train.adam(0.05);
    adam2.minimize(() => tf.sum(tf.square(other)) as tf.Scalar, false, [other]);
    await expect(restoreOptimizer(ck, adam2)).rejects.toThrow(/holds 4 optimizer slots but the Adam optimizer has 2/);
    const noOpt = join(fresh(), 'noopt');
    await saveCheckpoint(noOpt, { tensors: { w: a.w } });
    const ck3 = await loadCheckpoint(noOpt);
    await expect(restoreOptimizer(ck3, adam2)).rejects.toThrow(/holds no optimizer state/);
    tf.dispose([other]);
    [ck, ck3].forEach((c) => c.dispose());
    [adam, adam2, sgd].forEach((o) => o.dispose());
    a.dispose();
    bProb.dispose();
  });

  it('round-trips NetState under state/ and the RNG stream in meta', async () => {
    const p = join(fresh(), 'st');
    const stateSpecs = [
      { name: 'mean', shape: [3], init: 'zeros' as const },
      { name: 'var', shape: [3], init: 'ones' as const },
    ];
    const s1 = new NetState(stateSpecs);
    s1.get(0, 'mean').assign(tf.tensor1d([1, 2, 3]));
    s1.get('task-b', 'var').assign(tf.tensor1d([4, 5, 6]));
    const rng = new Rng(7);
    rng.nextInt();
    const w = tf.tensor1d([1]);
    await saveCheckpoint(p, { tensors: { w }, state: s1, rng });
    const next = [rng.nextInt(), rng.uniform()];

    const ck = await loadCheckpoint(p);
    expect(ck.meta.state?.entries.sort()).toEqual(['0/mean', 'task-b/var']);
    expect(Object.keys(ck.tensors).sort()).toEqual(['state/0/mean', 'state/task-b/var', 'w']);
    const s2 = new NetState(stateSpecs);
    restoreNetState(ck, s2);
    expect(await values(s2.get(0, 'mean'))).toEqual([1, 2, 3]);
    expect(await values(s2.get('task-b', 'var'))).toEqual([4, 5, 6]);
    const r2 = restoreRng(ck)!;
    expect([r2.nextInt(), r2.uniform()]).toEqual(next);

    // a NetState whose specs do not match is refused before any entry changes
    const s3 = new NetState([
      { name: 'mean', shape: [3], init: 'zeros' },
      { name: 'var', shape: [4], init: 'ones' },
    ]);
    s3.get(0, 'mean');
    expect(() => restoreNetState(ck, s3)).toThrow(
      /state entry 'task-b\/var' has shape \[3\] but StateSpec 'var' has \[4\]/,
    );
    expect(await values(s3.get(0, 'mean'))).toEqual([0, 0, 0]);
    expect(() => restoreNetState(ck, new NetState([{ name: 'mean', shape: [3], init: 'zeros' }]))).toThrow(
      /'task-b\/var' matches no StateSpec/,
    );
    ck.dispose();
    [s1, s2, s3].forEach((s) => s.dispose());
    w.dispose();
    expect(existsSync(`${p}.json`)).toBe(true);
  });
});

/** Runs `f` and reports how far heapUsed rose (garbage included: without a GC it counts what was allocated). */
async function heapGrowth<T>(f: () => Promise<T>): Promise<{ result: T | unknown; mb: number }> {
  const before = process.memoryUsage().heapUsed;
  const result = await f().catch((e: unknown) => e);
  return { result, mb: (process.memoryUsage().heapUsed - before) / 2 ** 20 };
}

describe('hostile checkpoint files (issue 14)', () => {
  /** A saved checkpoint whose JSON is then rewritten as `text(good JSON)`. */
  async function rewritten(name: string, text: (good: any) => string): Promise<string> {
    const d = fresh();
    const w = tf.tensor1d([1, 2]);
    await saveCheckpoint(join(d, name), { tensors: { w }, meta: { step: 1 } });
    w.dispose();
    const good = JSON.parse(readFileSync(join(d, `${name}.json`), 'utf8'));
    writeFileSync(join(d, `${name}.json`), text(good));
    return join(d, name);
  }
  const withMeta = (good: any, metaJson: string) => JSON.stringify({ ...good, meta: '@@' }).replace('"@@"', metaJson);

  it('deeply nested metadata is a CheckpointError (was accepted, then a RangeError in assertSameRunConfig)', async () => {
    const depth = 100_000;
    const p = await rewritten('deep', (g) => withMeta(g, `{"config":${'['.repeat(depth)}${']'.repeat(depth)}}`));
    const err = await loadCheckpoint(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/deep\.json: metadata nests deeper than 128 levels/);
    // and 5,000 deep in a ~10 KB file
    const p2 = await rewritten('deep2', (g) => withMeta(g, `{"config":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`));
    await expect(loadCheckpoint(p2)).rejects.toThrow(CheckpointError);
  });

  it('assertSameRunConfig on a deeply nested or huge configuration: CheckpointError with a short message', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const err = (() => {
      try {
        assertSameRunConfig('run/checkpoint.json', { lr: 0.1 }, deep);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/checkpoint's configuration is nested too deeply/);
    expect((err as Error).message.length).toBeLessThan(400);
    // a long configuration that differs near its end: the message shows where, not all of it
    const big = { layers: Array.from({ length: 20_000 }, (_, i) => i), lr: 0.1 };
    const msg = (() => {
      try {
        assertSameRunConfig('run/checkpoint.json', { ...big, lr: 0.2 }, big);
      } catch (e) {
        return (e as Error).message;
      }
    })()!;
    expect(msg).toMatch(/another configuration \(….*"lr":0\.1\}\); this run is ….*"lr":0\.2\}/);
    expect(msg.length).toBeLessThan(800);
  });

  it('huge arrays of bad elements fail at the first one, in bounded memory (zod made an issue per element)', async () => {
    const n = 300_000;
    const cases: [string, string, RegExp][] = [
      ['specs', `{"paramSpecs":[${Array(n).fill('{"name":"w"}').join(',')}]}`, /meta\.paramSpecs\.0\.shape/],
      ['rng', `{"rng":[${Array(n).fill('0.5').join(',')}]}`, /meta\.rng\.0: Expected an integer, received 0\.5/],
      [
        'slots',
        `{"optimizer":{"className":"Adam","iterations":1,"weights":[${Array(n).fill('7').join(',')}]}}`,
        /meta\.optimizer\.weights\.0/,
      ],
      [
        'shape',
        `{"paramSpecs":[{"name":"w","shape":[${Array(n).fill('-1').join(',')}],"kind":"weight","layer":0,"fanIn":1,"fanOut":1}]}`,
        /meta\.paramSpecs\.0\.shape\.0/,
      ],
    ];
    for (const [name, meta, re] of cases) {
      const p = await rewritten(name, (g) => withMeta(g, meta));
      const { result, mb } = await heapGrowth(() => loadCheckpoint(p));
      expect(result, name).toBeInstanceOf(CheckpointError);
      expect((result as Error).message, name).toMatch(re);
      expect((result as Error).message.length, name).toBeLessThan(600);
      expect(mb, name).toBeLessThan(60);
    }
  });

  it('a metadata file of millions of empty arrays is refused before parsing', async () => {
    const items = 3_000_000; // ~9 MB: JSON.parse would build 3 million arrays (~120 MB)
    const p = await rewritten('arrays', (g) => withMeta(g, `{"config":[${Array(items).fill('[]').join(',')}]}`));
    const { result, mb } = await heapGrowth(() => loadCheckpoint(p));
    expect(result).toBeInstanceOf(CheckpointError);
    expect((result as Error).message).toMatch(/metadata holds more than \d+ objects and arrays in \d+ bytes/);
    expect(mb).toBeLessThan(60);
  });

  it('a bad RNG state fails before any variable or optimizer slot changes (was a plain Error after assigning)', async () => {
    const p = join(fresh(), 'rng');
    const a = problem(1);
    const adamA = tf.train.adam(0.05);
    a.step(adamA);
    await saveCheckpoint(p, { tensors: { w: a.w, b: a.b }, optimizer: adamA, rng: new Rng(5) });
    const good = JSON.parse(readFileSync(`${p}.json`, 'utf8'));

    const bProb = problem(2);
    const adamB = tf.train.adam(0.05);
    bProb.step(adamB); // has slots and an iteration count of its own
    const snapshot = async () => ({
      w: await values(bProb.w),
      b: await values(bProb.b),
      iterations: adamB.iterations,
      slots: await Promise.all((await adamB.getWeights()).map(async (s) => [s.name, await values(s.tensor)])),
    });
    const before = await snapshot();
    for (const rng of [[1, 2, 3], [0, 0, 0, 0], [2 ** 40, 1, 2, 3], 'x', []] as unknown[]) {
      const ck = await loadCheckpoint(p);
      (ck.meta as { rng: unknown }).rng = rng;
      const err = await restoreCheckpoint(ck, { variables: { w: bProb.w, b: bProb.b }, optimizer: adamB }).catch(
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(rng)).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(/meta\.rng .* is not a saved random generator state/);
      expect(() => restoreRng(ck)).toThrow(CheckpointError);
      expect(await snapshot()).toEqual(before);
      ck.dispose();
      // from the file, loadCheckpoint refuses it already
      writeFileSync(`${p}.json`, JSON.stringify({ ...good, meta: { ...good.meta, rng } }));
      await expect(loadCheckpoint(p)).rejects.toThrow(CheckpointError);
      writeFileSync(`${p}.json`, JSON.stringify(good));
    }
    // the saved state itself restores
    const ck = await loadCheckpoint(p);
    const res = await restoreCheckpoint(ck, { variables: { w: bProb.w, b: bProb.b }, optimizer: adamB });
    expect(res.rng?.nextInt()).toBe(new Rng(5).nextInt());
    ck.dispose();
    [adamA, adamB].forEach((o) => o.dispose());
    a.dispose();
    bProb.dispose();
  });
});

describe('orphan files of killed saves (issue 14)', () => {
  it('resume (loadCheckpointIfAny) and the next save remove temp/backup files of dead processes, only ours', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid names a killed run
    const dir = fresh();
    mkdirSync(dir);
    const orphans = [
      `.checkpoint.safetensors.tmp-${dead}-1-0123abcd`,
      `.checkpoint.json.tmp-${dead}-2-89abcdef`,
      `.checkpoint.safetensors.bak-${dead}-3-deadbeef`,
    ];
    const others = [
      `.other.safetensors.tmp-${dead}-1-0123abcd`,
      `.checkpoint.safetensors.tmp-${process.ppid}-1-0123abcd`,
      'notes.txt',
    ];
    const plant = () => [...orphans, ...others].forEach((n) => writeFileSync(join(dir, n), new Uint8Array(1024)));

    // killed before its first save completed: nothing to resume, the leftovers go
    plant();
    expect(await loadCheckpointIfAny(dir)).toBeNull();
    expect(readdirSync(dir).sort()).toEqual([...others].sort());

    // killed during a later save
    const w = tf.tensor1d([1, 2]);
    plant();
    await saveCheckpoint(dir, { tensors: { w } });
    expect(readdirSync(dir).sort()).toEqual([...others, 'checkpoint.json', 'checkpoint.safetensors'].sort());
    plant();
    const ck = await loadCheckpointIfAny(dir);
    expect(ck).not.toBeNull();
    ck!.dispose();
    expect(readdirSync(dir).sort()).toEqual([...others, 'checkpoint.json', 'checkpoint.safetensors'].sort());
    w.dispose();
  });
});

describe('saveCheckpoint never writes what loadCheckpoint refuses', () => {
  it('metadata nested deeper than readers accept is refused before writing; just under the limit round-trips', async () => {
    const p = join(fresh(), 'ck');
    const w = tf.tensor1d([1]);
    await saveCheckpoint(p, { tensors: { w }, meta: { step: 1 } });
    const old = readFileSync(`${p}.json`, 'utf8');
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    await expect(saveCheckpoint(p, { tensors: { w }, meta: { config: deep } })).rejects.toThrow(
      /nesting deeper than 128 levels/,
    );
    // just under the limit still round-trips
    let ok: unknown = 1;
    for (let i = 0; i < 120; i++) ok = [ok];
    await saveCheckpoint(p, { tensors: { w }, meta: { config: ok } });
    const ck = await loadCheckpoint(p);
    expect(JSON.stringify(ck.meta.config)).toBe(JSON.stringify(ok));
    ck.dispose();
    writeFileSync(`${p}.json`, old);
    w.dispose();
  });
});
