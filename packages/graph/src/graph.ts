import { HypernetsError, torchShape, type ParamSpec } from '@hypernets/core';
import { PRIMITIVES, type Primitive } from './primitives.js';

const graphErrorMarker = 'hypernets.error.GraphError';
const graphErrorSymbol = Symbol.for(graphErrorMarker);

/** A graph cannot be built or is malformed (unreachable nodes, unknown parameters, …). */
export class GraphError extends HypernetsError {
  private readonly [graphErrorSymbol] = true;
  override readonly name: string = 'GraphError';

  constructor(
    readonly graph: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`architecture graph '${graph}': ${detail}`, options);
  }

  /** True for a GraphError from any copy of @hypernets/graph (`instanceof` is not, across copies). */
  static override isInstance(error: unknown): error is GraphError {
    return HypernetsError.hasMarker(error, graphErrorMarker);
  }
}

/** One node of an architecture graph (GHN-2's computational graph of a network). */
export interface GraphNode {
  readonly type: Primitive;
  /** The parameter's name for parameter nodes (`layer1.0.conv1.weight`), else the op ('input', 'sum', 'max_pool', …). */
  readonly name: string;
  /**
   * PyTorch-layout shape of the parameter this node stands for ([out, in, kh, kw] for convs,
   * [out, in] for linear layers, [C] for biases and norms), the pooling window [1, 1, k, k] for
   * pools, null for ops without one (input, sum, concat, glob_avg).
   */
  readonly shape: readonly number[] | null;
  /** Name of the ParamSpec this node predicts (a weight, a conv/linear bias, a norm scale), or null. */
  readonly param: string | null;
  /** Norm nodes (bn, ln): the ParamSpec of the shift, predicted from the same node as in GHN-2. */
  readonly shift: string | null;
  /**
   * A depthwise kernel: the ParamSpec holds tfjs's [kh, kw, C, multiplier], PyTorch's (and
   * `shape`) is [C·multiplier, 1, kh, kw]. Absent for every other node.
   */
  readonly depthwise?: true;
}

/** A directed edge [src, dst, d]: d = 1 for a real edge, the shortest-path length (2…s_max) for a virtual one. */
export type Edge = readonly [number, number, number];

/**
 * The computational graph of a network as GHN-2 sees it (Knyazev et al. 2021, §3): nodes are
 * parameterised layers and parameter-free ops typed with the DeepNets-1M primitives, in a
 * topological order with the input first and the output last; edges follow the forward pass,
 * plus virtual edges between nodes at shortest-path distance 2…s_max.
 */
export interface ArchGraph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  /** Sorted by (src, dst). */
  readonly edges: readonly Edge[];
  /** The target's ParamSpecs (all of them; the graph's nodes predict those named in `param`/`shift`). */
  readonly params: readonly ParamSpec[];
  /** ParamSpec names no node predicts (from unsupported layers): they keep their own init. */
  readonly unsupported: readonly string[];
  /** s_max the virtual edges were built with (1: none). */
  readonly sMax: number;
}

export interface BuildOptions {
  /** Longest shortest path turned into a virtual edge (GHN-2: 50). 1 disables virtual edges. Default 50. */
  sMax?: number;
  /** Where the warning about unsupported layers goes (default console.warn; null: silent). */
  warn?: ((message: string) => void) | null;
}

