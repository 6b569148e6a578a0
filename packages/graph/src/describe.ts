import { CNN, ImageNetResNet, MLP, ResNet, TransformerEncoder, type ParamSpec, type TargetNet } from '@hypernets/core';
import { GraphBuilder, GraphError, type ArchGraph, type BuildOptions } from './graph.js';
import { layersModelGraph, type KerasModelLike } from './describe-layers.js';

/**
 * Architecture graphs of @hypernets/core's TargetNets, shaped like the graphs ppuda traces from
 * the equivalent PyTorch modules: activations, flattening and reshapes are not nodes; a
 * layer with a bias is weight → bias; residual additions are `sum` nodes; global average
 * pooling is `glob_avg`; the last two nodes are the classifier's weight and bias.
 */
export function mlpGraph(net: MLP, options?: BuildOptions): ArchGraph {
  const g = new GraphBuilder(net.name ?? 'mlp', net.params);
  let h = g.input();
  const has = new Set(net.params.map((p) => p.name));
  for (let l = 1; has.has(`fc${l}.weight`); l++)
    h = g.layer('conv', `fc${l}.weight`, [h], has.has(`fc${l}.bias`) ? `fc${l}.bias` : null);
  return g.build(options);
}

export function cnnGraph(net: CNN, options?: BuildOptions): ArchGraph {
  const g = new GraphBuilder(net.name, net.params);
  const has = new Set(net.params.map((p) => p.name));
  let h = g.input();
  net.config.convs.forEach((cv, i) => {
    const n = `conv${i + 1}`;
    h = g.layer('conv', `${n}.weight`, [h], has.has(`${n}.bias`) ? `${n}.bias` : null);
    if (cv.pool) h = g.op(cv.pool.type === 'max' ? 'max_pool' : 'avg_pool', [h], cv.pool.size);
  });
  for (let l = 1; has.has(`fc${l}.weight`); l++)
    h = g.layer('conv', `fc${l}.weight`, [h], has.has(`fc${l}.bias`) ? `fc${l}.bias` : null);
  return g.build(options);
}

export interface ResNetGraphOptions extends BuildOptions {
  /** Max-pool window after the stem (torchvision's ImageNet ResNets: 3), or null (CIFAR ResNets). */
  stemPool?: number | null;
}

/**
 * A ResNet graph from its ParamSpec names (the torchvision / CIFAR-port convention): stem
 * `conv1` → `bn1` [→ max_pool], blocks `layer{s}.{b}` of convs `conv1…conv3`, each followed
 * by `bn{k}`, a projection shortcut `downsample.0` (conv) → `downsample.1` (bn) where present
 * (else identity), a `sum`, then glob_avg → `fc`. Serves BasicBlock and Bottleneck nets.
 */
export function resnetGraph(name: string, params: readonly ParamSpec[], options: ResNetGraphOptions = {}): ArchGraph {
  const has = new Set(params.map((p) => p.name));
  const g = new GraphBuilder(name, params);
  const bias = (n: string) => (has.has(`${n}.bias`) ? `${n}.bias` : null);
  const convBn = (h: number, conv: string, bn: string) => {
    h = g.layer('conv', `${conv}.weight`, [h], bias(conv));
    return has.has(`${bn}.weight`) ? g.norm('bn', `${bn}.weight`, bias(bn), [h]) : h;
  };
  let h = g.input();
  h = convBn(h, 'conv1', 'bn1');
  if (options.stemPool) h = g.op('max_pool', [h], options.stemPool);
  const blocks = new Map<string, true>();
  for (const p of params) {
    const m = /^(layer\d+\.\d+)\./.exec(p.name);
    if (m) blocks.set(m[1]!, true);
  }
  if (blocks.size === 0)
    throw new GraphError(name, "no residual blocks found (expected ParamSpecs named 'layer{s}.{b}.conv1.weight', …)");
  for (const prefix of blocks.keys()) {
    const input = h;
    let y = input;
    for (let k = 1; has.has(`${prefix}.conv${k}.weight`); k++) y = convBn(y, `${prefix}.conv${k}`, `${prefix}.bn${k}`);
    const shortcut = has.has(`${prefix}.downsample.0.weight`)
      ? convBn(input, `${prefix}.downsample.0`, `${prefix}.downsample.1`)
      : input;
    h = g.op('sum', [y, shortcut]);
  }
  h = g.op('glob_avg', [h]);
  g.layer('conv', 'fc.weight', [h], bias('fc'));
  return g.build(options);
}

