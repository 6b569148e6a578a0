// Einsum (forward) for tfjs-backend-wasm, which has no Einsum kernel at all in 4.22.
//
// Same equation language as tfjs-core's cpu kernel (parsed by the same
// backend_util.decodeEinsumEquation / checkEinsumDimSizes): one or two operands, no
// duplicate labels within an operand, no ellipsis. Instead of cpu's broadcast-multiply
// then sum (which materialises the product of *all* dimensions), we:
//  - one operand: a single pass over the input, summing into the permuted output;
//  - two float32 operands: sum out labels private to one operand, lay A out as
//    [batch, freeA, contracted] and B as [batch, contracted, freeB] (no copy when already
//    in that order), run the wasm BatchMatMul kernel (XNNPACK), permute to the output order;
//  - otherwise (int32, empty dims, no BatchMatMul): a direct loop over all labels.
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedOpError } from '../errors/index.js';
import {
  asWasmBackend,
  callWasmKernel,
  computeStrides,
  isIdentity,
  makeOutputFrom,
  permuteInto,
  readValues,
  sizeOf,
  type WasmBackendLike,
} from './wasm_util.js';

interface Parsed {
  numDims: number;
  numOut: number;
  idDims: number[][];
  sizes: number[];
}

function parse(equation: string, tensors: tf.TensorInfo[]): Parsed {
  const { allDims, summedDims, idDims } = tf.backend_util.decodeEinsumEquation(equation, tensors.length);
  tf.backend_util.checkEinsumDimSizes(allDims.length, idDims, tensors as unknown as tf.Tensor[]);
  const sizes = new Array<number>(allDims.length).fill(1);
  idDims.forEach((ids, t) => ids.forEach((d, j) => (sizes[d] = tensors[t].shape[j])));
  return { numDims: allDims.length, numOut: allDims.length - summedDims.length, idDims, sizes };
}

/**
 * Sum `x` (whose axes are labels `xDims`) over the labels not in `target`, and lay the
 * result out in `target` order. Every label of `target` must be in `xDims`.
 */
function reducePermute(
  x: ArrayLike<number>,
  xDims: readonly number[],
  sizes: readonly number[],
  target: readonly number[],
  out: { [i: number]: number; length: number },
): void {
  const xShape = xDims.map((d) => sizes[d]);
  if (target.length === xDims.length) {
    permuteInto(
      x,
      xShape,
      target.map((d) => xDims.indexOf(d)),
      out,
    );
    return;
  }
  // general: walk x once, accumulate into out at the target offset
  const tStrides = computeStrides(target.map((d) => sizes[d]));
  const outStrideOfXAxis = xDims.map((d) => {
    const k = target.indexOf(d);
    return k < 0 ? 0 : tStrides[k];
  });
  const acc = new Float64Array(out.length);
  const rank = xDims.length;
  const n = x.length;
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  for (let i = 0; i < n; i++) {
    acc[o] += x[i];
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]++;
      o += outStrideOfXAxis[ax];
      if (idx[ax] < xShape[ax]) break;
      o -= outStrideOfXAxis[ax] * xShape[ax];
      idx[ax] = 0;
    }
  }
  for (let i = 0; i < acc.length; i++) out[i] = acc[i];
}

/** out[o] = Σ over summed labels of Π_t x_t[…]: a direct loop over all labels. */
function directLoop(p: Parsed, vals: ArrayLike<number>[], out: { [i: number]: number; length: number }): void {
  const { numDims, numOut, idDims, sizes } = p;
  const outSize = sizeOf(sizes.slice(0, numOut));
  const sumSize = sizeOf(sizes.slice(numOut));
  // per-tensor stride of each label (0 when the tensor lacks it)
  const st = idDims.map((ids) => {
    const s = new Array<number>(numDims).fill(0);
    const ts = computeStrides(ids.map((d) => sizes[d]));
    ids.forEach((d, j) => (s[d] = ts[j]));
    return s;
  });
  const nT = vals.length;
  const idx = new Array<number>(numDims).fill(0);
  const off = new Array<number>(nT).fill(0);
  for (let o = 0; o < outSize; o++) {
    let s = 0;
    for (let k = 0; k < sumSize; k++) {
      let prod = vals[0][off[0]];
      for (let t = 1; t < nT; t++) prod *= vals[t][off[t]];
      s += prod;
      // odometer over all labels, innermost = last label
      for (let ax = numDims - 1; ax >= 0; ax--) {
        idx[ax]++;
        for (let t = 0; t < nT; t++) off[t] += st[t][ax];
        if (idx[ax] < sizes[ax]) break;
        for (let t = 0; t < nT; t++) off[t] -= st[t][ax] * sizes[ax];
        idx[ax] = 0;
      }
    }
    out[o] = s;
  }
}

