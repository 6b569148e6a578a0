import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors/index.js';
import type { Weights } from './params.js';
import type { ForwardOptions, HostReadLog, HostValues, StagedForward, TargetNet } from './target.js';

/** Backends whose tensors live in host memory: a read there is a copy, never a device sync. */
const HOST_MEMORY_BACKENDS: ReadonlySet<string> = new Set(['cpu', 'wasm']);

/**
 * Whether the active backend keeps tensors in host memory (cpu, wasm), where a staged forward
 * may read its values synchronously, in one pass, even under a gradient tape (as PyTorch reads
 * its top-k ids). Elsewhere (webgpu, tfjs-node's TensorFlow) values are recorded first with
 * `recordHostReads`, read with `await data()`.
 */
export function hostReadsAreSynchronous(): boolean {
  return HOST_MEMORY_BACKENDS.has(tf.getBackend());
}

/**
 * Runs a staged forward synchronously. Each `HostRead` is answered with the next recorded entry
 * of `log` (what `recordHostReads` read) when one is given; without a log, on a host-memory
 * backend (`hostReadsAreSynchronous`), by reading its tensors synchronously there and then. The
 * caller owns the scope (call it inside `tf.tidy`).
 *
 * @throws ConfigError when the forward asks for a value with no log on a backend that cannot read
 * synchronously, or when `log` ends early, names another site, or has entries left over: it was
 * recorded for another input or configuration.
 */
export function replayHostReads(
  staged: StagedForward,
  log: HostReadLog | undefined,
  owner: string,
  readSync = hostReadsAreSynchronous(),
): tf.Tensor {
  let i = 0;
  let r = staged.next();
  while (!r.done) {
    const site = r.value.site;
    if (log === undefined) {
      if (!readSync)
        throw new ConfigError(
          'options.hostReads',
          `${owner} reads values back at '${site}' (its data flow depends on them), which the ${tf.getBackend()} backend cannot do synchronously: run recordHostReads on the same input first and pass its log as options.hostReads`,
        );
      const tensors = r.value.read();
      const values = tensors.map((t) => t.dataSync()) as unknown as HostValues;
      for (const t of tensors) t.dispose();
      r = staged.next(values);
      continue;
    }
    const entry = log.entries[i];
    if (entry === undefined || entry.site !== site)
      throw new ConfigError(
        'options.hostReads',
        `${owner} asks for '${site}' as read ${i + 1}, but the log ${entry ? `has '${entry.site}' there` : `holds only ${log.entries.length} reads`}: record it again for this input and configuration`,
      );
    i++;
    r = staged.next(entry.values);
  }
  if (log !== undefined && i !== log.entries.length)
    throw new ConfigError(
      'options.hostReads',
      `${owner} made ${i} reads but the log holds ${log.entries.length}: it was recorded for another input or configuration`,
    );
  return r.value;
}

/**
 * Runs a staged forward, reading each `HostRead`'s tensors with `await data()` (never
 * synchronously: this is the GPU-safe path), and returns the output with the log of what was
 * read. Every tensor the forward made is disposed except the output. Tensor work of other
 * async tasks must not interleave with this call (its scope spans the awaits).
 */
export async function recordHostReads(make: () => StagedForward): Promise<{ output: tf.Tensor; log: HostReadLog }> {
  const engine = tf.engine();
  const entries: { site: string; values: HostValues }[] = [];
  engine.startScope('recordHostReads');
  let output: tf.Tensor;
  try {
    const staged = make();
    let r = staged.next();
    while (!r.done) {
      const tensors = r.value.read();
      const values = (await Promise.all(tensors.map((t) => t.data()))) as unknown as HostValues;
      for (const t of tensors) t.dispose();
      entries.push({ site: r.value.site, values });
      r = staged.next(values);
    }
    output = r.value;
  } catch (e) {
    engine.endScope();
    throw e;
  }
  engine.endScope(output);
  return { output, log: { entries } };
}

/**
 * `net`'s forward on the host-read-safe path: a staged net runs through `recordHostReads`
 * (its log is returned for a replay under a tape), any other net runs `forward` (empty log).
 */
export async function forwardRecorded(
  net: TargetNet,
  x: tf.Tensor,
  weights: Weights,
  options: ForwardOptions = {},
): Promise<{ output: tf.Tensor; log: HostReadLog }> {
  if (!net.forwardStaged) return { output: net.forward(x, weights, options), log: { entries: [] } };
  const { hostReads: _ignored, ...rest } = options;
  return recordHostReads(() => net.forwardStaged!(x, weights, rest));
}
