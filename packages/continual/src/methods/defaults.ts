import { ConfigError } from '@hypernets/core';
import type { Scenario } from '../scenario.js';

/**
 * Baselines that train the target network's own weights θ directly (no hypernetwork), on the
 * same protocol as HnetMethod: plain fine-tuning, online EWC and Synaptic Intelligence. They
 * are unconditioned (`conditioned = false`): in cl3 they train class-incrementally (softmax
 * over the classes of tasks 0…t, see `taskLoss`).
 *
 * Defaults follow van de Ven & Tolias (2019), "Three scenarios for continual learning"
 * (github.com/GMvandeVen/continual-learning, `param_values.py` of that release, grid-searched
 * per experiment and scenario; the optimiser is one Adam, lr 1e-3, β = (0.9, 0.999), kept
 * across tasks).
 */

export type Benchmark = 'split-mnist' | 'permuted-mnist';
export const BENCHMARKS: readonly Benchmark[] = ['split-mnist', 'permuted-mnist'];

export interface BaselineDefaults {
  /** Online-EWC regularisation strength λ (`o_lambda`). */
  ewcLambda: number;
  /** Online-EWC decay γ of the accumulated Fisher (`gamma`). */
  ewcGamma: number;
  /** SI regularisation strength c (`si_c`). */
  siC: number;
  /** SI damping ξ (`epsilon`). */
  siXi: number;
}

/**
 * van de Ven & Tolias (2019)'s grid-searched hyper-parameters (their `param_values.py`,
 * `o_lambda`, `gamma`, `si_c`; `epsilon` = 0.1 everywhere). cl1/cl2/cl3 are their
 * task-/domain-/class-incremental scenarios. Their λ are large because their Fisher (predicted
 * labels, a well-trained network) is small; ours is the same estimate, so the same scale holds.
 */
const VAN_DE_VEN: Record<Benchmark, Record<Scenario, BaselineDefaults>> = {
  'split-mnist': {
    cl1: { ewcLambda: 1e8, ewcGamma: 0.8, siC: 50, siXi: 0.1 },
    cl2: { ewcLambda: 1e8, ewcGamma: 0.7, siC: 500, siXi: 0.1 },
    cl3: { ewcLambda: 1e9, ewcGamma: 0.8, siC: 0.5, siXi: 0.1 },
  },
  'permuted-mnist': {
    cl1: { ewcLambda: 500, ewcGamma: 0.8, siC: 5, siXi: 0.1 },
    cl2: { ewcLambda: 1000, ewcGamma: 0.9, siC: 5, siXi: 0.1 },
    cl3: { ewcLambda: 5, ewcGamma: 1, siC: 0.1, siXi: 0.1 },
  },
};

/** The defaults for a benchmark and scenario (a copy). */
export function baselineDefaults(benchmark: Benchmark, scenario: Scenario): BaselineDefaults {
  if (!BENCHMARKS.includes(benchmark))
    throw new ConfigError('benchmark', `must be one of ${BENCHMARKS.join(', ')}, got ${JSON.stringify(benchmark)}`);
  const d = VAN_DE_VEN[benchmark][scenario];
  if (!d) throw new ConfigError('scenario', `must be one of cl1, cl2, cl3, got ${JSON.stringify(scenario)}`);
  return { ...d };
}