/**
 * Builds an ArchGraph node by node in forward order: every method takes the nodes feeding the
 * new one and returns its index, so the insertion order is topological by construction.
 * Conv/linear layers with a bias become two nodes (weight → bias), as in GHN-2's traced graphs;
 * a norm layer is one node predicting both its scale and shift.
 */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly preds: number[][] = [];
  private readonly specs: Map<string, ParamSpec>;
  private readonly used = new Set<string>();
  private readonly skipped: string[] = [];
  private readonly skippedLayers: string[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ParamSpec[],
  ) {
    this.specs = new Map(params.map((p) => [p.name, p]));
  }

  private checkInputs(name: string, inputs: readonly number[]): void {
    for (const i of inputs)
      if (!Number.isInteger(i) || i < 0 || i >= this.nodes.length)
        throw new GraphError(this.name, `node '${name}' has an input ${i} that is not an earlier node`);
  }

  private add(node: GraphNode, inputs: readonly number[]): number {
    this.checkInputs(node.name, inputs);
    this.nodes.push(node);
    this.preds.push([...new Set(inputs)]);
    return this.nodes.length - 1;
  }

  private spec(name: string): ParamSpec {
    const s = this.specs.get(name);
    if (!s)
      throw new GraphError(
        this.name,
        `no ParamSpec named '${name}' (the net has ${this.params.length}: ${this.params
          .slice(0, 4)
          .map((p) => p.name)
          .join(', ')}, …)`,
      );
    if (this.used.has(name)) throw new GraphError(this.name, `ParamSpec '${name}' is used by two nodes`);
    this.used.add(name);
    return s;
  }

  input(): number {
    if (this.nodes.length > 0) throw new GraphError(this.name, 'the input must be the first node');
    return this.add({ type: 'input', name: 'input', shape: null, param: null, shift: null }, []);
  }

  /** A parameter-free op (sum, concat, glob_avg, msa, cse, max_pool/avg_pool with `window`). */
  op(type: Primitive, inputs: readonly number[], window?: number): number {
    this.checkInputs(type, inputs);
    if (type === 'sum' || type === 'concat') {
      // GHN-2 keeps sum/concat only where more than one edge comes in
      const distinct = [...new Set(inputs)];
      if (distinct.length === 1) return distinct[0]!;
    }
    const shape =
      window !== undefined ? [1, 1, window, window] : type === 'max_pool' || type === 'avg_pool' ? [1, 1, 3, 3] : null;
    return this.add({ type, name: type, shape, param: null, shift: null }, inputs);
  }

  /**
   * A conv or linear layer: a weight node (type conv, sep_conv or dil_conv) and, with a bias, a
   * bias node after it. `depthwise`: the weight is a tfjs depthwise kernel [kh, kw, C, m]
   * (GHN-2 sees PyTorch's grouped-conv shape [C·m, 1, kh, kw]).
   */
  layer(
    type: 'conv' | 'sep_conv' | 'dil_conv',
    weight: string,
    inputs: readonly number[],
    bias: string | null = null,
    options: { depthwise?: boolean } = {},
  ): number {
    const w = this.spec(weight);
    let node: GraphNode = { type, name: weight, shape: torchShape(w), param: weight, shift: null };
    if (options.depthwise) {
      if (w.shape.length !== 4)
        throw new GraphError(
          this.name,
          `depthwise kernel '${weight}' must be [kh, kw, C, multiplier], got [${w.shape.join(', ')}]`,
        );
      const [kh, kw, c, m] = w.shape as [number, number, number, number];
      node = { ...node, shape: [c * m, 1, kh, kw], depthwise: true };
    }
    let last = this.add(node, inputs);
    if (bias !== null) {
      const b = this.spec(bias);
      last = this.add({ type: 'bias', name: bias, shape: torchShape(b), param: bias, shift: null }, [last]);
    }
    return last;
  }

  /** A normalisation layer (bn or ln): one node predicting its scale and, if any, its shift. */
  norm(type: 'bn' | 'ln', scale: string, shift: string | null, inputs: readonly number[]): number {
    const s = this.spec(scale);
    if (shift !== null) this.spec(shift);
    return this.add({ type, name: scale, shape: torchShape(s), param: scale, shift }, inputs);
  }

  /** A learned positional encoding (a source node: no input; GHN-2 allows pos_enc without a path from the input). */
  posEnc(param: string): number {
    const s = this.spec(param);
    return this.add({ type: 'pos_enc', name: param, shape: torchShape(s), param, shift: null }, []);
  }

  /** Marks parameters of a layer the graph cannot represent: they keep their own init. `layer` names it in the warning. */
  unsupported(names: string | readonly string[], layer?: string): void {
    const list = typeof names === 'string' ? [names] : names;
    for (const n of list) {
      this.spec(n);
      this.skipped.push(n);
    }
    this.skippedLayers.push(layer ?? list.join(', '));
  }

  build(options: BuildOptions = {}): ArchGraph {
    const sMax = options.sMax ?? 50;
    if (!Number.isInteger(sMax) || sMax < 1)
      throw new GraphError(this.name, `sMax must be an integer ≥ 1, got ${sMax}`);
    const n = this.nodes.length;
    if (n < 2 || this.nodes[0]!.type !== 'input')
      throw new GraphError(this.name, 'a graph needs an input node first and at least one more node');
    const missing = this.params.filter((p) => !this.used.has(p.name)).map((p) => p.name);
    if (missing.length > 0)
      throw new GraphError(
        this.name,
        `ParamSpecs with no node: ${missing.join(', ')} (add them to a node or mark them unsupported)`,
      );
    const succ: number[][] = Array.from({ length: n }, () => []);
    this.preds.forEach((ps, v) => ps.forEach((u) => succ[u]!.push(v)));
    // every node must lead to the output and come from the input (GHN-2 asserts both)
    const reach = (start: number, next: number[][]) => {
      const seen = new Uint8Array(n);
      const stack = [start];
      seen[start] = 1;
      while (stack.length)
        for (const w of next[stack.pop()!]!)
          if (!seen[w]) {
            seen[w] = 1;
            stack.push(w);
          }
      return seen;
    };
    const toOut = reach(n - 1, this.preds);
    const fromIn = reach(0, succ);
    for (let v = 0; v < n; v++) {
      if (!toOut[v]) throw new GraphError(this.name, `node ${v} ('${this.nodes[v]!.name}') does not reach the output`);
      if (!fromIn[v] && this.nodes[v]!.type !== 'pos_enc')
        throw new GraphError(this.name, `node ${v} ('${this.nodes[v]!.name}') has no path from the input`);
    }
    if (this.skippedLayers.length > 0 && options.warn !== null)
      (options.warn ?? console.warn)(
        `${this.name}: no GHN-2 primitive for ${this.skippedLayers.join('; ')}: their parameters keep their own init`,
      );
    return {
      name: this.name,
      nodes: [...this.nodes],
      edges: edgesWithVirtual(succ, sMax),
      params: this.params,
      unsupported: [...this.skipped],
      sMax,
    };
  }
}

