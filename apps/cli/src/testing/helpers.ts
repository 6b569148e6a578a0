import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
