import * as tf from '@tensorflow/tfjs-core';
import { linear } from './linear.js';

type Fn = (x: tf.Tensor) => tf.Tensor;

/** The LSTM's two nonlinearities: `gate` on i, f, o (default sigmoid), `cell` on the candidate and on c before h (default tanh). */
export interface LstmActivations {
  gate?: Fn;
  cell?: Fn;
}

export interface LstmCellOptions extends LstmActivations {
  /** Multiplies the candidate cell(z_g) (recurrent dropout on the candidate, as in HyperLSTM). */
  candidateMask?: tf.Tensor | null;
  /** Applied to c before cell(·) for h (e.g. a layer norm); c itself is carried on unchanged. */
  cellOutput?: Fn;
}

/**
 * One LSTM cell update from the gate pre-activations (PyTorch order i, f, g, o) and c_{t-1}
 * (null: zeros, so the forget term is skipped):
 *   c = gate(z_f)·c_{t-1} + gate(z_i)·cell(z_g);   h = gate(z_o)·cell(c).
 */
export function lstmCell(
  zi: tf.Tensor,
  zf: tf.Tensor,
  zg: tf.Tensor,
  zo: tf.Tensor,
  cPrev: tf.Tensor | null,
  options: LstmCellOptions = {},
): { h: tf.Tensor; c: tf.Tensor } {
  const gate = options.gate ?? tf.sigmoid;
  const cell = options.cell ?? tf.tanh;
  let g = cell(zg);
  if (options.candidateMask) g = tf.mul(g, options.candidateMask);
  const ig = tf.mul(gate(zi), g);
  const c = cPrev === null ? ig : tf.add(tf.mul(gate(zf), cPrev), ig);
  const cOut = options.cellOutput ? options.cellOutput(c) : c;
  return { h: tf.mul(gate(zo), cell(cOut)), c };
}

/**
 * One LSTM layer unrolled over T from zero state: seq [N, T, in], W_ih [in, 4H] (or per-sample
 * [N, in, 4H]), W_hh [H, 4H] (or [N, H, 4H]), b [4H] (or [N, 4H]), gate columns i | f | g | o.
 * Returns the hidden state of every step ([N, H] each). The input projection of all steps is
 * one matmul, the loop only does h·W_hh; unstack (Unpack, gradient: Pack) rather than T slices:
 * one op forward, and the backward pass stacks T step gradients instead of padding each to
 * [N, T, 4H] and summing. h0 = c0 = 0, so the first step skips the recurrent matmul and the
 * forget term. Call inside a tidy.
 */
export function lstmLayer(
  seq: tf.Tensor,
  wIh: tf.Tensor,
  wHh: tf.Tensor,
  b: tf.Tensor | undefined,
  activations: LstmActivations = {},
): tf.Tensor[] {
  const steps = tf.unstack(linear(seq, wIh, b), 1);
  const hs: tf.Tensor[] = [];
  let h: tf.Tensor | null = null;
  let c: tf.Tensor | null = null;
  for (const xw of steps) {
    const z: tf.Tensor = h === null ? xw : tf.add(xw, linear(h, wHh));
    const [zi, zf, zg, zo] = tf.split(z, 4, -1);
    ({ h, c } = lstmCell(zi, zf, zg, zo, c, activations));
    hs.push(h);
  }
  return hs;
}
