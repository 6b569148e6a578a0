import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { fromTorchWeights, initBackend, readSafetensorsFile, resnet18, torchShape } from '@hypernets/core';
import { LoGAH, archGraph, loadGhn } from '@hypernets/graph';
import { UsageError } from '../continual/options.js';
import {
  EVAL_DEFAULTS,
  TRAIN_DEFAULTS,
  evalSchema,
  predictSchema,
  trainFingerprint,
  trainSchema,
  validate,
} from './options.js';

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));
const FIXTURE = fileURLToPath(
  new URL('../../../../packages/graph/fixtures/ppuda/ghn2-cifar10-seed0.safetensors', import.meta.url),
);
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@hypernets/source', bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HYPERNETS_BACKEND: 'wasm' },
    timeout: 120_000,
  });

describe('hypernets ghn: options', () => {
  it('bad values are UsageErrors naming the flag', () => {
    const train = (o: Record<string, unknown>) => () => validate(trainSchema, { ...TRAIN_DEFAULTS, ...o });
    expect(train({ steps: 0 })).toThrow(/^--steps:/);
    expect(train({ archsPerStep: 2.5 })).toThrow(/^--archs-per-step:/);
    expect(train({ lr: 0 })).toThrow(/^--lr:/);
    expect(train({ hid: 6 })).toThrow(/^--hid: must be a multiple of 4/);
    expect(train({ families: ['mlp', 'rnn'] })).toThrow(/^--families: 'rnn' is not one of mlp, cnn, resnet/);
    expect(train({ trainSamples: 70000 })).toThrow(/^--train-samples:/);
    expect(train({ frobnicate: 1 })).toThrow(UsageError);
    expect(() => validate(predictSchema, { ghn: 'g.safetensors', model: 'resnet9', out: 'o.safetensors' })).toThrow(
      /^--model: 'resnet9' is not a model of the zoo resnet18, resnet34, resnet50, resnet101, resnet152, resnet20, resnet32, lenet5, mlp/,
    );
    expect(() => validate(predictSchema, { ghn: 'g.safetensors', model: 'mlp', out: 'o.bin' })).toThrow(
      /^--out: must name a \.safetensors file/,
    );
    expect(() => validate(evalSchema, { ...EVAL_DEFAULTS, ghn: 'g', fineTuneSteps: -1 })).toThrow(
      /^--fine-tune-steps:/,
    );
    expect(() => validate(evalSchema, { ...EVAL_DEFAULTS, ghn: 'g', models: ['vgg16'] })).toThrow(
      /^--models: 'vgg16' is not a model of the zoo/,
    );
    expect(train({ steps: 1e20 })).toThrow(/^--steps: must be at most 10,000,000/);
    expect(train({ batchSize: 600, trainSamples: 512 })).toThrow(/^--batch-size: must be at most --train-samples/);
    expect(train({ gradClip: Infinity })).toThrow(/^--grad-clip: must be finite/);
    expect(() => validate(evalSchema, { ...EVAL_DEFAULTS, ghn: 'g', batchSize: 1e9 })).toThrow(
      /^--batch-size: must be at most 10,000/,
    );
    expect(validate(trainSchema, { ...TRAIN_DEFAULTS })).toMatchObject({
      steps: 200,
      archsPerStep: 8,
      lr: 1e-3,
      weightDecay: 1e-5,
      gradClip: 5,
    });
  });

  it('the command exits with code 2 and names the option before any work', () => {
    for (const [args, want] of [
      [['ghn', 'train', '--steps', 'many'], /--steps takes a whole number/],
      [
        ['ghn', 'predict', '--ghn', FIXTURE, '--model', 'resnet9', '--out', join(tmpdir(), 'x.safetensors')],
        /--model: 'resnet9'.*resnet18, resnet34.*lenet5, mlp/,
      ],
      [
        [
          'ghn',
          'predict',
          '--ghn',
          join(tmpdir(), 'no-such-ghn.safetensors'),
          '--model',
          'mlp',
          '--out',
          join(tmpdir(), 'x.safetensors'),
        ],
        /--ghn .*no such file/,
      ],
      [
        ['ghn', 'eval', '--ghn', FIXTURE, '--split', 'iid'],
        /--split .*Allowed choices are test, wide, deep, dense, bn-free/,
      ],
      [['ghn', 'train', '--steps', '0x10'], /--steps takes a whole number in decimal digits/],
      [['ghn', 'train', '--lr', 'Infinity'], /--lr takes a decimal number/],
    ] as const) {
      const r = cli(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr + r.stdout).not.toMatch(/backend:/);
    }
  });
});

