import { describe, expect, it, vi } from 'vitest';
import * as errors from './index.js';
import {
  BackendUnavailableError,
  CheckpointConfigError,
  CheckpointError,
  ConfigError,
  HypernetsError,
  ShapeMismatchError,
  TensorLeakError,
  TrainingError,
  UnsupportedOpError,
} from './index.js';

/** One error of each class, made by the given copy of this module. */
function oneOfEach(m: typeof errors): Record<string, Error> {
  return {
    HypernetsError: new m.HypernetsError('plain'),
    ShapeMismatchError: new m.ShapeMismatchError("weights['fc1.weight']", [4, 3], [3, 4], 'transpose it'),
    BackendUnavailableError: new m.BackendUnavailableError('webgpu', 'no adapter', 'wasm'),
    UnsupportedOpError: new m.UnsupportedOpError('Einsum', 'wasm', 'complex64 tensors'),
    CheckpointError: new m.CheckpointError('/tmp/x.safetensors', 'truncated header'),
    CheckpointConfigError: new m.CheckpointConfigError('/tmp/x.json', 'another run', { lr: 1 }, { lr: 2 }),
    ConfigError: new m.ConfigError('lr', 'must be positive'),
    TensorLeakError: new m.TensorLeakError('step', [3, 4, 5]),
    TrainingError: new m.TrainingError('the loss was not finite in 11 steps'),
  };
}

const CLASSES = {
  HypernetsError,
  ShapeMismatchError,
  BackendUnavailableError,
  UnsupportedOpError,
  CheckpointError,
  CheckpointConfigError,
  ConfigError,
  TensorLeakError,
  TrainingError,
} as const;

/** Which classes each error is an instance of (its own and its ancestors). */
const IS_A: Record<string, string[]> = {
  HypernetsError: ['HypernetsError'],
  ShapeMismatchError: ['HypernetsError', 'ShapeMismatchError'],
  BackendUnavailableError: ['HypernetsError', 'BackendUnavailableError'],
  UnsupportedOpError: ['HypernetsError', 'UnsupportedOpError'],
  CheckpointError: ['HypernetsError', 'CheckpointError'],
  CheckpointConfigError: ['HypernetsError', 'CheckpointError', 'CheckpointConfigError'],
  ConfigError: ['HypernetsError', 'ConfigError'],
  TensorLeakError: ['HypernetsError', 'TensorLeakError'],
  TrainingError: ['HypernetsError', 'TrainingError'],
};

describe('typed errors', () => {
  it('messages keep their formats', () => {
    const e = oneOfEach(errors);
    expect(e.ShapeMismatchError!.message).toBe(
      "shape mismatch for weights['fc1.weight']: expected [4, 3], found [3, 4]. transpose it",
    );
    expect(e.BackendUnavailableError!.message).toBe(
      "backend 'webgpu' is unavailable: no adapter (next choice: 'wasm')",
    );
    expect(e.UnsupportedOpError!.message).toBe("Einsum is not supported on backend 'wasm': complex64 tensors");
    expect(e.CheckpointError!.message).toBe('checkpoint /tmp/x.safetensors: truncated header');
    expect(e.CheckpointConfigError!.message).toBe('checkpoint /tmp/x.json: another run');
    expect(e.ConfigError!.message).toBe("invalid config 'lr': must be positive");
    expect(e.TensorLeakError!.message).toBe(
      'step: tensor count grew across steps (3 → 4 → 5); wrap intermediate tensors in tf.tidy or dispose them',
    );
  });

  it('name is the class name, also on subclasses of subclasses', () => {
    for (const [cls, e] of Object.entries(oneOfEach(errors))) {
      expect(e.name).toBe(cls);
      expect(String(e)).toMatch(new RegExp(`^${cls}: `));
      expect(e).toBeInstanceOf(Error);
    }
  });

  it('cause is kept when given, absent otherwise', () => {
    const io = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    expect(new CheckpointError('/x', 'cannot read it', { cause: io }).cause).toBe(io);
    expect(new CheckpointConfigError('/x', 'other run', 1, 2, { cause: io }).cause).toBe(io);
    expect(new ShapeMismatchError('w', [1], [2], '', { cause: io }).cause).toBe(io);
    expect(new BackendUnavailableError('wasm', 'failed to load', 'cpu', { cause: io }).cause).toBe(io);
    expect(new UnsupportedOpError('Tile', 'wasm', 'x', { cause: io }).cause).toBe(io);
    expect(new ConfigError('lr', 'x', { cause: io }).cause).toBe(io);
    expect(new TrainingError('x', { cause: io }).cause).toBe(io);
    expect(new HypernetsError('x', { cause: 'a string' }).cause).toBe('a string');
    const bare = new CheckpointError('/x', 'y');
    expect(bare.cause).toBeUndefined();
    expect('cause' in bare).toBe(false);
  });

  it('each isInstance accepts its class and subclasses, and nothing else', () => {
    const made = oneOfEach(errors);
    for (const [cls, check] of Object.entries(CLASSES))
      for (const [kind, e] of Object.entries(made))
        expect(check.isInstance(e), `${cls}.isInstance(${kind})`).toBe(IS_A[kind]!.includes(cls));
    for (const check of Object.values(CLASSES)) {
      for (const x of [
        new Error('plain'),
        new TypeError('t'),
        null,
        undefined,
        'CheckpointError',
        42,
        {},
        { name: 'CheckpointError', message: 'm' },
      ])
        expect(check.isInstance(x)).toBe(false);
      // A marker set to something other than `true` does not count.
      expect(check.isInstance({ [Symbol.for('hypernets.error')]: 'yes' })).toBe(false);
    }
  });

  it('isInstance holds across a second copy of the module (a duplicate package install), where instanceof fails', async () => {
    vi.resetModules();
    const copy = (await import('./index.js')) as typeof errors;
    expect(copy.CheckpointError).not.toBe(CheckpointError); // really another copy of the classes
    const theirs = oneOfEach(copy);
    expect(theirs.CheckpointError).not.toBeInstanceOf(CheckpointError);
    for (const [cls, check] of Object.entries(CLASSES))
      for (const [kind, e] of Object.entries(theirs))
        expect(check.isInstance(e), `${cls}.isInstance(copy's ${kind})`).toBe(IS_A[kind]!.includes(cls));
    // And the other way round: the copy's classes recognise ours.
    expect(copy.ShapeMismatchError.isInstance(new ShapeMismatchError('w', [1], [2]))).toBe(true);
    expect(copy.ShapeMismatchError.isInstance(new ConfigError('w', 'x'))).toBe(false);
  });

  it('isInstance holds for a class written separately that carries the same Symbol.for markers', () => {
    // What another build of @hypernets/core (other bundler, other version) would define.
    const base = Symbol.for('hypernets.error');
    const own = Symbol.for('hypernets.error.CheckpointError');
    class ForeignCheckpointError extends Error {
      readonly [base] = true;
      readonly [own] = true;
    }
    const e = new ForeignCheckpointError('checkpoint /x: y');
    expect(e).not.toBeInstanceOf(CheckpointError);
    expect(HypernetsError.isInstance(e)).toBe(true);
    expect(CheckpointError.isInstance(e)).toBe(true);
    expect(CheckpointConfigError.isInstance(e)).toBe(false);
    expect(ConfigError.isInstance(e)).toBe(false);
  });

  it('the index exports exactly these classes', () => {
    expect(Object.keys(errors).sort()).toEqual(Object.keys(CLASSES).sort());
  });
});
