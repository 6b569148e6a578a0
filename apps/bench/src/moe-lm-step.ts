import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  Adam,
  Rng,
  clipByGlobalNorm,
  hostReadsAreSynchronous,
  initBackend,
  shutdownBackend,
  tensorsToSafetensors,
} from '@hypernets/core';
import { MoeLanguageModel } from '@hypernets/adapters';
import { perBackendSteps } from './timing.js';
import { ensureTorch, reportAgainstTorch, runTorchScript } from './torch.js';

const BATCH = 16;
const LR = 1e-3;
const CLIP = 0.25;
/** Kernels of the profile printed by name. */
const TOP = 12;

/** Median of `v` (the upper one of an even count), to 2 decimals. */
const median = (v: readonly number[]) => +[...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!.toFixed(2);

/** Wall ms of one step's parts: the planning forward (`record`), the taped forward + backward, clip + Adam + read-back. */
interface Phases {
  record: number;
  taped: number;
  update: number;
}

/**
 * The workload on the current backend: HyperRouter's char-LM at its defaults with k experts per
 * token, a fixed batch of 16 windows × 128 symbols (seeded random ids in [0, 27); the targets are
 * each window shifted by one), and the step MoeLmTrainer takes, split into its three parts so that
 * they can be timed and profiled one by one.
 */
function build(k: number) {
  const model = new MoeLanguageModel({ router: 'hyperrouter', seed: 0 });
  model.setTopK(k);
  const { vocabSize: v, seqLength: t } = model.config;
  const rng = new Rng(1);
  const stream = Int32Array.from({ length: BATCH * (t + 1) }, () => rng.int(0, v - 1));
  const x = new Int32Array(BATCH * t);
  const y = new Int32Array(BATCH * t);
  for (let i = 0; i < BATCH; i++)
    for (let j = 0; j < t; j++) {
      x[i * t + j] = stream[i * (t + 1) + j]!;
      y[i * t + j] = stream[i * (t + 1) + j + 1]!;
    }
  const inputs = tf.tensor2d(x, [BATCH, t], 'int32');
  const targets = tf.tensor2d(y, [BATCH, t], 'int32');
  const vars = model.trainable.map((n) => model.variables[n]!);
  const adam = new Adam(vars, { lr: LR });
  /**
   * As MoeLmTrainer: on cpu and wasm nothing (the taped forward reads the top-k ids itself, as
   * PyTorch does); elsewhere the planning forward, the ids of every block read back (`await data()`).
   */
  const record = async () => (hostReadsAreSynchronous() ? undefined : (await model.record(inputs)).log);
  /** Forward (replaying the log) and backward under the tape. */
  const taped = (log: Awaited<ReturnType<typeof record>>) =>
    tf.variableGrads(() => model.loss(inputs, targets, log), vars);
  /** Clip to global norm 0.25, Adam, and read the loss back (so that an asynchronous backend has finished). */
  const update = async ({ value, grads }: ReturnType<typeof taped>) => {
    const clipped = clipByGlobalNorm(
      vars.map((w) => grads[w.name] ?? null),
      CLIP,
    );
    adam.step(clipped.grads);
    tf.dispose([...Object.values(grads), ...clipped.grads.filter((g) => g !== null), clipped.norm]);
    const loss = (await value.data())[0]!;
    value.dispose();
    return loss;
  };
  return {
    model,
    inputs,
    targets,
    record,
    taped,
    update,
    dispose: () => {
      adam.dispose();
      tf.dispose([inputs, targets]);
      model.dispose();
    },
  };
}

/** The kernels `tf.profile` reports (tfjs-core does not export its ProfileInfo type by name). */
type Kernels = Awaited<ReturnType<typeof tf.profile>>['kernels'];

/** Calls and kernel ms of one kernel name (or one name and shape). */
interface KernelRow {
  name: string;
  calls: number;
  ms: number;
}

export interface MoeProfile {
  backend: string;
  /** Wall ms of each part under the profiler. */
  wallMs: Phases;
  /** Kernel ms and kernel calls of each part. */
  kernelMs: Phases;
  kernelCalls: Phases;
  /** The kernel names with the most kernel time, over the whole step. */
  top: KernelRow[];
  /** Kernel ms of the MoE dispatch (gathers, segment sums, splits, concats, gate products) and of BatchMatMul. */
  dispatchMs: number;
  dispatch: Record<string, number>;
  batchMatMulMs: number;
  /** GatherV2 and UnsortedSegmentSum (all of them) by input → output shape. */
  gatherScatter: KernelRow[];
}

/**
 * Which kernels belong to the gather/scatter dispatch of the MoE blocks (see MoeFeedForward):
 * the gathers of tokens and gates and their gradients (UnsortedSegmentSum), the sum back into
 * token rows (UnsortedSegmentSum) and its gradient (GatherV2), the splits of the expert weights
 * and of the gathered blocks and their gradients (Concat), the concat of the expert outputs and
 * its gradient (SplitV), and the products with the gates (Multiply of [n, d] by [n, 1], and the
 * gradient's [n, d] · [n, d] and its Sum over d). Not counted: the embedding's gather and its
 * gradient, and the attention's q/k/v split and its gradient.
 */
function dispatchPart(k: Kernels[number], b: number, t: number, d: number, v: number): string | null {
  const ins = k.inputShapes.filter((s): s is number[] => s !== null);
  const out = k.outputShapes[0] ?? [];
  const eq = (a: readonly number[], e: readonly number[]) => a.length === e.length && a.every((x, i) => x === e[i]);
  switch (k.name) {
    case 'GatherV2':
      return eq(out, [b, t, d]) ? null : 'GatherV2';
    case 'UnsortedSegmentSum':
      return eq(out, [v, d]) ? null : 'UnsortedSegmentSum';
    case 'SplitV':
      return ins[0] && eq(ins[0], [b, t, 3 * d]) ? null : 'SplitV';
    case 'Concat':
      return eq(out, [b, t, 3 * d]) ? null : 'Concat';
    case 'Multiply': {
      const [p, q] = ins;
      const gate = p?.length === 2 && q?.length === 2 && p[0] === q[0] && p[1] === d && (q[1] === 1 || q[1] === d);
      return gate ? 'Multiply (gates)' : null;
    }
    case 'Sum':
      return ins[0]?.length === 2 && ins[0][1] === d && out.length === 1 && out[0] === ins[0][0] && out[0] !== d
        ? 'Sum (gate gradient)'
        : null;
    default:
      return null;
  }
}

/**
 * `tf.profile` of one step on `backend` after `warmup` untimed ones: the kernel-time breakdown by
 * kernel name, the MoE dispatch's share and BatchMatMul's, and the parts' wall and kernel times.
 */
async function profileStep(backend: string, k: number, warmup: number): Promise<MoeProfile> {
  await initBackend(backend);
  const w = build(k);
  try {
    for (let i = 0; i < warmup; i++) await w.update(w.taped(await w.record()));
    let log: Awaited<ReturnType<typeof w.record>> | undefined;
    let grads: ReturnType<typeof w.taped> | undefined;
    const t0 = performance.now();
    // tf.profile hands back the engine's one profile object, refilled by the next call: keep each call's kernels.
    const kernelsOf = async (f: () => unknown) => [...(await tf.profile(f as () => tf.TensorContainer)).kernels];
    const pr = await kernelsOf(async () => {
      log = await w.record();
    });
    const t1 = performance.now();
    const pt = await kernelsOf(() => {
      grads = w.taped(log!);
    });
    const t2 = performance.now();
    const pu = await kernelsOf(async () => {
      await w.update(grads!);
    });
    const t3 = performance.now();
    const ms = (p: Kernels) => p.reduce((a, x) => a + (x.kernelTimeMs as number), 0);
    const { seqLength: t, dModel: d, vocabSize: v } = w.model.config;
    const byName = new Map<string, KernelRow>();
    const dispatch: Record<string, number> = {};
    let dispatchMs = 0;
    let batchMatMulMs = 0;
    const byShape = new Map<string, KernelRow>();
    for (const [p, gates] of [
      [pr, true],
      [pt, true],
      [pu, false],
    ] as const)
      for (const x of p) {
        const km = x.kernelTimeMs as number;
        const row = byName.get(x.name) ?? { name: x.name, calls: 0, ms: 0 };
        row.calls++;
        row.ms += km;
        byName.set(x.name, row);
        if (x.name === 'BatchMatMul') batchMatMulMs += km;
        if (x.name === 'GatherV2' || x.name === 'UnsortedSegmentSum') {
          const key = `${x.name} [${x.inputShapes[0]}] → [${x.outputShapes[0]}]`;
          const r = byShape.get(key) ?? { name: key, calls: 0, ms: 0 };
          r.calls++;
          r.ms += km;
          byShape.set(key, r);
        }
        // Adam's and the clip's products are no gates: only the forwards and the backward are classified.
        const part = gates ? dispatchPart(x, BATCH, t, d, v) : null;
        if (part) {
          dispatch[part] = (dispatch[part] ?? 0) + km;
          dispatchMs += km;
        }
      }
    const r2 = (x: number) => +x.toFixed(2);
    return {
      backend,
      wallMs: { record: r2(t1 - t0), taped: r2(t2 - t1), update: r2(t3 - t2) },
      kernelMs: { record: r2(ms(pr)), taped: r2(ms(pt)), update: r2(ms(pu)) },
      kernelCalls: { record: pr.length, taped: pt.length, update: pu.length },
      top: [...byName.values()]
        .sort((p, q) => q.ms - p.ms)
        .slice(0, TOP)
        .map((r) => ({ ...r, ms: r2(r.ms) })),
      dispatchMs: r2(dispatchMs),
      dispatch: Object.fromEntries(Object.entries(dispatch).map(([n, x]) => [n, r2(x)])),
      batchMatMulMs: r2(batchMatMulMs),
      gatherScatter: [...byShape.values()].sort((p, q) => q.ms - p.ms).map((r) => ({ ...r, ms: r2(r.ms) })),
    };
  } finally {
    w.dispose();
    await shutdownBackend();
  }
}

function printProfile(p: MoeProfile): void {
  const total = p.kernelMs.record + p.kernelMs.taped + p.kernelMs.update;
  const wall = p.wallMs.record + p.wallMs.taped + p.wallMs.update;
  const pct = (x: number) => `${((100 * x) / total).toFixed(1)}%`;
  console.log(
    `profile (${p.backend}, one step under tf.profile): ${total.toFixed(1)} ms of kernel time in ` +
      `${p.kernelCalls.record + p.kernelCalls.taped + p.kernelCalls.update} kernel calls, ${wall.toFixed(1)} ms wall`,
  );
  for (const part of ['record', 'taped', 'update'] as const)
    console.log(
      `  ${{ record: 'planning forward (record)', taped: 'taped forward + backward', update: 'clip + Adam + read' }[part].padEnd(26)}` +
        ` ${String(p.wallMs[part]).padStart(9)} ms wall, ${String(p.kernelMs[part]).padStart(9)} ms in ${p.kernelCalls[part]} kernels`,
    );
  console.log(`  kernel time by kernel (top ${TOP}):`);
  for (const r of p.top)
    console.log(
      `    ${r.name.padEnd(20)} ${String(r.calls).padStart(6)} calls ${r.ms.toFixed(1).padStart(9)} ms  ${pct(r.ms).padStart(6)}`,
    );
  console.log(
    `  MoE gather/scatter dispatch: ${p.dispatchMs.toFixed(1)} ms (${pct(p.dispatchMs)}): ` +
      Object.entries(p.dispatch)
        .sort((a, b) => b[1] - a[1])
        .map(([n, x]) => `${n} ${x.toFixed(1)}`)
        .join(', '),
  );
  console.log(`  BatchMatMul: ${p.batchMatMulMs.toFixed(1)} ms (${pct(p.batchMatMulMs)})`);
  console.log('  GatherV2 and UnsortedSegmentSum by shape (input → output):');
  for (const r of p.gatherScatter)
    console.log(`    ${r.name.padEnd(52)} ${String(r.calls).padStart(4)} calls ${r.ms.toFixed(1).padStart(9)} ms`);
}

/**
 * One training step of the HyperRouter mixture-of-experts character LM of @hypernets/adapters
 * (`new MoeLanguageModel({ router: 'hyperrouter', seed: 0 })`: vocabulary 27, d 256, 8 heads,
 * 4 pre-LN causal blocks, T 128, learned positions, 16 ReLU experts of hidden 128 per block,
 * router [W_r | b_r] generated from a trainable embedding by a frozen hypernetwork 256 → 64 →
 * 16·257), at k experts per token, batch 16 × 128 symbols, as MoeLmTrainer takes it: the taped
 * forward and backward (`tf.variableGrads` of `model.loss`; on cpu and wasm it reads the top-k ids
 * as it goes, on other backends a planning forward, `model.record`, reads them first and the taped
 * one replays them), clip to global norm 0.25, core's Adam (lr 1e-3), on each tfjs backend, next
 * to the same model in PyTorch (python/moe_lm_step.py), which reads its ids synchronously. The first backend's initial variables (the
 * frozen hypernetworks too) and the batch go to the PyTorch side in a temporary .safetensors file;
 * both first-step losses are printed (they must agree within 1e-4 relative). With `profile`, one
 * step on the first backend runs under `tf.profile` afterwards: kernel time by kernel, the share
 * of the MoE's gather/scatter dispatch and of BatchMatMul, and the parts' times.
 */
export async function moeLmStep(o: {
  backends: string[];
  steps: number;
  warmup: number;
  torchThreads: number;
  k: number;
  profile: boolean;
}) {
  const dir = mkdtempSync(join(tmpdir(), 'moe-lm-step-'));
  const file = join(dir, 'state.safetensors');
  let exported = false;
  const loss0: Record<string, number> = {};
  const phases: Record<string, Phases> = {};
  try {
    const { ms, cpuMs, warmupSteps } = await perBackendSteps(
      o,
      async () => {
        const backend = tf.getBackend();
        const w = build(o.k);
        if (!exported) {
          const c = w.model.config;
          const extra = {
            'batch.inputs': w.inputs,
            'batch.targets': w.targets,
            'config.heads_k': tf.tensor1d([c.numHeads, o.k], 'int32'),
          };
          writeFileSync(file, await tensorsToSafetensors({ ...w.model.variables, ...extra }));
          extra['config.heads_k'].dispose();
          exported = true;
        }
        const seen: Phases[] = [];
        return {
          step: async () => {
            const t0 = performance.now();
            const log = await w.record();
            const t1 = performance.now();
            const g = w.taped(log);
            const t2 = performance.now();
            const loss = await w.update(g);
            seen.push({ record: t1 - t0, taped: t2 - t1, update: performance.now() - t2 });
            if (loss0[backend] === undefined) loss0[backend] = loss;
          },
          dispose: () => {
            const timed = seen.slice(-o.steps);
            phases[backend] = {
              record: median(timed.map((p) => p.record)),
              taped: median(timed.map((p) => p.taped)),
              update: median(timed.map((p) => p.update)),
            };
            w.dispose();
          },
        };
      },
      `, k = ${o.k}`,
    );
    for (const [b, p] of Object.entries(phases))
      console.log(
        `${b.padEnd(7)} parts (medians of the timed steps): planning forward (record) ${p.record} ms, ` +
          `taped forward + backward ${p.taped} ms, clip + Adam + read ${p.update} ms` +
          (b === 'webgpu' ? ' (webgpu: queued work finishes in the last part)' : ''),
      );
    // The check: PyTorch's loss of the first step from the same weights and batch.
    let torchLoss0: number | null = null;
    let lossRelDiff: number | null = null;
    if (exported && !ensureTorch()) {
      torchLoss0 = runTorchScript('moe_lm_step.py', ['check', file], o.torchThreads).torch_loss0 as number;
      for (const [b, l] of Object.entries(loss0)) {
        const rel = Math.abs(l - torchLoss0) / Math.abs(torchLoss0);
        lossRelDiff = Math.max(lossRelDiff ?? 0, rel);
        console.log(
          `${b.padEnd(7)} first-step loss ${l.toPrecision(8)}, PyTorch ${torchLoss0.toPrecision(8)}: ` +
            `relative difference ${rel.toExponential(2)} ${rel <= 1e-4 ? '(≤ 1e-4, the same computation)' : '(> 1e-4: NOT THE SAME COMPUTATION)'}`,
        );
      }
    }
    let profile: MoeProfile | null = null;
    const first = o.backends.find((b) => typeof ms[b] === 'number');
    if (o.profile && first) {
      profile = await profileStep(first, o.k, 2);
      printProfile(profile);
    }
    reportAgainstTorch(
      'moe-lm-step',
      ms,
      'moe_lm_step.py',
      [o.steps, warmupSteps, o.torchThreads, file],
      o.torchThreads,
      `median of ${o.steps}`,
      {
        batch: BATCH,
        k: o.k,
        parts_ms: phases,
        loss0,
        torch_loss0: torchLoss0,
        loss_rel_diff: lossRelDiff,
        ...(profile ? { profile } : {}),
      },
      cpuMs,
      1.5, // the target for this workload
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
