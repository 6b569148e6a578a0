/**
 * Benchmarks. `pnpm bench <workload> [options]`; each workload prints a table and one JSON
 * line that scripts can collect.
 */
import { Command } from 'commander';
import { mlpStep } from './mlp-step.js';
import { hnetStep } from './hnet-step.js';
import { ghnPredict } from './ghn-predict.js';
import { clStep } from './cl-step.js';
import { ghnStep } from './ghn-step.js';
import { hyperformerStep } from './hyperformer-step.js';
import { moeLmStep } from './moe-lm-step.js';
import { ppoStep } from './ppo-step.js';
import { DEFAULT_BIN, cliStartup } from './cli-startup.js';
import * as tf from '@tensorflow/tfjs-core';

// A command-line tool: no tfjs console advice ("install tfjs-node") between our own lines.
tf.env().set('PROD', true);

const program = new Command('bench').description('hypernets benchmarks').exitOverride();

/** A per-backend timing workload: `--backends`, `--steps` and `--warmup`, with this workload's defaults. */
function stepCommand(name: string, description: string, d: { backends: string; steps: number; warmup: number }) {
  return program
    .command(name)
    .description(description)
    .option('--backends <list>', 'comma-separated backends', d.backends)
    .option('--steps <n>', 'timed steps per backend', String(d.steps))
    .option(
      '--warmup <n>',
      'untimed steps per backend: at least this many, and at least 2 s of them',
      String(d.warmup),
    );
}

/** The common options parsed: steps ≥ 1 and warmup ≥ 0 whole numbers, or exit 2 saying which. */
function stepOptions(o: { backends: string; steps: string; warmup: string }) {
  const steps = Number(o.steps);
  const warmup = Number(o.warmup);
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(warmup) || warmup < 0) {
    console.error(`--steps takes an integer ≥ 1 and --warmup one ≥ 0, got '${o.steps}', '${o.warmup}'`);
    process.exit(2);
  }
  return { backends: o.backends.split(','), steps, warmup };
}

for (const [name, what, backends, run] of [
  ['mlp-step', '(forward, backward, Adam) of an MLP 784-100-100-10, batch 128', 'cpu,wasm,webgpu', mlpStep],
  ['hnet-step', 'of a ChunkedHyperMLP generating an MLP 784-100-100-10', 'wasm,cpu', hnetStep],
  ['hyperformer-step', 'of HyperFormer++ on the frozen USE lite, 32 texts × 64 tokens', 'wasm', hyperformerStep],
] as const) {
  stepCommand(name, `ms per training step ${what}, tfjs backends vs PyTorch on the CPU`, {
    backends,
    steps: 100,
    warmup: 20,
  })
    .option('--torch-threads <n>', 'PyTorch intra-op threads (wasm runs on 1)', '1')
    .action(async (o) => {
      await run({ ...stepOptions(o), torchThreads: +o.torchThreads });
    });
}

stepCommand(
  'cl-step',
  'ms per training step of the Permuted-MNIST-10 CL1 hypernetwork (2.1M generated weights) ' +
    'with k past tasks to regularise, tfjs backends vs PyTorch on the CPU',
  { backends: 'wasm', steps: 10, warmup: 2 },
)
  .option('--past <k>', 'past tasks in the regulariser (0-9)', '5')
  .option('--torch-threads <n>', 'PyTorch intra-op threads (wasm runs on 1)', '1')
  .action(async (o) => {
    const past = Number(o.past);
    if (!Number.isInteger(past) || past < 0 || past > 9) {
      console.error(`--past takes an integer from 0 to 9, got '${o.past}'`);
      process.exit(2);
    }
    await clStep({ ...stepOptions(o), torchThreads: +o.torchThreads, past });
  });

