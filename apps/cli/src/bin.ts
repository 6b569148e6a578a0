import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { runDemo } from './demo.js';
import { continualCommand } from './continual/command.js';
import { UsageError } from './continual/options.js';
import { runContinual } from './continual/run.js';
import { ghnCommand } from './ghn/command.js';
import * as tf from '@tensorflow/tfjs-core';

// A command-line tool: no tfjs console advice ("install tfjs-node") between our own lines.
tf.env().set('PROD', true);

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
};
const BACKENDS = ['auto', 'cuda', 'webgpu', 'wasm', 'cpu'];

export function buildProgram() {
  const program = new Command('hypernets').description('hypernetworks on TensorFlow.js').exitOverride();
  program
    .command('demo')
    .description('train a hypernetwork on a family of sine waves and print its loss falling')
    .option('--backend <name>', `one of ${BACKENDS.join(', ')} (default: $HYPERNETS_BACKEND or auto)`, (v: string) => {
      if (!BACKENDS.includes(v)) throw new InvalidArgumentError(`use one of ${BACKENDS.join(', ')}`);
      return v;
    })
    .option('--steps <n>', 'training steps', int('--steps', 1), 600)
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .option('--tasks <n>', 'tasks per batch', int('--tasks', 1), 16)
    .option('--points <n>', 'points per task', int('--points', 1), 32)
    .action(async (o) => {
      await runDemo({ backend: o.backend, steps: o.steps, seed: o.seed, tasksPerBatch: o.tasks, pointsPerTask: o.points });
    });
  program.addCommand(
    continualCommand(async ({ config, out, resume, json }) => {
      const err = (l: string) => process.stderr.write(`${l}\n`);
      const io = { out: json ? err : (l: string) => process.stdout.write(`${l}\n`), err, tty: Boolean(process.stderr.isTTY) && !json };
      const s = await runContinual(config, out, { resume, io });
      if (json) {
        const { benchmark, scenario, method, avg_acc, acc_matrix, seconds, backend, backward_transfer, forgetting, task_seconds } = s;
        process.stdout.write(JSON.stringify({ benchmark, scenario, method, avg_acc, acc_matrix, seconds, backend, backward_transfer, forgetting, task_seconds, out }) + '\n');
      }
    }),
  );
  program.addCommand(ghnCommand());
  return program;
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bin.ts');
if (isMain) {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    console.error(e instanceof Error ? `error: ${e.message}` : e);
    process.exit(1);
  }
}
