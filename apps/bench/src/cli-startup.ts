import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `hypernets` command (apps/cli/dist/bin.js), as a user runs it. */
export const DEFAULT_BIN = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Wall ms of one `node <args>` process, start to exit; throws unless it exits with `expect`. */
function spawnMs(args: string[], expect: number): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== expect)
    throw new Error(
      `node ${args.join(' ')} exited with ${r.status ?? r.signal}, not ${expect}: ${r.stderr.trim().slice(0, 500)}`,
    );
  return ms;
}

/**
 * Start-up of the built command: `node apps/cli/dist/bin.js --help` spawned `runs` times
 * (after `warmup` untimed ones, which fill the OS file cache), median wall ms; beside it, the
 * median of a bare `node -e 0` (Node's own start-up on this machine, the floor).
 */
export async function cliStartup({
  bin,
  args,
  runs,
  warmup,
  expect,
}: {
  bin: string;
  args: string[];
  runs: number;
  warmup: number;
  expect: number;
}) {
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: build the CLI first (pnpm build)`);
  const cmd = [bin, ...args];
  for (let i = 0; i < warmup; i++) spawnMs(cmd, expect);
  const cli: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    cli.push(spawnMs(cmd, expect));
    bare.push(spawnMs(['-e', '0'], 0));
  }
  const shown = `node ${relative(REPO, bin)} ${args.join(' ')}`.trim();
  const r = {
    median: +median(cli).toFixed(1),
    min: +Math.min(...cli).toFixed(1),
    max: +Math.max(...cli).toFixed(1),
    node: +median(bare).toFixed(1),
  };
  console.log(
    `${shown}: median ${r.median} ms (min ${r.min}, max ${r.max}) over ${runs} runs; bare node -e 0: ${r.node} ms`,
  );
  console.log(
    JSON.stringify({
      workload: 'cli-startup',
      command: shown,
      runs,
      median_ms: r.median,
      min_ms: r.min,
      max_ms: r.max,
      node_ms: r.node,
      target_ms: 1000,
      node_version: process.version,
    }),
  );
}