stepCommand(
  'moe-lm-step',
  'ms per training step of the HyperRouter mixture-of-experts char-LM (d 256, 4 blocks of 16 experts, ' +
    '16 windows × 128 symbols: planning forward, taped forward + backward, clip, Adam), tfjs backends vs PyTorch on the CPU',
  { backends: 'wasm', steps: 10, warmup: 2 },
)
  .option('--k <n>', 'experts per token (1-16)', '8')
  .option('--profile', 'afterwards, tf.profile one step on the first backend: kernel time by kernel, the MoE dispatch')
  .option('--torch-threads <n>', 'PyTorch intra-op threads (wasm runs on 1)', '1')
  .action(async (o) => {
    const k = Number(o.k);
    if (!Number.isInteger(k) || k < 1 || k > 16) {
      console.error(`--k takes an integer from 1 to 16, got '${o.k}'`);
      process.exit(2);
    }
    await moeLmStep({ ...stepOptions(o), torchThreads: +o.torchThreads, k, profile: o.profile === true });
  });

stepCommand(
  'ppo-step',
  'env steps per second of a PPO run on HalfCheetah-v5 (one iteration of CleanRL ppo_continuous_action: 2048 ' +
    'rollout steps, 10 epochs × 32 minibatches), tfjs backends vs PyTorch on the same recorded workload',
  { backends: 'wasm', steps: 5, warmup: 1 },
)
  .option('--torch-threads <n>', 'PyTorch intra-op threads (wasm runs on 1)', '1')
  .action(async (o) => {
    await ppoStep({ ...stepOptions(o), torchThreads: +o.torchThreads });
  });

stepCommand(
  'ghn-step',
  'ms per GHN-2 meta-training step (m DeepNets-1M-style architectures on one MNIST batch, backward, Adam), per backend',
  { backends: 'wasm', steps: 5, warmup: 1 },
)
  .option('--archs <m>', 'architectures per step (ppuda: 8)', '8')
  .option('--batch <n>', 'images per step (ppuda: 64)', '64')
  .option('--hid <n>', "the GHN's hidden size (hypernets ghn train's default: 32)", '32')
  .action(async (o) => {
    await ghnStep({
      ...stepOptions(o),
      archsPerStep: +o.archs,
      batchSize: +o.batch,
      hid: +o.hid,
    });
  });

program
  .command('ghn-predict')
  .description(
    'ms to predict all parameters of ResNet-50 / ResNet-18 with GHN-2, tfjs backends vs ppuda (PyTorch) on the CPU',
  )
  .option('--backends <list>', 'comma-separated backends', 'wasm')
  .option('--runs <n>', 'timed runs per net', '10')
  .option('--warmup <n>', 'untimed runs per net', '2')
  .option(
    '--ppuda <dir>',
    "ppuda's source: a checkout or a bare git dir (default $PPUDA_DIR; without either, ppuda's side is skipped and the bench says how to get it)",
    process.env.PPUDA_DIR || undefined,
  )
  .option('--torch-threads <n>', 'PyTorch intra-op threads', '2')
  .action(async (o) => {
    await ghnPredict({
      backends: o.backends.split(','),
      runs: +o.runs,
      warmup: +o.warmup,
      ppuda: o.ppuda,
      torchThreads: +o.torchThreads,
    });
  });

program
  .command('cli-startup')
  .description(
    'start-up of the built hypernets command: median wall ms of `node apps/cli/dist/bin.js --help` over n spawns (target < 1 s)',
  )
  .option('--runs <n>', 'timed spawns', '20')
  .option('--warmup <n>', 'untimed spawns first', '2')
  .option('--bin <file>', 'the built bin', DEFAULT_BIN)
  .option('--args <words>', 'its arguments, space-separated', '--help')
  .option('--expect <code>', 'exit code each spawn must return', '0')
  .action(async (o) => {
    const runs = Number(o.runs);
    const warmup = Number(o.warmup);
    if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
      console.error(`--runs takes an integer ≥ 1 and --warmup one ≥ 0, got '${o.runs}', '${o.warmup}'`);
      process.exit(2);
    }
    await cliStartup({
      bin: o.bin,
      args: String(o.args).split(' ').filter(Boolean),
      runs,
      warmup,
      expect: Number(o.expect),
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as { code?: string; exitCode?: number; message?: string };
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') process.exit(0);
  if (err.code?.startsWith('commander.')) process.exit(2);
  console.error(e);
  process.exit(1);
}
