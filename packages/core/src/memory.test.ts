import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { tidy } from './memory.js';

interface Result {
  kept: tf.Tensor;
  none: tf.Tensor | null;
  list: (tf.Tensor | null)[];
}

describe('tidy', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('keeps the tensors of an interface-typed result (nulls skipped) and disposes the rest', () => {
    const before = tf.memory().numTensors;
    let scratch: tf.Tensor | undefined;
    const out: Result = tidy(() => {
      scratch = tf.ones([2]);
      return { kept: tf.add(scratch, 1), none: null, list: [tf.zeros([1]), null] };
    });
    expect(scratch!.isDisposed).toBe(true);
    expect(out.kept.isDisposed).toBe(false);
    expect(out.list[0]!.isDisposed).toBe(false);
    expect(out.none).toBeNull();
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([out.kept, out.list[0]!]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
