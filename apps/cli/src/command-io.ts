import type { Command } from 'commander';

/** Where a command writes: results, progress and notes, and whether a live bar fits (a terminal). */
export interface CommandIo {
  /** Human-readable results. */
  out: (line: string) => void;
  /** Progress and notes. */
  err: (line: string) => void;
  /** A live progress bar on a terminal (else a line every ten seconds). */
  tty: boolean;
}

/** With `--json`, results go to stderr too, so stdout holds only the one JSON line. */
export function ioFor(json: boolean): CommandIo {
  const err = (l: string) => process.stderr.write(`${l}\n`);
  return {
    out: json ? err : (l: string) => process.stdout.write(`${l}\n`),
    err,
    tty: Boolean(process.stderr.isTTY) && !json,
  };
}

/** The one line `--json` prints at the end. */
export const jsonLine = (o: unknown): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

/** A comma-separated flag value as a list (blank entries dropped). */
export const words = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The values the user typed (camelCase keys), without commander's undefineds. */
export function given(opts: Record<string, unknown>, cmd: Command, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (cmd.getOptionValueSource(k) === 'cli' && opts[k] !== undefined) out[k] = opts[k];
  return out;
}
