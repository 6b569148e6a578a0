import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BestSnapshot } from './best-snapshot.js';
import { useCpu } from '../testing/nets.js';

beforeAll(useCpu);

it('takes, assigns back, saves and restores the best variables; a failed restore keeps the old copy', () => {
  const vars = { a: tf.variable(tf.tensor1d([1, 2])), b: tf.variable(tf.scalar(3)) };
  const best = new BestSnapshot(() => vars);
  expect(best.taken).toBe(false);
  expect(best.tensors()).toEqual({});
  best.take();
  vars.a.assign(tf.tensor1d([9, 9]));
  best.assignBack();
  expect(Array.from(vars.a.dataSync())).toEqual([1, 2]);
  expect(Object.keys(best.tensors()).sort()).toEqual(['best.a', 'best.b']);
  const before = tf.memory().numTensors;
  expect(() =>
    best.restoreWith(true, () => {
      throw new Error('bad checkpoint');
    }),
  ).toThrow('bad checkpoint');
  expect(tf.memory().numTensors).toBe(before);
  expect(Array.from(best.tensors()['best.a']!.dataSync())).toEqual([1, 2]);
  best.restoreWith(true, (standIns) => {
    standIns['best.a']!.assign(tf.tensor1d([5, 6]));
    standIns['best.b']!.assign(tf.scalar(7));
  });
  best.assignBack();
  expect(Array.from(vars.a.dataSync())).toEqual([5, 6]);
  expect(vars.b.dataSync()[0]).toBe(7);
  best.restoreWith(false, (standIns) => expect(standIns).toEqual({}));
  expect(best.taken).toBe(false);
  best.dispose();
  tf.dispose(Object.values(vars));
});