describe('hypernets ghn: output', () => {
  it('an --out holding a run or results, an existing output file, /proc: exit code 2 before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-ghn-out-'));
    const train = join(dir, 'train');
    const evalDir = join(dir, 'eval');
    mkdirSync(train);
    mkdirSync(evalDir);
    writeFileSync(join(train, 'ghn.safetensors'), 'x');
    writeFileSync(join(evalDir, 'results.json'), '{}');
    const existing = join(dir, 'r.safetensors');
    writeFileSync(existing, 'x');
    const notGhn = join(dir, 'not-a-ghn.safetensors');
    writeFileSync(notGhn, 'not safetensors at all');
    const tiny = [
      '--steps',
      '1',
      '--archs-per-step',
      '1',
      '--families',
      'mlp',
      '--hid',
      '8',
      '--train-samples',
      '64',
      '--batch-size',
      '8',
    ];
    for (const [args, want] of [
      [
        ['ghn', 'train', ...tiny, '--out', train],
        /--out .*train holds another run \(ghn\.safetensors\); pass --resume to continue it, a new --out for a new run, or --overwrite to replace it/,
      ],
      [
        ['ghn', 'eval', '--ghn', FIXTURE, '--models', 'mlp', '--test-samples', '10', '--out', evalDir],
        /--out .*eval holds another run \(results\.json\); pass a new --out, or --overwrite to replace it/,
      ],
      [
        ['ghn', 'predict', '--ghn', FIXTURE, '--model', 'mlp', '--out', existing],
        /--out .*r\.safetensors: exists; pass another file name, or --overwrite to replace it/,
      ],
      [['ghn', 'train', ...tiny, '--out', '/proc/hypernets-ghn'], /pseudo-filesystem/],
      [
        ['ghn', 'predict', '--ghn', notGhn, '--model', 'mlp', '--out', join(dir, 'p.safetensors')],
        /--ghn .*not-a-ghn\.safetensors: not a readable safetensors file/,
      ],
      [
        ['ghn', 'eval', '--ghn', notGhn, '--models', 'mlp', '--test-samples', '10', '--out', join(dir, 'e')],
        /--ghn .*not-a-ghn\.safetensors: not a readable safetensors file/,
      ],
    ] as const) {
      if (String(args.at(-1)).startsWith('/proc') && process.platform !== 'linux') continue;
      const r = cli(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr + r.stdout).not.toMatch(/backend:/);
    }
    expect(readFileSync(join(train, 'ghn.safetensors'), 'utf8')).toBe('x');
    expect(readFileSync(existing, 'utf8')).toBe('x');
  });
});

describe('hypernets ghn predict', () => {
  it("writes resnet18's parameters under torchvision's names and shapes; they load back as the GHN's prediction", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-ghn-predict-'));
    const out = join(dir, 'resnet18.safetensors');
    const r = cli('ghn', 'predict', '--ghn', FIXTURE, '--model', 'resnet18', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim());
    expect(j).toMatchObject({ model: 'resnet18', tensors: 62, params: 11_181_642, missing: [], backend: 'wasm' });

    await initBackend('wasm');
    const net = resnet18({ numClasses: 10 }); // the fixture GHN predicts CIFAR-10 classifiers
    const file = await readSafetensorsFile(out);
    expect(Object.keys(file.tensors).sort()).toEqual(net.params.map((p) => p.name).sort());
    for (const p of net.params) expect(file.tensors[p.name]!.shape, p.name).toEqual(torchShape(p));
    expect(file.tensors['conv1.weight']!.shape).toEqual([64, 3, 7, 7]);
    expect(file.tensors['fc.weight']!.shape).toEqual([10, 512]);
    expect(file.metadata).toMatchObject({ model: 'resnet18', layout: 'pytorch' });

    const { safetensorsToTensors } = await import('@hypernets/core');
    const torch = safetensorsToTensors(file).tensors;
    const back = fromTorchWeights(net.params, torch);
    const ghn = await loadGhn(FIXTURE);
    const [p] = ghn.predict(archGraph(net));
    for (const name of ['conv1.weight', 'layer2.0.downsample.0.weight', 'layer4.1.bn2.bias', 'fc.weight', 'fc.bias'])
      expect(back[name]!.dataSync(), name).toEqual(p!.weights[name]!.dataSync());
    tf.dispose([...Object.values(torch), ...Object.values(back), ...Object.values(p!.weights)]);
    ghn.dispose();
  });
});

