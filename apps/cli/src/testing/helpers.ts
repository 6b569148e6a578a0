import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

// Test helpers (not part of the command).

/** A checkpoint pair as core's saveCheckpoint writes it (one F32 tensor), for `config`. */
export function fakeCheckpoint(dir: string, config: unknown, damage: 'none' | 'truncate' | 'flip' = 'none'): void {
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const bytes = Buffer.concat([len, header, Buffer.from(new Float32Array([1, 2]).buffer)]);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const meta = {
    format: 'hypernets-checkpoint',
    version: 1,
    tensors: { file: 'checkpoint.safetensors', bytes: bytes.length, sha256 },
    meta: { step: 3, config },
  };
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(meta));
  const written = damage === 'truncate' ? bytes.subarray(0, bytes.length - 3) : Buffer.from(bytes);
  if (damage === 'flip') written[written.length - 1]! ^= 0xff;
  writeFileSync(join(dir, 'checkpoint.safetensors'), written);
}

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));

/** Runs the `hypernets` bin from source (wasm backend), as a user's shell would. */
export const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@hypernets/source', bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HYPERNETS_BACKEND: 'wasm' },
    timeout: 120_000,
  });

/**
 * The command exits 2 with `want` on stderr, before work starts: nothing it prints once a
 * backend starts or data loads (`workStarted`) appears.
 */
export function usageError(args: readonly string[], want: RegExp, workStarted: RegExp): void {
  const r = cli(...args);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(want);
  expect(r.stderr + r.stdout).not.toMatch(workStarted);
}
