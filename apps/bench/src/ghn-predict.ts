import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, resnet18, resnet50, shutdownBackend } from '@hypernets/core';
import { archGraph, loadGhn } from '@hypernets/graph';
import { batchGraphs } from '@hypernets/graph/internal';
import { ensurePythonModules, torchEnv, type PythonModule } from './torch.js';

const PYTHON = '/usr/bin/python3';
const GHN_FILE = fileURLToPath(
  new URL('../../../packages/graph/fixtures/ppuda/ghn2-cifar10-seed0.safetensors', import.meta.url),
);
const PPUDA_SPEED = fileURLToPath(new URL('../../../packages/graph/scripts/ppuda_speed.py', import.meta.url));
const NETS = { resnet50, resnet18 } as const;

/**
 * What ppuda's modules import besides torch and numpy, for ppuda_speed.py (Debian packages).
 * matplotlib and einops are imported too, at module level, but stubbed by the script when absent.
 */
const PPUDA_MODULES: readonly PythonModule[] = [
  { module: 'torchvision', deb: 'python3-torchvision' },
  { module: 'networkx', deb: 'python3-networkx' },
  { module: 'tqdm', deb: 'python3-tqdm' },
];
/** The ppuda commit the fixtures and the port were checked against (packages/graph/scripts/README.md). */
const PPUDA_COMMIT = '4673a42507a9dcd0a5ae04e74599e8c92af689b9';
export const PPUDA_HELP =
  "pass --ppuda DIR or set PPUDA_DIR, DIR being ppuda's source: a checkout " +
  `(git clone https://github.com/facebookresearch/ppuda && git -C ppuda checkout ${PPUDA_COMMIT}) ` +
  'or a bare git dir of it; see packages/graph/scripts/README.md';

/**
 * Whether ppuda's side can run: its source (a path relative to where pnpm was started, as the
 * user typed it), PyTorch and the modules ppuda imports (installed with apt-get when root). A
 * reason saying what to pass or install when not. Checked before any timing.
 */
export function ppudaReady(ppuda: string | undefined): { dir: string } | { why: string } {
  if (!ppuda) return { why: `no ppuda source: ${PPUDA_HELP}` };
  const dir = resolve(process.env.INIT_CWD ?? process.cwd(), ppuda);
  const tree = existsSync(join(dir, 'ppuda', 'ghn', 'nn.py'));
  const bare = existsSync(join(dir, 'HEAD')) && existsSync(join(dir, 'objects'));
  if (!tree && !bare)
    return { why: `${dir} is neither a ppuda checkout (with ppuda/ghn/nn.py) nor a bare git dir: ${PPUDA_HELP}` };
  const why = ensurePythonModules(PPUDA_MODULES, 'ppuda');
  return why ? { why } : { dir };
}

