// tfjs-backend-webgpu 4.22 fixes — WRAPPERS of webgpu's own kernels (the cases they handle unchanged).
//
// AddN with more inputs than the device binds (maxStorageBuffersPerShaderStage − 1, 7 on
// SwiftShader): the pipeline fails validation, the error is only logged, and the output buffer
// holds whatever was there — a wrong sum, silently (EWC/SI penalties over many tensors, GHN
// training losses, gradient norms). Wrapped to sum in chunks the device can bind.
//
// Rank ≥ 5:
// Measured on Dawn/SwiftShader (webgpu.test.ts in this package): several webgpu shaders index a
// rank-5 coordinate, which WGSL cannot do ("cannot index type 'vec5'"); the pipeline fails to
// compile, an uncaptured device error is logged and the op returns GARBAGE silently:
//   PadV2 (the gradient of every Slice: GHN decoders slice 5-D kernels), MirrorPad.
// Others fail loudly but untyped or through a sync read:
//   Tile (reads GPU data with readSync → `ReferenceError: OffscreenCanvas is not defined`;
//   tf.broadcastTo goes through it), Reverse (a shape error), Cumsum/Cumprod and Select
//   ("for rank 5 is not yet supported").
// Kernels that read their input synchronously when it is on the GPU (index tensors of
// NonMaxSuppression, SparseSegment*, SparseToDense, StringNGrams) throw `ReferenceError:
// OffscreenCanvas is not defined` in Node: rethrown as UnsupportedOpError naming the kernel.
//
// Each rank-5 op above acts along one axis at a time (or elementwise), so the wrapper runs webgpu's
// own kernel on rank-3 views [Π dims before, dim, Π dims after] (Reshape is free on webgpu),
// axis after axis. StridedSlice with strides ≠ 1 at rank ≥ 5 has no such split here: it throws
// UnsupportedOpError (simple slices go to Slice, which works).
import * as tf from '@tensorflow/tfjs-core';
import { UnsupportedOpError } from '../errors/index.js';

type Info = tf.TensorInfo;
type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFn = (args: Args) => Info | Info[];

const BACKEND = 'webgpu';
const WRAPPED = Symbol('hypernets.webgpu-fixes');
const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

function kernel(name: string): KernelFn {
  const k = tf.getKernel(name, BACKEND);
  // invariant: the fixes are installed after tfjs-backend-webgpu registered its kernels (a bug here, not bad input).
  if (!k) throw new Error(`tfjs-backend-webgpu has no ${name} kernel`);
  return k.kernelFunc as unknown as KernelFn;
}

const dispose = (backend: tf.KernelBackend, t: Info) => backend.disposeData(t.dataId);

function reshape(backend: tf.KernelBackend, x: Info, shape: number[]): Info {
  return kernel('Reshape')({ inputs: { x }, backend, attrs: { shape } }) as Info;
}

/**
 * Applies `step` to the rank-3 view [Π shape[<a], shape[a], Π shape[>a]] of x for each axis a in
 * `axes` in turn; `step` returns [pre, d', post] (d' the axis' new length).
 */
function alongAxes(
  x: Info,
  backend: tf.KernelBackend,
  axes: readonly number[],
  step: (x3: Info, axis: number) => Info,
): Info {
  let cur = x;
  const shape = [...x.shape];
  for (const a of axes) {
    const x3 = reshape(backend, cur, [prod(shape.slice(0, a)), shape[a]!, prod(shape.slice(a + 1))]);
    const y3 = step(x3, a);
    dispose(backend, x3);
    shape[a] = y3.shape[1]!;
    const next = reshape(backend, y3, [...shape]);
    dispose(backend, y3);
    if (cur !== x) dispose(backend, cur);
    cur = next;
  }
  return cur === x ? (kernel('Identity')({ inputs: { x }, backend }) as Info) : cur;
}

const padLike =
  (own: KernelFn): KernelFn =>
  (args) => {
    const x = args.inputs.x as Info;
    if (x.shape.length <= 4) return own(args);
    const paddings = args.attrs!.paddings as [number, number][];
    const axes = paddings.map((p, a) => (p[0] || p[1] ? a : -1)).filter((a) => a >= 0);
    return alongAxes(
      x,
      args.backend,
      axes,
      (x3, a) =>
        own({ ...args, inputs: { x: x3 }, attrs: { ...args.attrs, paddings: [[0, 0], paddings[a]!, [0, 0]] } }) as Info,
    );
  };

const tile =
  (own: KernelFn): KernelFn =>
  (args) => {
    const x = args.inputs.x as Info;
    if (x.shape.length <= 4) return own(args);
    const reps = args.attrs!.reps as number[];
    const axes = reps.map((r, a) => (r !== 1 ? a : -1)).filter((a) => a >= 0);
    return alongAxes(
      x,
      args.backend,
      axes,
      (x3, a) => own({ ...args, inputs: { x: x3 }, attrs: { reps: [1, reps[a]!, 1] } }) as Info,
    );
  };

const reverse =
  (own: KernelFn): KernelFn =>
  (args) => {
    const x = args.inputs.x as Info;
    if (x.shape.length <= 4) return own(args);
    const dims = args.attrs!.dims as number | number[];
    const axes = [
      ...new Set((Array.isArray(dims) ? dims : [dims]).map((d) => (d < 0 ? d + x.shape.length : d))),
    ].filter((a) => x.shape[a]! > 1);
    return alongAxes(x, args.backend, axes, (x3) => own({ ...args, inputs: { x: x3 }, attrs: { dims: [1] } }) as Info);
  };