/** Real edges plus virtual edges [u, v, d] for shortest paths 2 ≤ d ≤ sMax (BFS from every node), sorted by (u, v). */
export function edgesWithVirtual(succ: readonly (readonly number[])[], sMax: number): Edge[] {
  const n = succ.length;
  const edges: Edge[] = [];
  const dist = new Int32Array(n);
  for (let u = 0; u < n; u++) {
    dist.fill(-1);
    dist[u] = 0;
    let frontier = [u];
    for (let d = 1; d <= sMax && frontier.length; d++) {
      const next: number[] = [];
      for (const a of frontier)
        for (const b of succ[a]!)
          if (dist[b] === -1) {
            dist[b] = d;
            next.push(b);
          }
      frontier = next;
    }
    for (let v = 0; v < n; v++) if (dist[v]! > 0) edges.push([u, v, dist[v]!]);
  }
  return edges;
}

/**
 * Topological levels for GHN-2's two sweeps. `forward[v]`: longest path from a source to v;
 * `backward[v]`: longest path from v to a sink (real edges; virtual edges join nodes already
 * joined by a path, so they change neither). Nodes of one level never feed each other, so a
 * sweep can update a whole level at once with the same result as ppuda's node-by-node loop.
 */
export function levels(graph: Pick<ArchGraph, 'nodes' | 'edges'>): { forward: Int32Array; backward: Int32Array } {
  const n = graph.nodes.length;
  const fwd = new Int32Array(n);
  const bwd = new Int32Array(n);
  const real = graph.edges.filter((e) => e[2] === 1);
  // the node order is topological: one pass each way suffices
  const bySrc = [...real].sort((a, b) => a[0] - b[0]);
  for (const [u, v] of bySrc)
    if (u >= v) throw new GraphError('levels', `edge ${u} → ${v} goes backwards: nodes are not in topological order`);
  const byDst = [...real].sort((a, b) => a[1] - b[1]);
  for (const [u, v] of byDst) fwd[v] = Math.max(fwd[v]!, fwd[u]! + 1);
  for (const [u, v] of bySrc.reverse()) bwd[u] = Math.max(bwd[u]!, bwd[v]! + 1);
  return { forward: fwd, backward: bwd };
}

/** Node type ids in PRIMITIVES order (the GHN's op embedding rows). */
export function nodeTypeIds(graph: ArchGraph): Int32Array {
  return Int32Array.from(graph.nodes, (nd) => PRIMITIVES.indexOf(nd.type));
}
