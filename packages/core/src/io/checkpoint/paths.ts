import { nodeModules } from '../node.js';

export interface CheckpointPaths {
  tensors: string;
  meta: string;
}

/**
 * `<prefix>.safetensors` and `<prefix>.json` for a target that is a directory (ends with a
 * separator or exists as one: files are `checkpoint.*` inside it), a prefix, or either file.
 */
export async function checkpointPaths(target: string): Promise<CheckpointPaths> {
  const { fs, path } = await nodeModules(target);
  let prefix: string;
  if (target.endsWith('.safetensors')) prefix = target.slice(0, -'.safetensors'.length);
  else if (target.endsWith('.json')) prefix = target.slice(0, -'.json'.length);
  else if (
    /[\\/]$/.test(target) ||
    (await fs.stat(target).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    prefix = path.join(target, 'checkpoint');
  else prefix = target;
  return { tensors: `${prefix}.safetensors`, meta: `${prefix}.json` };
}