const cumulative =
  (own: KernelFn): KernelFn =>
  (args) => {
    const x = args.inputs.x as Info;
    if (x.shape.length <= 4) return own(args);
    const axis = args.attrs!.axis as number;
    const a = axis < 0 ? axis + x.shape.length : axis;
    return alongAxes(
      x,
      args.backend,
      [a],
      (x3) => own({ ...args, inputs: { x: x3 }, attrs: { ...args.attrs, axis: 1 } }) as Info,
    );
  };

const select =
  (own: KernelFn): KernelFn =>
  (args) => {
    const { condition, t, e } = args.inputs as { condition: Info; t: Info; e: Info };
    if (t.shape.length <= 4) return own(args);
    const { backend } = args;
    // Select's inputs share one shape (a lower-rank condition selects rows): flatten after its rank.
    const rows = prod(condition.shape);
    const flat = [rows, prod(t.shape) / rows];
    const c = reshape(backend, condition, [rows]);
    const t2 = reshape(backend, t, flat);
    const e2 = reshape(backend, e, flat);
    const y = own({ ...args, inputs: { condition: c, t: t2, e: e2 } }) as Info;
    [c, t2, e2].forEach((i) => dispose(backend, i));
    const out = reshape(backend, y, [...t.shape]);
    dispose(backend, y);
    return out;
  };

const stridedSlice =
  (own: KernelFn): KernelFn =>
  (args) => {
    const x = args.inputs.x as Info;
    if (x.shape.length <= 4) return own(args);
    const a = args.attrs as Record<string, unknown>;
    const info = tf.slice_util.sliceInfo(
      x.shape,
      a.begin as number[],
      a.end as number[],
      a.strides as number[],
      a.beginMask as number,
      a.endMask as number,
      a.ellipsisMask as number,
      a.newAxisMask as number,
      a.shrinkAxisMask as number,
    );
    if (info.isIdentity || info.isSimpleSlice) return own(args);
    throw new UnsupportedOpError(
      'StridedSlice',
      BACKEND,
      `strides ≠ 1 on a rank-${x.shape.length} tensor [${x.shape.join(', ')}] ` +
        '(tfjs-backend-webgpu 4.22 compiles no shader for rank ≥ 5): reshape to rank ≤ 4 first, or use tf.slice',
    );
  };

/** Inputs one webgpu program may bind besides its output. */
function maxInputs(backend: tf.KernelBackend): number {
  const n = (backend as unknown as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device
    ?.limits?.maxStorageBuffersPerShaderStage;
  return typeof n === 'number' && n > 2 ? n - 1 : 7;
}

const addN =
  (own: KernelFn): KernelFn =>
  (args) => {
    const limit = maxInputs(args.backend);
    let level = args.inputs as unknown as Info[];
    if (level.length <= limit) return own(args);
    const partials: Info[] = [];
    while (level.length > limit) {
      const next: Info[] = [];
      for (let i = 0; i < level.length; i += limit) {
        const chunk = level.slice(i, i + limit);
        if (chunk.length === 1) next.push(chunk[0]!);
        else {
          const part = own({ ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap }) as Info;
          partials.push(part);
          next.push(part);
        }
      }
      level = next;
    }
    const out = own({ ...args, inputs: level as unknown as tf.NamedTensorInfoMap }) as Info;
    for (const p of partials) dispose(args.backend, p);
    return out;
  };

const noSyncRead =
  (name: string) =>
  (own: KernelFn): KernelFn =>
  (args) => {
    try {
      return own(args);
    } catch (e) {
      if (e instanceof ReferenceError && /OffscreenCanvas/.test(e.message))
        throw new UnsupportedOpError(
          name,
          BACKEND,
          'it reads its inputs synchronously, which WebGPU in Node cannot do for tensors on the GPU: ' +
            'run it on cpu or wasm, or pass inputs made from host arrays',
          { cause: e },
        );
      throw e;
    }
  };

const SYNC_READING = [
  'NonMaxSuppressionV3',
  'NonMaxSuppressionV5',
  'SparseSegmentMean',
  'SparseSegmentSum',
  'SparseToDense',
  'StringNGrams',
];

const WRAPPERS: Record<string, (own: KernelFn) => KernelFn> = {
  ...Object.fromEntries(SYNC_READING.map((k) => [k, noSyncRead(k)])),
  AddN: addN,
  PadV2: padLike,
  MirrorPad: padLike,
  Tile: tile,
  Reverse: reverse,
  Cumsum: cumulative,
  Cumprod: cumulative,
  Select: select,
  StridedSlice: stridedSlice,
};

/** Kernel names `registerWebgpuKernelFixes` wraps. */
export const WEBGPU_FIXED_KERNELS: readonly string[] = Object.keys(WRAPPERS);

/**
 * Wraps webgpu's kernels above so that many-input AddN and rank ≥ 5 inputs run correctly (or
 * throw a typed error) instead of returning garbage. Idempotent; call after importing
 * @tensorflow/tfjs-backend-webgpu. Returns the kernels it wrapped this call.
 */
export function registerWebgpuKernelFixes(): string[] {
  const done: string[] = [];
  for (const [name, wrap] of Object.entries(WRAPPERS)) {
    const own = tf.getKernel(name, BACKEND);
    if (!own || (own.kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED]) continue;
    const kernelFunc = wrap(own.kernelFunc as unknown as KernelFn);
    (kernelFunc as unknown as Record<symbol, unknown>)[WRAPPED] = true;
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ ...own, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    done.push(name);
  }
  return done;
}
