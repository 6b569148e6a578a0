import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../continual/options.js';
import { loadTf } from '../lazy.js';

/** The heavy part of a `moe` subcommand (tfjs, the packages), loaded when it runs. */
export async function runner<T>(load: () => Promise<T>): Promise<T> {
  await loadTf();
  return load();
}

/** The command line as typed (after `hypernets`), shell-quoted where needed: summary.md shows it. */
export function typedCommand(cmd: Command): string {
  let root = cmd;
  while (root.parent) root = root.parent;
  const raw = (root as Command & { rawArgs?: string[] }).rawArgs ?? [];
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['hypernets', ...raw.slice(2).map(quote)].join(' ');
}

/**
 * `--resume` (without --overwrite) says there is a run to continue: its checkpoint must be there
 * (prepareOutDir takes a missing checkpoint as a fresh start).
 */
export async function requireCheckpoint(out: string, resume: boolean, overwrite: boolean): Promise<void> {
  if (!resume || overwrite) return;
  const there = await stat(join(out, 'checkpoint.json')).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!there)
    throw new UsageError(
      `--resume: ${out} holds no checkpoint to continue (no checkpoint.json); leave --resume out to start a ` +
        'new run there, or pass the --out of the run to continue',
    );
}
