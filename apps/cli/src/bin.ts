import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { adaptersCommand } from './adapters/command.js';
import { parseIntArg } from './args.js';
import { continualCommand } from './continual/command.js';
import { UsageError } from './continual/options.js';
import { ghnCommand } from './ghn/command.js';
import { loadTf } from './lazy.js';
import { moeCommand } from './moe/command.js';
import { rlCommand } from './rl/command.js';

// tfjs, the backends and the packages load inside each command's action (lazy.ts), so `--help` and
// usage errors answer without loading them.

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = parseIntArg(name, v);
  if (n < min || n > max)
    throw new InvalidArgumentError(
      `${name} must be a whole number from ${min} to ${max.toLocaleString('en-US')}, got '${v}'`,
    );
  return n;
};
/** The fields of `continual --json`'s one result line, in order (`out` follows). */
const JSON_RESULT_KEYS = [
  'benchmark',
  'scenario',
  'method',
  'avg_acc',
  'acc_matrix',
  'seconds',
  'backend',
  'device',
  'backward_transfer',
  'forgetting',
  'task_seconds',
] as const;
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
    .option('--steps <n>', 'training steps', int('--steps', 1, 10_000_000), 600)
    .option('--seed <n>', 'random seed', int('--seed', 0, 2 ** 31 - 1), 0)
    .option('--tasks <n>', 'tasks per batch', int('--tasks', 1, 4096), 16)
    .option('--points <n>', 'points per task', int('--points', 1, 4096), 32)
    .action(async (o) => {
      await loadTf();
      const { runDemo } = await import('./demo.js');
      await runDemo({
        backend: o.backend,
        steps: o.steps,
        seed: o.seed,
        tasksPerBatch: o.tasks,
        pointsPerTask: o.points,
      });
    });
  program.addCommand(
    continualCommand(async ({ config, out, resume, json }) => {
      const err = (l: string) => process.stderr.write(`${l}\n`);
      const io = {
        out: json ? err : (l: string) => process.stdout.write(`${l}\n`),
        err,
        tty: Boolean(process.stderr.isTTY) && !json,
      };
      await loadTf();
      const { runContinual } = await import('./continual/run.js');
      const s = await runContinual(config, out, { resume, io });
      if (json) {
        const line = Object.fromEntries(JSON_RESULT_KEYS.map((k) => [k, s[k]]));
        process.stdout.write(JSON.stringify({ ...line, out }) + '\n');
      }
    }),
  );
  program.addCommand(ghnCommand());
  program.addCommand(adaptersCommand());
  program.addCommand(moeCommand());
  program.addCommand(rlCommand());
  return program;
}

// Run when this file is the entry point: `node dist/bin.js`, `tsx src/bin.ts`, or npm's
// node_modules/.bin/hypernets symlink (argv[1] is the link, so compare real paths).
const isMain = await (async () => {
  const entry = process.argv[1];
  if (!entry) return false;
  if (entry.endsWith('bin.ts')) return true;
  const { realpathSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (isMain) {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    if (UsageError.isInstance(e)) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    console.error(e instanceof Error ? `error: ${e.message}` : e);
    process.exit(1);
  }
}