const median = (a: number[]) => +[...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!.toFixed(1);

/**
 * Time to predict all parameters of ResNet-50 (25.6M) and ResNet-18 (11.7M) with GHN-2
 * (ppuda's CIFAR-10 config, the fixture weights), ours on each tfjs backend and ppuda's on
 * PyTorch (2 threads), in the same run. Ours: build the graph from the TargetNet, GHN forward,
 * decode, tile, normalise, and read every tensor back (`await data()`); ppuda: `ghn(model)`
 * (traces the graph, predicts, copies into the model). Medians over `runs` after `warmup`.
 */
export async function ghnPredict({
  backends,
  runs,
  warmup,
  ppuda,
  torchThreads,
}: {
  backends: string[];
  runs: number;
  warmup: number;
  ppuda: string | undefined;
  torchThreads: number;
}) {
  const ref = ppudaReady(ppuda);
  if ('why' in ref) console.log(`ppuda  skipped: ${ref.why}`);
  const ours: Record<string, Record<string, { total_ms: number; graph_ms: number; gnn_ms: number }> | string> = {};
  for (const b of backends) {
    try {
      const info = await initBackend(b);
      const ghn = await loadGhn(GHN_FILE);
      const res: Record<string, { total_ms: number; graph_ms: number; gnn_ms: number }> = {};
      for (const [name, make] of Object.entries(NETS)) {
        const net = make();
        const total: number[] = [];
        const graph: number[] = [];
        const gnn: number[] = [];
        for (let i = 0; i < warmup + runs; i++) {
          const t0 = performance.now();
          const g = archGraph(net);
          const t1 = performance.now();
          const [p] = ghn.predict(g);
          const ws = Object.values(p!.weights);
          await Promise.all(ws.map((w) => w.data()));
          const t2 = performance.now();
          tf.dispose(ws);
          // the GNN alone (embeddings, both sweeps, layer norm), timed separately
          const t3 = performance.now();
          const e = ghn.nodeEmbeddings(batchGraphs([g], ghn.vocab, ghn.config.sMax));
          await e.data();
          const t4 = performance.now();
          e.dispose();
          if (i >= warmup) {
            total.push(t2 - t0);
            graph.push(t1 - t0);
            gnn.push(t4 - t3);
          }
        }
        res[name] = { total_ms: median(total), graph_ms: median(graph), gnn_ms: median(gnn) };
        console.log(
          `${b.padEnd(6)} ${name.padEnd(9)} ${String(res[name].total_ms).padStart(8)} ms  ` +
            `(graph ${res[name].graph_ms} ms, GNN ${res[name].gnn_ms} ms)  ${info.device}`,
        );
      }
      ours[b] = res;
      ghn.dispose();
      await shutdownBackend();
    } catch (e) {
      ours[b] = `unavailable: ${(e as Error).message}`;
      console.log(`${b.padEnd(6)} unavailable: ${(e as Error).message}`);
    }
  }
  let ppudaRes: Record<string, unknown> | string;
  if ('why' in ref) ppudaRes = `skipped: ${ref.why}`;
  else {
    const r = spawnSync(
      PYTHON,
      [
        PPUDA_SPEED,
        String(runs),
        '--warmup',
        String(warmup),
        '--threads',
        String(torchThreads),
        '--ppuda',
        ref.dir,
        '--ghn',
        GHN_FILE,
      ],
      { encoding: 'utf8', env: torchEnv(torchThreads) },
    );
    if (r.status !== 0) ppudaRes = `failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    else ppudaRes = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  }
  const ratio: Record<string, Record<string, number>> = {};
  if (typeof ppudaRes === 'object')
    for (const [b, res] of Object.entries(ours)) {
      if (typeof res !== 'object') continue;
      ratio[b] = {};
      for (const name of Object.keys(NETS)) {
        const theirs = (ppudaRes[name] as { total_ms: number } | undefined)?.total_ms;
        if (theirs) ratio[b]![name] = +(res[name]!.total_ms / theirs).toFixed(3);
      }
    }
  if (typeof ppudaRes === 'object')
    for (const name of Object.keys(NETS)) {
      const t = ppudaRes[name] as { total_ms: number; graph_ms: number; gnn_ms: number };
      console.log(
        `ppuda  ${name.padEnd(9)} ${String(t.total_ms).padStart(8)} ms  (graph ${t.graph_ms} ms, GNN ${t.gnn_ms} ms)  ` +
          `PyTorch ${ppudaRes.torch}, ${ppudaRes.threads} threads`,
      );
    }
  else console.log(`ppuda  ${ppudaRes}`);
  for (const [b, r] of Object.entries(ratio))
    console.log(
      `ratio ${b}/ppuda: ${Object.entries(r)
        .map(([n, v]) => `${n} ${v}`)
        .join(', ')} (target < 1.0, stretch 0.5)`,
    );
  console.log(JSON.stringify({ workload: 'ghn-predict', ours, ppuda: ppudaRes, ratio, runs, warmup }));
}
