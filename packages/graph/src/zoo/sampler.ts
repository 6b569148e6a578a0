import { ConfigError, Rng } from '@hypernets/core';
import {
  ARCH_FAMILIES,
  buildArch,
  canonicalCell,
  canonicalKey,
  hash53,
  type ArchFamily,
  type ArchSpec,
  type SampledArch,
} from './arch-spec.js';
import { CELL_OPS, type CellEdge, type CellOp, type Genotype } from './cellnet.js';

export { ARCH_FAMILIES, canonicalKey } from './arch-spec.js';
export type { ArchFamily, ArchSpec, ArchInfo, SampledArch } from './arch-spec.js';

/**
 * Architectures for meta-training GHNs, in the spirit of DeepNets-1M (Knyazev et al. 2021, §4;
 * ppuda/experiments/net_generator.py): mostly DARTS-style CellNets with random genotypes, plus
 * core's MLPs, plain CNNs and CIFAR ResNets, sized for MNIST-like inputs so that a training
 * step on one architecture stays cheap (forward + backward of a 64×28×28×1 batch on one wasm
 * thread: CellNets ~0.2–0.8 s, ResNets ~0.4 s, CNNs < 0.2 s, MLPs a few ms). In-distribution 'train' and 'test' share one
 * distribution and never share an architecture (every architecture falls on one side by a hash
 * of its canonical description); the out-of-distribution splits go past the training ranges:
 * 'wide' (more channels), 'deep' (more layers / cells), 'dense' (more nodes per cell), 'bn-free'.
 */

export type SplitName = 'train' | 'test' | 'wide' | 'deep' | 'dense' | 'bn-free';
export const SPLITS: readonly SplitName[] = ['train', 'test', 'wide', 'deep', 'dense', 'bn-free'];

/** Inclusive [min, max]. */
export type IntRange = readonly [number, number];

export interface ArchSamplerConfig {
  /** [H, W, C] of the images. Default [28, 28, 1] (MNIST); [32, 32, 3] works as well. */
  inputShape?: readonly [number, number, number];
  /** Default 10. */
  numClasses?: number;
  /** Relative frequency of each family (0 leaves it out). Default { cellnet: 0.7, mlp: 0.1, cnn: 0.1, resnet: 0.1 }. */
  families?: Partial<Record<ArchFamily, number>>;
  /** MLP: hidden layers `depth` (default [1, 4]), each of a width in `width` (multiples of 32; default [32, 256]). */
  mlp?: { depth?: IntRange; width?: IntRange };
  /** Plain CNN: `depth` conv layers (default [1, 3]) of `width` filters (multiples of 8; default [8, 32]), 3×3 or 5×5, 2×2 pooling. */
  cnn?: { depth?: IntRange; width?: IntRange };
  /**
   * CIFAR ResNet 6n + 2: `blocks` n per stage (default [1, 2]); first-stage width w in `width`
   * (multiples of 4; default [8, 12]), each later stage 1, 1.5 or 2 times the one before.
   */
  resnet?: { blocks?: IntRange; width?: IntRange };
  /**
   * CellNet: `cells` (default [2, 6]), `channels` C of the first cells (multiples of 4; default
   * [8, 12]: stages of 8–48 channels), `steps` intermediate nodes per cell (default [1, 3]), edge `ops` (default: every
   * op of CELL_OPS but dil_conv_5x5); `stemMultiplier`: stem channels / C (default 3, DARTS's
   * CIFAR stem). The stem halves the resolution (a stride-2 conv or, as ppuda's stem_pool, a
   * max pool, each half of the time), which quarters the cost of every cell.
   */
  cellnet?: {
    cells?: IntRange;
    channels?: IntRange;
    steps?: IntRange;
    ops?: readonly CellOp[];
    stemMultiplier?: number;
  };
  /** Share of the in-distribution architectures that belong to 'test' (by hash). Default 0.1. */
  testFraction?: number;
  /** Virtual edges of the graphs (GraphBuilder's sMax). Default 50 (GHN-2). */
  sMax?: number;
}

