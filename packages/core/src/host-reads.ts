import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors/index.js';
import type { Weights } from './params.js';
import type { ForwardOptions, HostReadLog, HostValues, StagedForward, TargetNet } from './target.js';

/**
 * Runs a staged forward synchronously, answering each `HostRead` with the next recorded entry
 * of `log` (what `recordHostReads` read): the way a net whose data flow depends on tensor
 * values (top-k routing) runs under a gradient tape, where nothing may be read back. The caller
 * owns the scope (call it inside `tf.tidy`).
 *
 * @throws ConfigError when the forward asks for a value and `log` is missing, ends early, names
 * another site, or has entries left over: it was recorded for another input or configuration.
 */
export function replayHostReads(staged: StagedForward, log: HostReadLog | undefined, owner: string): tf.Tensor {
  let i = 0;
  let r = staged.next();
  while (!r.done) {
    const site = r.value.site;
    if (log === undefined)
      throw new ConfigError(
        'options.hostReads',
        `${owner} reads values back at '${site}' (its data flow depends on them): run recordHostReads on the same input first and pass its log as options.hostReads`,
      );
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
