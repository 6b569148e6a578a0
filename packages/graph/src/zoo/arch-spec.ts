import { CNN, ConfigError, MLP, ResNet, countParams, type ConvLayerConfig, type TargetNet } from '@hypernets/core';
import { archGraph } from '../describe.js';
import type { ArchGraph } from '../graph.js';
import { CellNet, type CellEdge, type Genotype } from './cellnet.js';

/** Architecture specs of the ArchSampler as plain JSON, their canonical keys, and the nets they build. */

export type ArchFamily = 'mlp' | 'cnn' | 'cellnet' | 'resnet';
export const ARCH_FAMILIES: readonly ArchFamily[] = ['mlp', 'cnn', 'cellnet', 'resnet'];

/** What an architecture is, as plain JSON: `ArchSampler.build(spec)` rebuilds it. */
export type ArchSpec =
  | { readonly family: 'mlp'; readonly hidden: readonly number[] }
  | {
      readonly family: 'cnn';
      readonly convs: readonly { filters: number; kernel: number; pool: 'max' | 'avg' | null }[];
      readonly dense: readonly number[];
    }
  | {
      readonly family: 'resnet';
      readonly blocks: number;
      readonly widths: readonly [number, number, number];
      readonly shortcut: 'A' | 'B';
    }
  | {
      readonly family: 'cellnet';
      readonly cells: number;
      readonly channels: number;
      readonly stemChannels: number;
      /** Stem conv stride 2 or a stem max pool: the cells run at half the input resolution. */
      readonly stem: 'stride' | 'pool';
      readonly bn: boolean;
      readonly genotype: Genotype;
    };

export interface ArchInfo {
  /** MLP: hidden layers; CNN: conv layers; ResNet: 6n + 2; CellNet: cells. */
  readonly depth: number;
  /** MLP: widest hidden layer; CNN: most filters; ResNet: first-stage width; CellNet: C. */
  readonly width: number;
  /** Scalars in the ParamSpecs. */
  readonly params: number;
  readonly bn: boolean;
  /** CellNet: intermediate nodes per cell; 0 for the other families. */
  readonly steps: number;
  /** Nodes of the graph. */
  readonly nodes: number;
}

/**
 * One sampled architecture. Structurally an ArchSample of train.ts (`{ id, net, graph }`), so an
 * ArchSampler is an ArchSource for GhnTrainer as it is (`sample(rng)` draws from 'train').
 */
export interface SampledArch {
  /** `family-<hash of the canonical spec>`: equal ids, equal architectures. */
  readonly id: string;
  readonly family: ArchFamily;
  readonly net: TargetNet;
  readonly graph: ArchGraph;
  readonly info: ArchInfo;
  readonly spec: ArchSpec;
}

/** 53-bit string hash (cyrb53, public domain), as a number. */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Canonical form: each node's two edges sorted (by input, then op), so that isomorphic-by-swap cells get one id. */
export function canonicalCell(edges: readonly CellEdge[]): CellEdge[] {
  const out: CellEdge[] = [];
  for (let i = 0; i < edges.length; i += 2) {
    const pair = [edges[i]!, edges[i + 1]!].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    out.push(...pair.map(([op, idx]) => [op, idx] as const));
  }
  return out;
}

/** A string describing the architecture completely (JSON with fixed key order). */
export function canonicalKey(spec: ArchSpec): string {
  switch (spec.family) {
    case 'mlp':
      return JSON.stringify(['mlp', spec.hidden]);
    case 'cnn':
      return JSON.stringify(['cnn', spec.convs.map((c) => [c.filters, c.kernel, c.pool]), spec.dense]);
    case 'resnet':
      return JSON.stringify(['resnet', spec.blocks, spec.widths, spec.shortcut]);
    case 'cellnet': {
      const g = spec.genotype;
      return JSON.stringify([
        'cellnet',
        spec.cells,
        spec.channels,
        spec.stemChannels,
        spec.stem,
        spec.bn,
        canonicalCell(g.normal),
        g.normalConcat,
        canonicalCell(g.reduce),
        g.reduceConcat,
      ]);
    }
  }
}

/** The architecture of a spec for `inputShape` images and `numClasses` classes: net, graph (`sMax` virtual edges), id and info. */
export function buildArch(
  spec: ArchSpec,
  inputShape: readonly [number, number, number],
  numClasses: number,
  sMax: number,
): SampledArch {
  const [h, w, c] = inputShape;
  let net: TargetNet;
  let info: Omit<ArchInfo, 'params' | 'nodes'>;
  switch (spec.family) {
    case 'mlp':
      net = new MLP({ inputSize: h * w * c, hiddenSizes: spec.hidden, outputSize: numClasses });
      info = { depth: spec.hidden.length, width: Math.max(...spec.hidden), bn: false, steps: 0 };
      break;
    case 'cnn': {
      const convs: ConvLayerConfig[] = spec.convs.map((cv) => ({
        filters: cv.filters,
        kernel: cv.kernel,
        padding: 'same',
        ...(cv.pool ? { pool: { type: cv.pool, size: 2 } } : {}),
      }));
      net = new CNN({ inputShape: inputShape, convs, dense: spec.dense, outputSize: numClasses }, 'cnn');
      info = {
        depth: spec.convs.length,
        width: Math.max(...spec.convs.map((cv) => cv.filters)),
        bn: false,
        steps: 0,
      };
      break;
    }
    case 'resnet':
      net = new ResNet({
        depth: 6 * spec.blocks + 2,
        widths: [...spec.widths],
        numClasses: numClasses,
        inputShape: inputShape,
        shortcut: spec.shortcut,
        trackRunningStats: false,
      });
      info = { depth: 6 * spec.blocks + 2, width: spec.widths[0], bn: true, steps: 0 };
      break;
    case 'cellnet':
      net = new CellNet({
        genotype: spec.genotype,
        cells: spec.cells,
        channels: spec.channels,
        stemChannels: spec.stemChannels,
        stemStride: spec.stem === 'stride' ? 2 : 1,
        stemPool: spec.stem === 'pool',
        bn: spec.bn,
        inputShape: inputShape,
        numClasses: numClasses,
      });
      info = { depth: spec.cells, width: spec.channels, bn: spec.bn, steps: spec.genotype.normal.length / 2 };
      break;
    default:
      throw new ConfigError(
        'spec.family',
        `unknown family ${JSON.stringify((spec as { family: unknown }).family)}; use ${ARCH_FAMILIES.join(', ')}`,
      );
  }
  const graph = archGraph(net, { sMax: sMax });
  const id = `${spec.family}-${hash53(canonicalKey(spec)).toString(16).padStart(14, '0')}`;
  return {
    id,
    family: spec.family,
    net,
    graph,
    info: { ...info, params: countParams(net.params), nodes: graph.nodes.length },
    spec,
  };
}
