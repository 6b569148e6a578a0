import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  ShapeMismatchError,
  avgPoolTorch,
  batchNorm,
  checkWeights,
  conv2d,
  depthwiseConv2dTorch,
  globalAvgPool,
  linear,
  maxPoolPadded,
  paramSpec,
  type ForwardOptions,
  type ParamSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { batchNormSpecs, checkPositiveInt, convGeometry, convSpecs, denseSpecs } from '@hypernets/core/internal';
import type { DescribesGraph } from '../describe.js';
import { GraphBuilder, type ArchGraph, type BuildOptions } from '../graph.js';

/**
 * The operations of a cell edge (DARTS's names, ppuda/deepnets1m/ops.py):
 * - `conv_kxk`: ReLU → conv k×k → BN (ReLUConvBN)
 * - `sep_conv_kxk`: (ReLU → depthwise k×k → pointwise 1×1 → BN) × 2 (SepConv; only the first
 *   depthwise conv strides)
 * - `dil_conv_kxk`: ReLU → depthwise k×k with dilation 2 → pointwise 1×1 → BN (DilConv)
 * - `max_pool_3x3`, `avg_pool_3x3`: padding 1 (average without the padding)
 * - `skip_connect`: identity, or in a reduction cell FactorizedReduce (ReLU → two 1×1 convs with
 *   stride 2, the second on the input shifted by one pixel → concat → BN)
 */
