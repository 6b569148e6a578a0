import { ConfigError } from '@hypernets/core';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { ActionOf, Space } from '../spaces.js';
import { Wrapper } from './wrapper.js';

/** The statistics of one finished episode, as Gymnasium puts them in `info.episode`. */
export interface EpisodeStatistics {
  /** The return: the sum of the episode's rewards (as the wrapped env gave them). */
  r: number;
  /** The length in steps. */
  l: number;
  /** Wall-clock seconds since the episode's reset. */
  t: number;
}

/**
 * Adds `info.episode = { r, l, t }` on the step that ends an episode (terminated or truncated), as
 * Gymnasium's RecordEpisodeStatistics; keeps the last `bufferLength` returns and lengths. Put it
 * inside reward-normalising wrappers to record the raw returns.
 */
export class RecordEpisodeStatistics<S extends Space = Space> extends Wrapper<S> {
  /** Returns of the last `bufferLength` episodes, oldest first. */
  readonly returnQueue: number[] = [];
  /** Lengths of the last `bufferLength` episodes, oldest first. */
  readonly lengthQueue: number[] = [];
  /** Episodes finished so far. */
  episodeCount = 0;
  private episodeReturn = 0;
  private episodeLength = 0;
  private start = 0;

  constructor(
    env: Env<S>,
    readonly bufferLength = 100,
  ) {
    super(env);
    if (!Number.isInteger(bufferLength) || bufferLength < 1)
      throw new ConfigError('bufferLength', `must be a positive integer, got ${bufferLength}`);
  }

  override reset(options?: ResetOptions): ResetResult {
    const r = this.env.reset(options);
    this.episodeReturn = 0;
    this.episodeLength = 0;
    this.start = performance.now();
    return r;
  }

  override step(action: ActionOf<S>): StepResult {
    const r = this.env.step(action);
    this.episodeReturn += r.reward;
    this.episodeLength += 1;
    if (!r.terminated && !r.truncated) return r;
    const episode: EpisodeStatistics = {
      r: this.episodeReturn,
      l: this.episodeLength,
      t: Math.round(performance.now() - this.start) / 1000,
    };
    this.episodeCount += 1;
    push(this.returnQueue, episode.r, this.bufferLength);
    push(this.lengthQueue, episode.l, this.bufferLength);
    return { ...r, info: { ...r.info, episode } };
  }
}

function push(queue: number[], value: number, max: number): void {
  queue.push(value);
  if (queue.length > max) queue.shift();
}