function viaMatMul(backend: WasmBackendLike, p: Parsed, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | null {
  const { numDims, numOut, idDims, sizes } = p;
  const [dA, dB] = idDims;
  const inOut = (d: number) => d < numOut;
  const outOrder = Array.from({ length: numOut }, (_, i) => i);
  const batch = outOrder.filter((d) => dA.includes(d) && dB.includes(d));
  const freeA = outOrder.filter((d) => dA.includes(d) && !dB.includes(d));
  const freeB = outOrder.filter((d) => !dA.includes(d) && dB.includes(d));
  const contr = dA.filter((d) => dB.includes(d) && !inOut(d));
  const size = (ds: number[]) => sizeOf(ds.map((d) => sizes[d]));
  const [Bt, M, K, N] = [size(batch), size(freeA), size(contr), size(freeB)];
  if (Bt * M * K * N === 0 || numDims === 0) return null;

  const layout = (t: tf.TensorInfo, dims: number[], target: number[], shape3: number[]): tf.TensorInfo => {
    if (t.dtype === 'float32' && dims.length === target.length && dims.every((d, i) => d === target[i])) {
      backend.incRef(t.dataId);
      return { dataId: t.dataId, shape: shape3, dtype: 'float32' };
    }
    const o = backend.makeOutput(shape3, 'float32');
    // read before taking the heap view: readSync copies, and allocation may grow memory
    const v = readValues(backend, t);
    reducePermute(v, dims, sizes, target, backend.typedArrayFromHeap(o));
    return o;
  };
  const a3 = layout(a, dA, [...batch, ...freeA, ...contr], [Bt, M, K]);
  const b3 = layout(b, dB, [...batch, ...contr, ...freeB], [Bt, K, N]);
  const res = callWasmKernel('BatchMatMul', backend, { a: a3, b: b3 }, { transposeA: false, transposeB: false });
  backend.disposeData(a3.dataId);
  backend.disposeData(b3.dataId);
  if (res == null) return null;
  const outShape = outOrder.map((d) => sizes[d]);
  const resDims = [...batch, ...freeA, ...freeB];
  const perm = outOrder.map((d) => resDims.indexOf(d));
  if (isIdentity(perm)) return { dataId: res.dataId, shape: outShape, dtype: 'float32' };
  const rv = readValues(backend, res);
  backend.disposeData(res.dataId);
  const out = backend.makeOutput(outShape, 'float32');
  permuteInto(
    rv,
    resDims.map((d) => sizes[d]),
    perm,
    backend.typedArrayFromHeap(out),
  );
  return out;
}

export const einsumConfig: tf.KernelConfig = {
  kernelName: tf.Einsum,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: bk, attrs }) => {
    const backend = asWasmBackend(bk, 'Einsum');
    const { equation } = attrs as unknown as tf.EinsumAttrs;
    const tensors = (Array.isArray(inputs) ? inputs : Object.values(inputs)) as tf.TensorInfo[];
    for (const t of tensors)
      if (t.dtype !== 'float32' && t.dtype !== 'int32')
        throw new UnsupportedOpError('Einsum', 'wasm', `supports float32 and int32 tensors, got ${t.dtype}`);
    const p = parse(equation, tensors);
    const outShape = p.sizes.slice(0, p.numOut);
    const dtype = tensors.every((t) => t.dtype === 'int32') ? 'int32' : 'float32';

    if (tensors.length === 2 && dtype === 'float32') {
      const r = viaMatMul(backend, p, tensors[0], tensors[1]);
      if (r != null) return r;
    }
    const vals = tensors.map((t) => readValues(backend, t));
    const acc = dtype === 'int32' ? new Int32Array(sizeOf(outShape)) : new Float64Array(sizeOf(outShape));
    if (tensors.length === 1)
      reducePermute(
        vals[0],
        p.idDims[0],
        p.sizes,
        Array.from({ length: p.numOut }, (_, i) => i),
        acc,
      );
    else directLoop(p, vals, acc);
    return makeOutputFrom(backend, outShape, dtype, acc);
  },
};