/** The ranges one split samples from (IntRange per knob), and the families it draws. */
export interface SplitRanges {
  readonly families: readonly ArchFamily[];
  readonly mlp: { readonly depth: IntRange; readonly width: IntRange };
  readonly cnn: { readonly depth: IntRange; readonly width: IntRange };
  /** `growth`: the factors by which a stage may widen the one before. */
  readonly resnet: { readonly blocks: IntRange; readonly width: IntRange; readonly growth: readonly number[] };
  readonly cellnet: {
    readonly cells: IntRange;
    readonly channels: IntRange;
    readonly steps: IntRange;
    readonly bn: boolean;
  };
}

const WIDTH_STEP = { mlp: 32, cnn: 8, resnet: 4, cellnet: 4 } as const;
const DEFAULT_OPS: readonly CellOp[] = CELL_OPS.filter((o) => o !== 'dil_conv_5x5');
const PARAM_FREE: ReadonlySet<CellOp> = new Set(['max_pool_3x3', 'avg_pool_3x3', 'skip_connect']);
const CNN_DENSE = [32, 64, 128] as const;

function checkRange(field: string, r: unknown, dflt: IntRange, min = 1): IntRange {
  if (r === undefined) return dflt;
  if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => Number.isInteger(v)) || r[0] < min || r[1] < r[0])
    throw new ConfigError(
      field,
      `must be an integer range [min, max] with ${min} ≤ min ≤ max, got ${JSON.stringify(r)}`,
    );
  return [r[0], r[1]];
}

function checkWidthRange(field: string, r: unknown, dflt: IntRange, step: number): IntRange {
  const range = checkRange(field, r, dflt);
  if (range[0] % step !== 0 || range[1] % step !== 0)
    throw new ConfigError(field, `widths are multiples of ${step}: min and max must be too, got ${JSON.stringify(r)}`);
  return range;
}

export class ArchSampler {
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly testFraction: number;
  readonly sMax: number;
  readonly ops: readonly CellOp[];
  readonly stemMultiplier: number;
  private readonly weights: readonly (readonly [ArchFamily, number])[];
  private readonly train: SplitRanges;

  constructor(config: ArchSamplerConfig = {}) {
    if (config === null || typeof config !== 'object')
      throw new ConfigError('config', 'must be an object (or omitted for the defaults)');
    const inputShape = config.inputShape ?? [28, 28, 1];
    if (!Array.isArray(inputShape) || inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0))
      throw new ConfigError('inputShape', `must be [H, W, C] of positive integers, got ${JSON.stringify(inputShape)}`);
    this.inputShape = [inputShape[0], inputShape[1], inputShape[2]];
    const numClasses = config.numClasses ?? 10;
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new ConfigError('numClasses', `must be a positive integer, got ${JSON.stringify(numClasses)}`);
    this.numClasses = numClasses;

    const fam = { cellnet: 0.7, mlp: 0.1, cnn: 0.1, resnet: 0.1, ...(config.families ?? {}) };
    for (const k of Object.keys(fam))
      if (!(ARCH_FAMILIES as readonly string[]).includes(k))
        throw new ConfigError(`families.${k}`, `unknown family; use ${ARCH_FAMILIES.join(', ')}`);
    for (const f of ARCH_FAMILIES)
      if (!(typeof fam[f] === 'number' && fam[f] >= 0 && Number.isFinite(fam[f])))
        throw new ConfigError(`families.${f}`, `must be a non-negative number, got ${JSON.stringify(fam[f])}`);
    this.weights = ARCH_FAMILIES.filter((f) => fam[f] > 0).map((f) => [f, fam[f]] as const);
    if (this.weights.length === 0) throw new ConfigError('families', 'at least one family needs a positive weight');