/**
 * A pre-norm transformer encoder (core's TransformerEncoder) as DeepNets-1M draws its ViT
 * blocks: [input_proj →] pos_enc → per block ln1 → qkv → msa → proj → sum(residual) → ln2 →
 * fc1 → fc2 → sum → … → [norm →] glob_avg ('mean' pooling) → head. Token embeddings and the
 * CLS token have no GHN-2 primitive: they keep their own init (listed in `unsupported`).
 */
export function transformerGraph(net: TransformerEncoder, options?: BuildOptions): ArchGraph {
  const has = new Set(net.params.map((p) => p.name));
  const g = new GraphBuilder(net.name, net.params);
  const lin = (h: number, n: string) => g.layer('conv', `${n}.weight`, [h], has.has(`${n}.bias`) ? `${n}.bias` : null);
  let h = g.input();
  for (const n of ['embedding.weight', 'cls_token'])
    if (has.has(n)) g.unsupported(n, `${n} (token embedding / CLS token)`);
  if (has.has('input_proj.weight')) h = lin(h, 'input_proj');
  if (has.has('pos_embedding')) {
    const pe = g.posEnc('pos_embedding');
    h = g.op('sum', [h, pe]);
  }
  for (let b = 0; has.has(`blocks.${b}.ln1.weight`); b++) {
    const p = `blocks.${b}`;
    let y = g.norm('ln', `${p}.ln1.weight`, `${p}.ln1.bias`, [h]);
    y = lin(y, `${p}.attn.qkv`);
    y = g.op('msa', [y]);
    y = lin(y, `${p}.attn.proj`);
    h = g.op('sum', [y, h]);
    y = g.norm('ln', `${p}.ln2.weight`, `${p}.ln2.bias`, [h]);
    y = lin(lin(y, `${p}.mlp.fc1`), `${p}.mlp.fc2`);
    h = g.op('sum', [y, h]);
  }
  if (has.has('norm.weight')) h = g.norm('ln', 'norm.weight', 'norm.bias', [h]);
  if (net.config.pooling === 'mean') h = g.op('glob_avg', [h]);
  if (has.has('head.weight')) lin(h, 'head');
  return g.build(options);
}

/** A TargetNet that knows its own graph (any net outside core can implement this). */
export interface DescribesGraph {
  archGraph(options?: BuildOptions): ArchGraph;
}

function describesGraph(net: unknown): net is DescribesGraph {
  return typeof (net as Partial<DescribesGraph>).archGraph === 'function';
}

function isKerasModel(m: unknown): m is KerasModelLike {
  const o = m as Partial<KerasModelLike>;
  return (
    typeof o.getClassName === 'function' &&
    Array.isArray(o.layers) &&
    ['Sequential', 'Model', 'Functional'].includes(o.getClassName())
  );
}

/**
 * The architecture graph of a TargetNet — core's MLP, CNN and ResNets (CIFAR and torchvision
 * style, told apart by a stem max pool), or any net with an `archGraph()` method — or of a
 * tfjs-layers model (see describe-layers.ts).
 */
export function archGraph(net: TargetNet | KerasModelLike, options: ResNetGraphOptions = {}): ArchGraph {
  if (isKerasModel(net)) return layersModelGraph(net, options);
  if (describesGraph(net)) return net.archGraph(options);
  if (net instanceof MLP) return mlpGraph(net, options);
  if (net instanceof CNN) return cnnGraph(net, options);
  if (net instanceof TransformerEncoder) return transformerGraph(net, options);
  if (net instanceof ResNet)
    return resnetGraph(net.name, net.params, { ...options, stemPool: options.stemPool ?? null });
  if (net instanceof ImageNetResNet)
    return resnetGraph(net.name, net.params, { ...options, stemPool: options.stemPool ?? 3 });
  const ctor = (net as object).constructor?.name ?? typeof net;
  throw new GraphError(
    (net as { name?: string }).name ?? ctor,
    `no graph description for ${ctor}: supported are MLP, CNN, ResNet, ImageNetResNet, TransformerEncoder, ` +
      'tfjs-layers models and nets with an archGraph() method; build one with GraphBuilder',
  );
}