describe('hypernets ghn train / eval', () => {
  it('trains 3 steps on small MLPs, checkpoints, resumes, and the GHN it writes evaluates', () => {
    const out = mkdtempSync(join(tmpdir(), 'hn-ghn-train-'));
    const args = [
      'ghn',
      'train',
      '--steps',
      '3',
      '--archs-per-step',
      '2',
      '--families',
      'mlp',
      '--hid',
      '8',
      '--train-samples',
      '512',
      '--batch-size',
      '32',
      '--checkpoint-every',
      '2',
      '--out',
      out,
      '--json',
    ];
    const r = cli(...args);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    const j = JSON.parse(lines[0]!);
    expect(j).toMatchObject({ steps: 3, skipped: 0, backend: 'wasm' });
    expect(j.final_loss).toBeGreaterThan(1);
    expect(j.final_loss).toBeLessThan(4);
    for (const f of [
      'checkpoint.json',
      'checkpoint.safetensors',
      'ghn.safetensors',
      'results.json',
      'summary.md',
      'learning-curves.svg',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.curve.map((c: { step: number }) => c.step)).toEqual([1, 2, 3]);

    // resuming the finished run: it loads the checkpoint, trains nothing, reports the same run
    const again = cli(...args, '--resume');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming from .*checkpoint \(step 3\)/);
    expect(JSON.parse(again.stdout.trim()).final_loss).toBe(j.final_loss);
    // with other options it refuses (and keeps the checkpoint)
    const other = cli(...args.map((a) => (a === '512' ? '256' : a)), '--resume');
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(
      /--resume: the run in .* was started with other options \(trainSamples: 512 there, 256 here\)/,
    );
    expect(other.stderr).not.toMatch(/backend:/);
    // without --resume it is refused too; --overwrite replaces it
    expect(cli(...args).stderr).toMatch(/holds another run .*--overwrite to replace it/);

    const evalOut = join(out, 'eval');
    const e = cli(
      'ghn',
      'eval',
      '--ghn',
      join(out, 'ghn.safetensors'),
      '--models',
      'mlp,lenet5',
      '--test-samples',
      '200',
      '--fine-tune-steps',
      '3',
      '--out',
      evalOut,
      '--json',
    );
    expect(e.status, e.stderr).toBe(0);
    const ej = JSON.parse(e.stdout.trim());
    expect(ej.archs.map((a: { id: string }) => a.id)).toEqual(['mlp', 'lenet5']);
    for (const a of ej.archs) {
      expect(a.accuracy).toBeGreaterThanOrEqual(0);
      expect(a.fine_tuned.steps).toBe(3);
    }
    expect(existsSync(join(evalOut, 'results.json'))).toBe(true);
    expect(readFileSync(join(evalOut, 'summary.md'), 'utf8')).toMatch(/Mean test accuracy of the predicted parameters/);
  });

  it('--ghn-type logah meta-trains a LoGAH; its file loads as one; resuming it as another GHN type is refused', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hn-ghn-logah-'));
    const args = [
      'ghn',
      'train',
      '--ghn-type',
      'logah',
      '--steps',
      '2',
      '--archs-per-step',
      '2',
      '--families',
      'mlp',
      '--hid',
      '8',
      '--train-samples',
      '256',
      '--batch-size',
      '32',
      '--out',
      out,
      '--json',
    ];
    const r = cli(...args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/LoGAH \(hid 8\)/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.config.ghnType).toBe('logah');
    await initBackend('cpu');
    const ghn = await loadGhn(join(out, 'ghn.safetensors'));
    expect(ghn).toBeInstanceOf(LoGAH);
    expect(ghn.numParams).toBe(results.params);
    ghn.dispose();
    const other = cli(...args.map((a) => (a === 'logah' ? 'ghn3' : a)), '--resume');
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(
      /--resume: the run in .* was started with other options \(ghnType: "logah" there, "ghn3" here\)/,
    );
  });

  it('a GHN-2 run keeps the fingerprint of runs checkpointed before --ghn-type existed', () => {
    const o = validate(trainSchema, { ...TRAIN_DEFAULTS });
    expect(trainFingerprint(o)).not.toHaveProperty('ghnType');
    expect(trainFingerprint({ ...o, ghnType: 'ghn3' })).toMatchObject({ ghnType: 'ghn3' });
  });
});