export const CELL_OPS = [
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'conv_3x3',
  'conv_5x5',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;

export type CellOp = (typeof CELL_OPS)[number];

/** One input of an intermediate node: the op on the edge and the state it reads (0, 1: the cell inputs; 2…: earlier nodes). */
export type CellEdge = readonly [CellOp, number];

/**
 * A DARTS genotype (ppuda's Genotype): intermediate node i (state i + 2) sums the two edges
 * at positions 2i and 2i + 1 of `normal` (`reduce` in reduction cells); the cell outputs the
 * channel concatenation of the states in `normalConcat` (`reduceConcat`).
 */
export interface Genotype {
  readonly normal: readonly CellEdge[];
  readonly normalConcat: readonly number[];
  readonly reduce: readonly CellEdge[];
  readonly reduceConcat: readonly number[];
}

export interface CellNetConfig {
  genotype: Genotype;
  /** Number of cells; reduction cells sit at ⌊cells/3⌋ and ⌊2·cells/3⌋ (when > 0). */
  cells: number;
  /** Channels of the first cells' states (C); doubled by every reduction cell. Even. */
  channels: number;
  /** [H, W, C] of the input. Default [28, 28, 1]. Every reduction (and the stem pool) maps a size n to ⌈n/2⌉. */
  inputShape?: readonly [number, number, number];
  /** Default 10. */
  numClasses?: number;
  /** Output channels of the stem conv. Default 3·channels (DARTS/ppuda's CIFAR stem). */
  stemChannels?: number;
  /** Square kernel of the stem conv. Odd. Default 3. */
  stemKernel?: number;
  /** Stride of the stem conv (ppuda: 1 for CIFAR, 4 for ImageNet). Default 1. */
  stemStride?: number;
  /** Max pool 3×3 / stride 2 / padding 1 after the stem (ppuda's stem_pool). Default false. */
  stemPool?: boolean;
  /** Batch norm after every conv block (false: DeepNets-1M's BN-free nets). Default true. */
  bn?: boolean;
  /** Default 1e-5. */
  bnEps?: number;
  /** Default 'cellnet'. */
  name?: string;
}

export type ResolvedCellNetConfig = Readonly<Required<CellNetConfig>>;

/** What a CellNet is run by: the forward pass (tensors), the graph (node indices) or the shape walk. */
interface Exec<T> {
  conv(h: T, name: string, k: number, cin: number, cout: number, stride: number, pad: number): T;
  depthwise(h: T, name: string, k: number, c: number, stride: number, pad: number, dilation: number): T;
  bn(h: T, name: string, c: number): T;
  relu(h: T): T;
  pool(h: T, type: 'max' | 'avg', size: number, stride: number, pad: number): T;
  /** x[:, 1:, 1:, :] padded with one zero row and column at the end (FactorizedReduce's second branch; see shift()). */
  shift(h: T): T;
  sum(a: T, b: T): T;
  concat(xs: T[]): T;
  globalAvg(h: T): T;
  linear(h: T, name: string, cin: number, cout: number): T;
}

interface CellPlan {
  readonly index: number;
  readonly reduction: boolean;
  readonly reductionPrev: boolean;
  /** Channels of the two inputs (C_prev_prev, C_prev) and of the cell's states (C_curr). */
  readonly cPrevPrev: number;
  readonly cPrev: number;
  readonly c: number;
  readonly edges: readonly CellEdge[];
  readonly concat: readonly number[];
}

/**
 * FactorizedReduce's shifted branch: PyTorch's x[:, :, 1:, 1:], padded at the end with one zero
 * row and column. A 1×1 stride-2 conv never reads that padding on even sizes (the same result
 * as PyTorch's), and on odd sizes it makes the branch ⌈n/2⌉ like the other (where PyTorch's
 * module fails on the concat).
 */
function shift(x: tf.Tensor): tf.Tensor {
  return tf.pad(tf.slice(x, [0, 1, 1, 0], [-1, -1, -1, -1]), [
    [0, 0],
    [0, 1],
    [0, 1],
    [0, 0],
  ]);
}

function parseOp(op: CellOp): { kind: 'max_pool' | 'avg_pool' | 'skip' | 'conv' | 'sep_conv' | 'dil_conv'; k: number } {
  if (op === 'skip_connect') return { kind: 'skip', k: 1 };
  const m = /^(max_pool|avg_pool|conv|sep_conv|dil_conv)_(\d+)x\d+$/.exec(op)!;
  return { kind: m[1] as 'conv', k: Number(m[2]) };
}

/** The reduction cells of a `cells`-cell net (ppuda: ⌊n/3⌋ and ⌊2n/3⌋ when > 0). */
export function reductionCells(cells: number): number[] {
  return [...new Set([Math.floor(cells / 3), Math.floor((2 * cells) / 3)])].filter((i) => i > 0);
}

function checkCell(field: string, edges: readonly CellEdge[], concatField: string, concat: readonly number[]): void {
  if (!Array.isArray(edges) || edges.length < 2 || edges.length % 2 !== 0)
    throw new ConfigError(
      field,
      `must list two edges per intermediate node (an even, non-zero count of [op, input] pairs), got ${JSON.stringify(edges)}`,
    );
  const steps = edges.length / 2;
  const used = new Set<number>();
  edges.forEach((e, j) => {
    const node = Math.floor(j / 2);
    if (!Array.isArray(e) || e.length !== 2)
      throw new ConfigError(`${field}[${j}]`, `must be [op, input], got ${JSON.stringify(e)}`);
    const [op, idx] = e;
    if (!(CELL_OPS as readonly string[]).includes(op))
      throw new ConfigError(`${field}[${j}]`, `unknown op ${JSON.stringify(op)}; use one of ${CELL_OPS.join(', ')}`);
    if (!Number.isInteger(idx) || idx < 0 || idx >= node + 2)
      throw new ConfigError(
        `${field}[${j}]`,
        `node ${node + 2} can read states 0…${node + 1} (the two cell inputs and earlier nodes), got ${JSON.stringify(idx)}`,
      );
    used.add(idx);
  });
  for (let i = 0; i < steps; i++)
    if (edges[2 * i]![1] === edges[2 * i + 1]![1])
      throw new ConfigError(
        `${field}[${2 * i + 1}]`,
        `node ${i + 2} reads state ${edges[2 * i]![1]} twice; its two edges must come from different states (as in DARTS)`,
      );
  if (!Array.isArray(concat) || concat.length === 0)
    throw new ConfigError(concatField, `must list the states the cell outputs, got ${JSON.stringify(concat)}`);
  concat.forEach((s, j) => {
    if (!Number.isInteger(s) || s < 2 || s >= steps + 2)
      throw new ConfigError(
        `${concatField}[${j}]`,
        `must be an intermediate node 2…${steps + 1}, got ${JSON.stringify(s)}`,
      );
    used.add(s);
  });
  if (new Set(concat).size !== concat.length)
    throw new ConfigError(concatField, `lists a state twice: ${JSON.stringify(concat)}`);
  for (let s = 0; s < steps + 2; s++)
    if (!used.has(s))
      throw new ConfigError(
        s < 2 ? field : concatField,
        s < 2
          ? `cell input ${s} is read by no edge: its preprocessing layer would not reach the output`
          : `node ${s} is read by no later node and is not in ${concatField}: its layers would not reach the output`,
      );
}

/**
 * A DARTS / DeepNets-1M network (Liu et al. 2019; Knyazev et al. 2021, ppuda/deepnets1m/net.py
 * with stem_type 0, preproc, C_mult 2, one classifier layer, global pooling): a stem conv + BN,
 * `cells` cells — each reading the outputs of the two previous cells through 1×1
 * ReLU-conv-BN preprocessing (FactorizedReduce after a reduction), summing two op outputs per
 * intermediate node and concatenating the chosen nodes — then global average pooling and a
 * linear classifier.
 *
 * Parameters carry ppuda's names in `named_parameters()` order (`stem.0.weight`, `stem.1.*`,
 * `cells.{k}.preprocess{0,1}.op.1.weight`, `cells.{k}._ops.{j}.op.{i}.weight`,
 * `cells.{k}._ops.{j}.conv_1.weight`, …) except the classifier: `classifier.weight` [in, out],
 * `classifier.bias` (ppuda: `classifier.0.*`). Layouts are tfjs's: conv [kh, kw, cin, cout],
 * depthwise [kh, kw, C, 1], dense [in, out].
 *
 * Batch norm always normalises with the batch's statistics and keeps no running estimates
 * (`options.training` changes nothing): GHNs evaluate the parameters they predict that way,
 * as ppuda does. Weights are shared across the batch (no per-sample weights).
 *
 * Ops follow PyTorch's padding and pooling conventions; with ppuda's GHN-2 weights the
 * forward matches ppuda's Network to ~1e-5 (cellnet.test.ts). Beyond ppuda: odd feature sizes
 * (28×28 inputs with a stem stride or pool reach 7×7 before the second reduction), where
 * FactorizedReduce pads its shifted branch (see shift()) instead of failing.
 */
export class CellNet implements TargetNet, DescribesGraph {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly config: ResolvedCellNetConfig;
  private readonly plan: readonly CellPlan[];

  constructor(config: CellNetConfig) {
    if (config === null || typeof config !== 'object')
      throw new ConfigError('config', 'a CellNet needs a config object { genotype, cells, channels, … }');
    const g = config.genotype;
    if (g === null || typeof g !== 'object')
      throw new ConfigError('genotype', 'must be { normal, normalConcat, reduce, reduceConcat }');
    const cells = checkPositiveInt('cells', config.cells);
    const channels = checkPositiveInt('channels', config.channels);
    if (channels % 2 !== 0)
      throw new ConfigError(
        'channels',
        `must be even (FactorizedReduce splits the channels in two halves), got ${channels}`,
      );
    const inputShape = config.inputShape ?? [28, 28, 1];
    if (!Array.isArray(inputShape) || inputShape.length !== 3)
      throw new ConfigError('inputShape', `must be [H, W, C], got ${JSON.stringify(inputShape)}`);
    inputShape.forEach((d, i) => checkPositiveInt(`inputShape[${i}]`, d));
    const numClasses = checkPositiveInt('numClasses', config.numClasses ?? 10);
    const stemChannels = checkPositiveInt('stemChannels', config.stemChannels ?? 3 * channels);
    const stemKernel = checkPositiveInt('stemKernel', config.stemKernel ?? 3);
    if (stemKernel % 2 !== 1)
      throw new ConfigError('stemKernel', `must be odd (padding k // 2 keeps the size), got ${stemKernel}`);
    const bn = config.bn ?? true;
    if (typeof bn !== 'boolean') throw new ConfigError('bn', `must be a boolean, got ${JSON.stringify(bn)}`);
    const stemStride = checkPositiveInt('stemStride', config.stemStride ?? 1);
    const stemPool = config.stemPool ?? false;
    if (typeof stemPool !== 'boolean')
      throw new ConfigError('stemPool', `must be a boolean, got ${JSON.stringify(stemPool)}`);
    const bnEps = config.bnEps ?? 1e-5;
    if (!(typeof bnEps === 'number' && bnEps > 0))
      throw new ConfigError('bnEps', `must be positive, got ${JSON.stringify(bnEps)}`);
    const name = config.name ?? 'cellnet';
    if (typeof name !== 'string' || name.length === 0)
      throw new ConfigError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
    const reductions = reductionCells(cells);
    if (cells > reductions.length) checkCell('genotype.normal', g.normal, 'genotype.normalConcat', g.normalConcat);
    if (reductions.length > 0) checkCell('genotype.reduce', g.reduce, 'genotype.reduceConcat', g.reduceConcat);

    const copyCell = (e: readonly CellEdge[]) => (e ? e.map(([op, i]) => [op, i] as const) : []);
    this.config = Object.freeze({
      genotype: Object.freeze({
        normal: copyCell(g.normal),
        normalConcat: [...(g.normalConcat ?? [])],
        reduce: copyCell(g.reduce),
        reduceConcat: [...(g.reduceConcat ?? [])],
      }),
      cells,
      channels,
      inputShape: [...inputShape] as [number, number, number],
      numClasses,
      stemChannels,
      stemKernel,
      stemStride,
      stemPool,
      bn,
      bnEps,
      name,
    });
    this.name = name;

    // ppuda's Network.__init__ with preproc = True, C_mult = 2
    const plan: CellPlan[] = [];
    let cPrevPrev = stemChannels;
    let cPrev = stemChannels;
    let c = channels;
    let reductionPrev = false;
    for (let k = 0; k < cells; k++) {
      const reduction = reductions.includes(k);
      if (reduction) c *= 2;
      const edges = reduction ? this.config.genotype.reduce : this.config.genotype.normal;
      const concat = reduction ? this.config.genotype.reduceConcat : this.config.genotype.normalConcat;
      plan.push({ index: k, reduction, reductionPrev, cPrevPrev, cPrev, c, edges, concat });
      reductionPrev = reduction;
      cPrevPrev = cPrev;
      cPrev = concat.length * c;
    }
    this.plan = plan;

    // ParamSpecs and shapes from one walk of the forward pass
    const specs: ParamSpec[] = [];
    let layer = 0;
    type S = readonly [number, number, number];
    const same = (a: S, b: S, what: string) => {
      if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2])
        throw new ConfigError('inputShape', `${what}: shapes [${a.join(', ')}] and [${b.join(', ')}] differ`);
    };
    const shapes: Exec<S> = {
      conv: (h, n, k, cin, cout, stride, pad) => {
        const geo = convGeometry(h[0], h[1], k, stride, pad, n);
        specs.push(...convSpecs(n, k, cin, cout, layer++, 'relu', false));
        return [geo.outH, geo.outW, cout];
      },
      depthwise: (h, n, k, ch, stride, pad, dil) => {
        const geo = convGeometry(h[0], h[1], (k - 1) * dil + 1, stride, pad, n);
        specs.push(
          paramSpec({
            name: `${n}.weight`,
            shape: [k, k, ch, 1],
            kind: 'weight',
            layer: layer++,
            fanIn: k * k,
            fanOut: k * k * ch,
            activation: 'linear',
          }),
        );
        return [geo.outH, geo.outW, ch];
      },
      bn: (h, n, ch) => {
        specs.push(...batchNormSpecs(n, ch, layer++));
        return h;
      },
      relu: (h) => h,
      pool: (h, _t, size, stride, pad) => {
        const geo = convGeometry(h[0], h[1], size, stride, pad, 'pool');
        return [geo.outH, geo.outW, h[2]];
      },
      shift: (h) => h,
      sum: (a, b) => (same(a, b, 'sum'), a),
      concat: (xs) => {
        xs.forEach((x) => same([x[0], x[1], 0], [xs[0]![0], xs[0]![1], 0], 'concat'));
        return [xs[0]![0], xs[0]![1], xs.reduce((s, x) => s + x[2], 0)];
      },
      globalAvg: (h) => [1, 1, h[2]],
      linear: (h, n, cin, cout) => {
        specs.push(...denseSpecs(n, cin, cout, layer++, 'linear'));
        return [1, 1, cout];
      },
    };
    this.inputShape = [...inputShape];
    this.outputShape = [numClasses];
    this.run(shapes, inputShape as S);
    this.params = specs;
  }

  /** The network, executed by `ex`: ppuda's Network.forward / Cell.forward, op by op. */
  private run<T>(ex: Exec<T>, x: T): T {
    const { bn, stemChannels: cs, stemKernel: ks, stemStride, stemPool, numClasses } = this.config;
    const norm = (h: T, n: string, c: number) => (bn ? ex.bn(h, n, c) : h);
    const reluConvBn = (h: T, p: string, k: number, cin: number, cout: number, stride: number, pad: number) =>
      norm(ex.conv(ex.relu(h), `${p}.op.1`, k, cin, cout, stride, pad), `${p}.op.2`, cout);
    const factorizedReduce = (h: T, p: string, cin: number, cout: number) => {
      const r = ex.relu(h);
      const a = ex.conv(r, `${p}.conv_1`, 1, cin, cout / 2, 2, 0);
      const b = ex.conv(ex.shift(r), `${p}.conv_2`, 1, cin, cout / 2, 2, 0);
      return norm(ex.concat([a, b]), `${p}.bn`, cout);
    };
    const op = (h: T, name: CellOp, p: string, c: number, stride: number): T => {
      const { kind, k } = parseOp(name);
      switch (kind) {
        case 'skip':
          return stride === 1 ? h : factorizedReduce(h, p, c, c);
        case 'max_pool':
        case 'avg_pool':
          return ex.pool(h, kind === 'max_pool' ? 'max' : 'avg', k, stride, k >> 1);
        case 'conv':
          return reluConvBn(h, p, k, c, c, stride, k >> 1);
        case 'sep_conv': {
          let y = ex.depthwise(ex.relu(h), `${p}.op.1`, k, c, stride, k >> 1, 1);
          y = norm(ex.conv(y, `${p}.op.2`, 1, c, c, 1, 0), `${p}.op.3`, c);
          y = ex.depthwise(ex.relu(y), `${p}.op.5`, k, c, 1, k >> 1, 1);
          return norm(ex.conv(y, `${p}.op.6`, 1, c, c, 1, 0), `${p}.op.7`, c);
        }
        case 'dil_conv': {
          const y = ex.depthwise(ex.relu(h), `${p}.op.1`, k, c, stride, k - (k % 2), 2);
          return norm(ex.conv(y, `${p}.op.2`, 1, c, c, 1, 0), `${p}.op.3`, c);
        }
      }
    };
    let stem = norm(ex.conv(x, 'stem.0', ks, this.inputShape[2]!, cs, stemStride, ks >> 1), 'stem.1', cs);
    if (stemPool) stem = ex.pool(stem, 'max', 3, 2, 1);
    let s0 = stem;
    let s1 = stem;
    let cOut = cs;
    for (const cell of this.plan) {
      const p = `cells.${cell.index}`;
      const pre0 = cell.reductionPrev
        ? factorizedReduce(s0, `${p}.preprocess0`, cell.cPrevPrev, cell.c)
        : reluConvBn(s0, `${p}.preprocess0`, 1, cell.cPrevPrev, cell.c, 1, 0);
      const pre1 = reluConvBn(s1, `${p}.preprocess1`, 1, cell.cPrev, cell.c, 1, 0);
      const states = [pre0, pre1];
      for (let i = 0; i < cell.edges.length / 2; i++) {
        const [h1, h2] = [0, 1].map((j) => {
          const [name, from] = cell.edges[2 * i + j]!;
          return op(states[from]!, name, `${p}._ops.${2 * i + j}`, cell.c, cell.reduction && from < 2 ? 2 : 1);
        });
        states.push(ex.sum(h1!, h2!));
      }
      [s0, s1] = [s1, ex.concat(cell.concat.map((i) => states[i]!))];
      cOut = cell.concat.length * cell.c;
    }
    return ex.linear(ex.globalAvg(s1), 'classifier', cOut, numClasses);
  }

  forward(x: tf.Tensor, weights: Weights, _options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name);
    if (batch !== null)
      throw new ConfigError(
        'weights',
        `${this.name} takes one weight set for the whole batch; got per-sample weights ` +
          `(a leading batch dimension of ${batch}): run the samples' weight sets one at a time`,
      );
    const [h0, w0, c0] = this.inputShape as [number, number, number];
    if (x.rank !== 4 || x.shape[1] !== h0 || x.shape[2] !== w0 || x.shape[3] !== c0)
      throw new ShapeMismatchError(
        `${this.name} input`,
        [x.shape[0] ?? -1, h0, w0, c0],
        x.shape,
        'pass NHWC images [N, H, W, C]',
      );
    const eps = this.config.bnEps;
    const w = (n: string) => weights[n]!;
    return tf.tidy(() =>
      this.run<tf.Tensor>(
        {
          conv: (h, n, _k, _ci, _co, stride, pad) => conv2d(h, w(`${n}.weight`), undefined, { stride, padding: pad }),
          depthwise: (h, n, _k, _c, stride, pad, dilation) =>
            depthwiseConv2dTorch(h, w(`${n}.weight`), { stride, padding: pad, dilation }),
          bn: (h, n) =>
            batchNorm(h, w(`${n}.weight`), w(`${n}.bias`), { training: true, perSample: false, eps, name: n }),
          relu: (h) => tf.relu(h),
          pool: (h, type, size, stride, pad) =>
            type === 'max' ? maxPoolPadded(h, size, stride, pad) : avgPoolTorch(h, size, stride, pad),
          shift: (h) => shift(h),
          sum: (a, b) => tf.add(a, b),
          concat: (xs) => (xs.length === 1 ? xs[0]! : tf.concat(xs, 3)),
          globalAvg: (h) => globalAvgPool(h),
          linear: (h, n) => linear(h, w(`${n}.weight`), w(`${n}.bias`)),
        },
        x,
      ),
    );
  }

  /**
   * The graph ppuda traces from the equivalent PyTorch Network (deepnets1m/graph.py): convs
   * 'conv' (pointwise and classifier included), depthwise convs 'sep_conv' or, dilated,
   * 'dil_conv', BN one node, pools, 'sum' / 'concat' only with more than one distinct input,
   * 'glob_avg', the classifier weight → 'bias'; ReLUs, shifts and identities are not nodes.
   */
  archGraph(options?: BuildOptions): ArchGraph {
    const g = new GraphBuilder(this.name, this.params);
    const out = this.run<number>(
      {
        conv: (h, n) => g.layer('conv', `${n}.weight`, [h]),
        depthwise: (h, n, _k, _c, _s, _p, dilation) =>
          g.layer(dilation > 1 ? 'dil_conv' : 'sep_conv', `${n}.weight`, [h], null, { depthwise: true }),
        bn: (h, n) => g.norm('bn', `${n}.weight`, `${n}.bias`, [h]),
        relu: (h) => h,
        pool: (h, type, size) => g.op(type === 'max' ? 'max_pool' : 'avg_pool', [h], size),
        shift: (h) => h,
        sum: (a, b) => g.op('sum', [a, b]),
        concat: (xs) => g.op('concat', xs),
        globalAvg: (h) => g.op('glob_avg', [h]),
        linear: (h, n) => g.layer('conv', `${n}.weight`, [h], `${n}.bias`),
      },
      g.input(),
    );
    void out;
    return g.build(options);
  }
}
