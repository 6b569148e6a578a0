import { initBackend, shutdownBackend } from '@hypernets/core';
import { loadCharCorpus } from '@hypernets/data';
import { MoeLanguageModel, MoeLmTrainer, type MoeLmTrainEvent } from '@hypernets/adapters';
import { packageRoots } from '../adapters/run.js';
import type { CommandIo } from '../command-io.js';
import { Progress } from '../progress.js';
import { lmFingerprint, type ResolvedLmOptions } from './options.js';
import { CORPUS_SPLIT_SEED, lmResultTable, writeLmReport, type MoeLmSummary } from './report.js';

const n = (x: number) => Math.round(x).toLocaleString('en-US');

/**
 * `hypernets moe lm`: loads the character corpus (before a backend starts: a missing data package
 * is reported first), builds the model, trains it (checkpointing into `out`), tests the
 * best-validation variables at each k and writes the report.
 */
export async function runMoeLm(
  o: ResolvedLmOptions,
  out: string,
  options: { resume: boolean; io: CommandIo; command: string },
): Promise<MoeLmSummary> {
  const { io } = options;
  const roots = packageRoots();
  const t0 = performance.now();
  // a fixed document split (seed 0): runs of any --seed are tested on the same text
  const corpus = await loadCharCorpus({ seed: CORPUS_SPLIT_SEED, stdlibRoot: roots.stdlib, brownRoot: roots.brown });
  io.err(
    `corpus: ${n(corpus.train.length)} / ${n(corpus.valid.length)} / ${n(corpus.test.length)} characters ` +
      `(train / valid / test; ${corpus.alphabet.length} symbols), loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const model = new MoeLanguageModel({
      router: o.router,
      vocabSize: corpus.alphabet.length,
      dModel: o.dModel,
      numHeads: o.heads,
      numBlocks: o.layers,
      seqLength: o.seqLength,
      experts: o.experts,
      expertHidden: o.expertHidden,
      hyperSize: o.hyperSize,
      ...(o.kStart === null ? {} : { topK: o.kStart }),
      loadBalance: o.loadBalance,
      positions: o.positions,
      seed: o.seed,
    });
    try {
      const params = model.paramCounts(o.evalK ?? undefined);
      io.err(
        `${o.router}: ${n(params.total)} parameters, ${n(params.trainable)} trainable, ${n(params.activePerToken)} ` +
          `active per token${o.evalK === null ? '' : ` at k = ${o.evalK}`}; ${o.layers} block${o.layers === 1 ? '' : 's'} ` +
          (o.evalK === null
            ? `with ${o.experts * o.expertHidden}-wide MLPs`
            : `of ${o.experts} experts × ${o.expertHidden}`) +
          `, d ${o.dModel}, ${o.steps} steps of ${o.batchSize} × ${o.seqLength}, ` +
          `lr ${o.lr}` +
          (o.kStart === null ? '' : `, k ${o.kStart} → ${o.kEnd}`),
      );
      const progress = new Progress(
        io,
        'step {value}/{total} |{bar}| loss {loss} k {k} lr {lr} val BPC {val} ETA {eta_formatted}',
      );
      let started = false;
      let lastVal = '-';
      const on = (e: MoeLmTrainEvent) => {
        if (e.type === 'resume') io.err(`resuming from ${e.path} (step ${e.step})`);
        if (e.type === 'checkpoint') progress.note(`  checkpoint at step ${e.step}: ${e.path}`);
        if (e.type === 'eval') {
          lastVal = e.bpc.toFixed(4);
          progress.note(`  step ${e.step}: validation ${lastVal} BPC${e.best ? ' (best)' : ''}`);
        }
        if (e.type !== 'step') return;
        const k = e.k === null ? '-' : String(e.k);
        const payload = { loss: e.loss.toFixed(4), k, lr: e.lr.toExponential(2), val: lastVal };
        if (!started) {
          progress.start(e.steps, e.step - 1, payload);
          started = true;
        }
        progress.update(
          e.step,
          payload,
          () => `  step ${e.step}/${e.steps} loss ${payload.loss} k ${k} lr ${payload.lr} validation ${lastVal} BPC`,
          e.step === e.steps,
        );
      };
      const trainer = new MoeLmTrainer({
        model,
        corpus,
        steps: o.steps,
        batchSize: o.batchSize,
        lr: o.lr,
        gradClip: o.gradClip,
        ...(o.kStart === null ? {} : { kStart: o.kStart, kEnd: o.kEnd!, evalK: o.evalK! }),
        testK: o.testK,
        evalEvery: o.evalEvery,
        evalSymbols: o.evalSymbols,
        testSymbols: o.testSymbols,
        seed: o.seed,
        logEvery: 1,
        checkpointDir: out,
        checkpointEvery: o.checkpointEvery,
        fingerprint: lmFingerprint(o),
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
      const summary: MoeLmSummary = {
        command: 'moe lm',
        router: o.router,
        config: o,
        model: { ...model.config },
        corpus: {
          symbols: corpus.alphabet.length,
          train: corpus.train.length,
          valid: corpus.valid.length,
          test: corpus.test.length,
          splitSeed: CORPUS_SPLIT_SEED,
          sha256: corpus.sha256,
        },
        result,
        seconds: result.seconds,
        backend: info.backend,
        device: info.device,
        invocation: options.command,
      };
      const files = await writeLmReport(out, summary);
      io.out(lmResultTable(summary));
      io.out(
        `best validation ${result.valBpc.toFixed(4)} BPC at step ${result.bestStep} of ${result.steps}; ` +
          `${result.steps} steps in ${result.seconds.toFixed(1)} s`,
      );
      io.out(`wrote ${files.join(', ')}`);
      return summary;
    } finally {
      model.dispose();
    }
  } finally {
    await shutdownBackend();
  }
}
