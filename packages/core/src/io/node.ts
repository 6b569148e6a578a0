import { CheckpointError } from '../errors/index.js';

/**
 * Node built-ins, loaded on first use. Loading them lazily keeps `@hypernets/core` importable
 * in browsers (bundlers never see a static `node:fs` import); only the file functions need Node.
 */
export interface NodeModules {
  fs: typeof import('node:fs/promises');
  path: typeof import('node:path');
  crypto: typeof import('node:crypto');
}

let cached: Promise<NodeModules> | undefined;

export async function nodeModules(file: string): Promise<NodeModules> {
  cached ??= Promise.all([import('node:fs/promises'), import('node:path'), import('node:crypto')]).then(
    ([fs, path, crypto]) => ({ fs, path, crypto }),
  );
  try {
    return await cached;
  } catch (e) {
    cached = undefined;
    throw new CheckpointError(
      file,
      `file checkpoints need Node.js (node:fs could not be loaded: ${(e as Error).message}); ` +
        'in a browser, use encodeSafetensors/decodeSafetensors on bytes instead',
      { cause: e },
    );
  }
}

/** A short description of a system error (`ENOENT: no such file or directory`). */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

export function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
