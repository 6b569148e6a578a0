import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, resnet18, resnet50, shutdownBackend } from '@hypernets/core';
import { archGraph, batchGraphs, loadGhn } from '@hypernets/graph';
import { ensureTorch, torchEnv } from './torch.js';

const PYTHON = '/usr/bin/python3';
const GHN_FILE = fileURLToPath(new URL('../../../packages/graph/fixtures/ppuda/ghn2-cifar10-seed0.safetensors', import.meta.url));
const PPUDA_SPEED = fileURLToPath(new URL('../../../packages/graph/scripts/ppuda_speed.py', import.meta.url));
const NETS = { resnet50, resnet18 } as const;

const median = (a: number[]) => +[...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!.toFixed(1);

/**
 * Time to predict all parameters of ResNet-50 (25.6M) and ResNet-18 (11.7M) with GHN-2
 * (ppuda's CIFAR-10 config, the fixture weights), ours on each tfjs backend and ppuda's on
 * PyTorch (2 threads), in the same run. Ours: build the graph from the TargetNet, GHN forward,
 * decode, tile, normalise, and read every tensor back (`await data()`); ppuda: `ghn(model)`
 * (traces the graph, predicts, copies into the model). Medians over `runs` after `warmup`.
 */
export async function ghnPredict({ backends, runs, warmup, ppuda, torchThreads }: { backends: string[]; runs: number; warmup: number; ppuda: string; torchThreads: number }) {
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
        console.log(`${b.padEnd(6)} ${name.padEnd(9)} ${String(res[name].total_ms).padStart(8)} ms  (graph ${res[name].graph_ms} ms, GNN ${res[name].gnn_ms} ms)  ${info.device}`);
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
  const why = ensureTorch();
  if (why) ppudaRes = `skipped: ${why}`;
  else if (!existsSync(ppuda)) ppudaRes = `skipped: no ppuda source at ${ppuda} (pass --ppuda DIR: a checkout or a bare git dir; see packages/graph/scripts/README.md)`;
  else {
    const r = spawnSync(PYTHON, [PPUDA_SPEED, String(runs), '--warmup', String(warmup), '--threads', String(torchThreads), '--ppuda', ppuda, '--ghn', GHN_FILE], { encoding: 'utf8', env: torchEnv(torchThreads) });
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
      console.log(`ppuda  ${name.padEnd(9)} ${String(t.total_ms).padStart(8)} ms  (graph ${t.graph_ms} ms, GNN ${t.gnn_ms} ms)  PyTorch ${ppudaRes.torch}, ${ppudaRes.threads} threads`);
    }
  else console.log(`ppuda  ${ppudaRes}`);
  for (const [b, r] of Object.entries(ratio)) console.log(`ratio ${b}/ppuda: ${Object.entries(r).map(([n, v]) => `${n} ${v}`).join(', ')} (target < 1.0, stretch 0.5)`);
  console.log(JSON.stringify({ workload: 'ghn-predict', ours, ppuda: ppudaRes, ratio, runs, warmup }));
}