    const mlpDepth = checkRange('mlp.depth', config.mlp?.depth, [1, 4]);
    const mlpWidth = checkWidthRange('mlp.width', config.mlp?.width, [32, 256], WIDTH_STEP.mlp);
    const cnnDepth = checkRange('cnn.depth', config.cnn?.depth, [1, 3]);
    const cnnWidth = checkWidthRange('cnn.width', config.cnn?.width, [8, 32], WIDTH_STEP.cnn);
    const resBlocks = checkRange('resnet.blocks', config.resnet?.blocks, [1, 2]);
    const resWidth = checkWidthRange('resnet.width', config.resnet?.width, [8, 12], WIDTH_STEP.resnet);
    const cells = checkRange('cellnet.cells', config.cellnet?.cells, [2, 6]);
    const channels = checkWidthRange('cellnet.channels', config.cellnet?.channels, [8, 12], WIDTH_STEP.cellnet);
    const steps = checkRange('cellnet.steps', config.cellnet?.steps, [1, 3]);
    const ops = config.cellnet?.ops ?? DEFAULT_OPS;
    if (!Array.isArray(ops) || ops.length === 0)
      throw new ConfigError('cellnet.ops', `must be a non-empty list of ${CELL_OPS.join(', ')}`);
    ops.forEach((o, i) => {
      if (!(CELL_OPS as readonly string[]).includes(o))
        throw new ConfigError(
          `cellnet.ops[${i}]`,
          `unknown op ${JSON.stringify(o)}; use one of ${CELL_OPS.join(', ')}`,
        );
    });
    if (ops.every((o) => PARAM_FREE.has(o)))
      throw new ConfigError(
        'cellnet.ops',
        'needs at least one op with parameters (a conv, sep_conv or dil_conv), as DeepNets-1M requires',
      );
    this.ops = [...new Set(ops)];
    const stemMultiplier = config.cellnet?.stemMultiplier ?? 3;
    if (!Number.isInteger(stemMultiplier) || stemMultiplier < 1)
      throw new ConfigError(
        'cellnet.stemMultiplier',
        `must be a positive integer, got ${JSON.stringify(stemMultiplier)}`,
      );
    this.stemMultiplier = stemMultiplier;
    const testFraction = config.testFraction ?? 0.1;
    if (!(typeof testFraction === 'number' && testFraction > 0 && testFraction < 1))
      throw new ConfigError('testFraction', `must be in (0, 1), got ${JSON.stringify(testFraction)}`);
    this.testFraction = testFraction;
    const sMax = config.sMax ?? 50;
    if (!Number.isInteger(sMax) || sMax < 1)
      throw new ConfigError('sMax', `must be an integer ≥ 1, got ${JSON.stringify(sMax)}`);
    this.sMax = sMax;
    this.train = {
      families: this.weights.map(([f]) => f),
      mlp: { depth: mlpDepth, width: mlpWidth },
      cnn: { depth: cnnDepth, width: cnnWidth },
      resnet: { blocks: resBlocks, width: resWidth, growth: [1, 1.5, 2] },
      cellnet: { cells, channels, steps, bn: true },
    };
  }

  /**
   * The ranges of a split. 'train' and 'test': the config's. Out of distribution, from the
   * training maxima: 'wide' — widths in [1.5·max, 2·max] (rounded up to the family's width
   * step); 'deep' — depths in [max + 1, 2·max] (MLP hidden layers, CNN convs, ResNet blocks per
   * stage, CellNet cells); 'dense' — CellNets with [max + 1, 2·max] nodes per cell; 'bn-free' —
   * CellNets without batch norm. Every other knob keeps its training range.
   */
  ranges(split: SplitName): SplitRanges {
    const t = this.train;
    const wide = (r: IntRange, step: number): IntRange => [
      Math.max(r[1] + step, Math.ceil((1.5 * r[1]) / step) * step),
      2 * r[1],
    ];
    const deep = (r: IntRange): IntRange => [r[1] + 1, 2 * r[1]];
    switch (split) {
      case 'train':
      case 'test':
        return t;
      case 'wide':
        return {
          ...t,
          mlp: { ...t.mlp, width: wide(t.mlp.width, WIDTH_STEP.mlp) },
          cnn: { ...t.cnn, width: wide(t.cnn.width, WIDTH_STEP.cnn) },
          resnet: { ...t.resnet, width: wide(t.resnet.width, WIDTH_STEP.resnet), growth: [2] },
          cellnet: { ...t.cellnet, channels: wide(t.cellnet.channels, WIDTH_STEP.cellnet) },
        };
      case 'deep':
        return {
          ...t,
          mlp: { ...t.mlp, depth: deep(t.mlp.depth) },
          cnn: { ...t.cnn, depth: deep(t.cnn.depth) },
          resnet: { ...t.resnet, blocks: deep(t.resnet.blocks) },
          cellnet: { ...t.cellnet, cells: deep(t.cellnet.cells) },
        };
      case 'dense':
        return { ...t, families: ['cellnet'], cellnet: { ...t.cellnet, steps: deep(t.cellnet.steps) } };
      case 'bn-free':
        return { ...t, families: ['cellnet'], cellnet: { ...t.cellnet, bn: false } };
      default:
        throw new ConfigError('split', `unknown split ${JSON.stringify(split)}; use one of ${SPLITS.join(', ')}`);
    }
  }

  /** Whether an in-distribution architecture belongs to 'test' (else to 'train'), by a hash of its canonical key. */
  isTestArch(spec: ArchSpec): boolean {
    return hash53(canonicalKey(spec), 0x5eed) % 100000 < Math.round(this.testFraction * 100000);
  }

  /** One architecture of `split` (default 'train'). Same rng state, same architecture. */
  sample(rng: Rng, split: SplitName = 'train'): SampledArch {
    return this.build(this.sampleSpec(rng, split));
  }

  /** A spec of `split`: for 'train' / 'test', only architectures of that side of the hash. */
  sampleSpec(rng: Rng, split: SplitName = 'train'): ArchSpec {
    const r = this.ranges(split);
    for (let attempt = 0; attempt < 10000; attempt++) {
      const spec = this.draw(rng, r);
      if ((split === 'train' && this.isTestArch(spec)) || (split === 'test' && !this.isTestArch(spec))) continue;
      return spec;
    }
    throw new ConfigError(
      'testFraction',
      `no ${split} architecture in 10000 draws: the training ranges hold too few architectures for testFraction ${this.testFraction}`,
    );
  }

  /** `n` distinct architectures of a split, from `seed`. */
  split(name: SplitName, n: number, seed = 0): SampledArch[] {
    if (!Number.isInteger(n) || n < 0)
      throw new ConfigError('n', `must be a non-negative integer, got ${JSON.stringify(n)}`);
    this.ranges(name); // validates the name
    const rng = new Rng(hash53(name, seed) % 0x7fffffff);
    const seen = new Set<string>();
    const out: SampledArch[] = [];
    for (let attempt = 0; out.length < n; attempt++) {
      if (attempt > 100 * n + 1000)
        throw new ConfigError(
          'n',
          `found only ${out.length} distinct '${name}' architectures in ${attempt} draws; ask for fewer or widen the ranges`,
        );
      const spec = this.sampleSpec(rng, name);
      const key = canonicalKey(spec);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(this.build(spec));
    }
    return out;
  }

  /** The architecture of a spec: net, graph, id and info. */
  build(spec: ArchSpec): SampledArch {
    return buildArch(spec, this.inputShape, this.numClasses, this.sMax);
  }

  private family(rng: Rng, allowed: readonly ArchFamily[]): ArchFamily {
    const ws = this.weights.filter(([f]) => allowed.includes(f));
    if (ws.length === 0)
      throw new ConfigError(
        `families.${allowed[0]}`,
        `this split draws only ${allowed.join(', ')}, which the config weighs 0`,
      );
    const total = ws.reduce((s, [, v]) => s + v, 0);
    let u = rng.uniform() * total;
    for (const [f, v] of ws) if ((u -= v) < 0) return f;
    return ws[ws.length - 1]![0];
  }

  private draw(rng: Rng, r: SplitRanges): ArchSpec {
    const int = (range: IntRange) => rng.int(range[0], range[1]);
    const width = (range: IntRange, step: number) => range[0] + step * rng.int(0, (range[1] - range[0]) / step);
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
    switch (this.family(rng, r.families)) {
      case 'mlp': {
        const d = int(r.mlp.depth);
        return { family: 'mlp', hidden: Array.from({ length: d }, () => width(r.mlp.width, WIDTH_STEP.mlp)) };
      }
      case 'cnn': {
        const d = int(r.cnn.depth);
        let size = Math.min(this.inputShape[0], this.inputShape[1]);
        const convs = Array.from({ length: d }, () => {
          // 2×2 pooling after every conv while the maps are at least 4 wide
          const pool = size >= 4 ? pick(['max', 'avg'] as const) : null;
          if (pool) size = Math.floor(size / 2);
          return { filters: width(r.cnn.width, WIDTH_STEP.cnn), kernel: pick([3, 5]), pool };
        });
        return { family: 'cnn', convs, dense: rng.uniform() < 0.5 ? [] : [pick(CNN_DENSE)] };
      }
      case 'resnet': {
        const blocks = int(r.resnet.blocks);
        const w1 = width(r.resnet.width, WIDTH_STEP.resnet);
        const grow = (w: number) => WIDTH_STEP.resnet * Math.round((w * pick(r.resnet.growth)) / WIDTH_STEP.resnet);
        const w2 = grow(w1);
        return { family: 'resnet', blocks, widths: [w1, w2, grow(w2)], shortcut: pick(['A', 'B'] as const) };
      }
      case 'cellnet': {
        const cells = int(r.cellnet.cells);
        const channels = width(r.cellnet.channels, WIDTH_STEP.cellnet);
        const genotype = this.genotype(rng, int(r.cellnet.steps));
        const stem = pick(['stride', 'pool'] as const);
        return {
          family: 'cellnet',
          cells,
          channels,
          stemChannels: this.stemMultiplier * channels,
          stem,
          bn: r.cellnet.bn,
          genotype,
        };
      }
    }
  }

  /**
   * A random genotype as ppuda's sample_genotype draws it (uniform alphas → each node reads
   * two distinct earlier states through uniformly chosen ops; half of the reduction cells use
   * parameter-free ops only; with more than one node, half of the genotypes keep a random
   * subset of the nodes in the output concat), with DeepNets-1M's filters (at least one op
   * with parameters, at most one conv_5x5 per cell) and no dead nodes: a node no later node
   * reads is always concatenated.
   */
  private genotype(rng: Rng, steps: number): Genotype {
    const poolOps = this.ops.filter((o) => PARAM_FREE.has(o));
    const cell = (ops: readonly CellOp[]): CellEdge[] => {
      for (;;) {
        const edges: CellEdge[] = [];
        for (let i = 0; i < steps; i++) {
          const a = rng.int(0, i + 1);
          let b = rng.int(0, i);
          if (b >= a) b += 1;
          edges.push([ops[rng.int(0, ops.length - 1)]!, a], [ops[rng.int(0, ops.length - 1)]!, b]);
        }
        if (edges.filter(([o]) => o === 'conv_5x5').length <= 1) return canonicalCell(edges);
      }
    };
    for (;;) {
      const normal = cell(this.ops);
      const reduce = cell(poolOps.length > 0 && rng.uniform() < 0.5 ? poolOps : this.ops);
      if ([...normal, ...reduce].every(([o]) => PARAM_FREE.has(o))) continue;
      const drop = steps > 1 && rng.uniform() < 0.5;
      const kept = Array.from({ length: steps }, (_, i) => i + 2).filter(
        (s) => s === steps + 1 || !drop || rng.uniform() < 0.5,
      );
      const concat = (edges: readonly CellEdge[]) => {
        const read = new Set(edges.map(([, i]) => i));
        return Array.from({ length: steps }, (_, i) => i + 2).filter((s) => kept.includes(s) || !read.has(s));
      };
      return { normal, normalConcat: concat(normal), reduce, reduceConcat: concat(reduce) };
    }
  }
}
