import cliProgress from 'cli-progress';
import { MLP, countParams, initBackend, shutdownBackend } from '@hypernets/core';
import { PermutedMnist, SplitMnist, type TaskStream } from '@hypernets/data';
import { ChunkedHyperMLP } from '@hypernets/nets';
import {
  ContinualTrainer,
  EwcMethod,
  FinetuneMethod,
  HnetMethod,
  SiMethod,
  headLayout,
  type ContinualEvent,
  type ContinualMethod,
  type HeadLayout,
} from '@hypernets/continual';
import { fingerprintOf, type ContinualConfig } from './options.js';
import { accuracyTable, summaryOf, writeReport, type RunSummary } from './report.js';

export interface RunIo {
  /** Human-readable lines (the table, file list). */
  out: (line: string) => void;
  /** Progress and notes. */
  err: (line: string) => void;
  /** A live progress bar on a terminal (else a line every few hundred steps). */
  tty: boolean;
}

export async function buildStream(cfg: ContinualConfig): Promise<TaskStream> {
  if (cfg.benchmark === 'split-mnist') return SplitMnist.load({ numTasks: cfg.tasks, valSize: cfg.valSize });
  return PermutedMnist.load({ numTasks: cfg.tasks, seed: cfg.dataSeed, padding: 2, valSize: cfg.valSize });
}

export function buildMethod(
  cfg: ContinualConfig,
  stream: TaskStream,
  layout: HeadLayout,
): { method: ContinualMethod; target: MLP } {
  const target = new MLP({
    inputSize: stream.inputSize,
    hiddenSizes: cfg.targetHidden,
    outputSize: layout.outputs,
    activation: 'relu',
  });
  const common = { target, layout, lr: cfg.lr, seed: cfg.seed };
  switch (cfg.method) {
    case 'hnet': {
      const h = cfg.hnet;
      const hnet = new ChunkedHyperMLP({
        target,
        numConditions: cfg.tasks,
        embeddingSize: h.taskEmbedding,
        chunkEmbeddingSize: h.chunkEmbedding,
        hiddenSizes: h.hidden,
        activation: h.activation,
        chunkSize: h.chunkSize,
        init: h.init,
        flatOrder: h.flatOrder,
        seed: cfg.seed,
      });
      const method = new HnetMethod({
        hnet,
        target,
        layout,
        beta: h.beta,
        lr: cfg.lr,
        lookahead: h.lookahead,
        regTasksPerStep: h.regTasks ?? undefined,
        onlineTargets: h.onlineTargets,
        resetOptimizer: h.resetOptimizer,
        seed: cfg.seed,
      });
      return { method, target };
    }
    case 'finetune':
      return { method: new FinetuneMethod(common), target };
    case 'ewc':
      return {
        method: new EwcMethod({
          ...common,
          benchmark: cfg.benchmark,
          lambda: cfg.ewc.lambda,
          gamma: cfg.ewc.gamma,
          fisherN: cfg.ewc.fisherN,
        }),
        target,
      };
    case 'si':
      return { method: new SiMethod({ ...common, benchmark: cfg.benchmark, c: cfg.si.c, xi: cfg.si.xi }), target };
  }
}

export { fingerprintOf } from './options.js';

/** Runs `hypernets continual` end to end: train, evaluate, report. */
export async function runContinual(
  cfg: ContinualConfig,
  outDir: string,
  options: { resume: boolean; io: RunIo },
): Promise<RunSummary> {
  const { io } = options;
  const info = await initBackend(cfg.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const stream = await buildStream(cfg);
    const layout = headLayout(stream, cfg.scenario);
    const { method, target } = buildMethod(cfg, stream, layout);
    const params = { method: method.numParams, target: countParams(target.params) };
    io.err(
      `${stream.name}, ${cfg.scenario.toUpperCase()}, ${cfg.method}: ${params.method.toLocaleString('en-US')} ` +
        `trainable parameters (target ${params.target.toLocaleString('en-US')}), ${cfg.iterations} iterations per task`,
    );
    const progress = new Progress(io, cfg);
    const trainer = new ContinualTrainer({
      stream,
      method,
      iterations: cfg.iterations,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      evalBatchSize: cfg.evalBatchSize,
      logEvery: 10,
      checkpointDir: outDir,
      checkpointEvery: cfg.checkpointEvery,
      fingerprint: fingerprintOf(cfg),
      callbacks: { onEvent: (e) => progress.on(e) },
    });
    let result;
    try {
      result = await trainer.run({ resume: options.resume });
    } finally {
      progress.stop();
    }
    method.dispose();
    const summary = summaryOf(cfg, result, info, params);
    const files = await writeReport(outDir, summary, result);
    io.out(`\naccuracy matrix (%), ${stream.name} ${cfg.scenario.toUpperCase()} ${cfg.method}:`);
    io.out(accuracyTable(result.accMatrix));
    io.out(
      `average final accuracy ${(100 * result.avgAcc).toFixed(2)}%, backward transfer ` +
        `${(100 * result.backwardTransfer).toFixed(2)}, ${result.seconds.toFixed(1)} s`,
    );
    io.out(`wrote ${files.join(', ')}`);
    return summary;
  } finally {
    await shutdownBackend();
  }
}

/** Progress bar (task, step, loss, ETA) on a terminal; periodic lines elsewhere. */
class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = 0;

  constructor(
    private readonly io: RunIo,
    private readonly cfg: ContinualConfig,
  ) {}

  on(e: ContinualEvent): void {
    switch (e.type) {
      case 'resume':
        this.io.err(`resuming from ${e.path} (task ${e.task}, step ${e.step})`);
        break;
      case 'task-begin':
        if (this.io.tty) {
          this.bar = new cliProgress.SingleBar(
            {
              format: `task ${e.task + 1}/${e.numTasks} {name} |{bar}| {value}/{total} loss {loss} reg {reg} ETA {eta_formatted}`,
              stream: process.stderr,
              hideCursor: true,
              etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
          );
          this.bar.start(this.cfg.iterations, 0, { name: e.name, loss: '-', reg: '-' });
        } else this.io.err(`task ${e.task + 1}/${e.numTasks} (${e.name})`);
        this.lastLine = Date.now();
        break;
      case 'step':
        if (this.bar)
          this.bar.update(e.step, { loss: e.loss.toFixed(4), reg: e.reg === null ? '-' : e.reg.toExponential(2) });
        else if (Date.now() - this.lastLine > 10_000 || e.step === e.iterations) {
          this.io.err(
            `  step ${e.step}/${e.iterations} loss ${e.loss.toFixed(4)}${e.reg === null ? '' : ` reg ${e.reg.toExponential(2)}`}`,
          );
          this.lastLine = Date.now();
        }
        break;
      case 'task-end':
        this.stop();
        this.io.err(
          `  task ${e.task + 1} done in ${e.seconds.toFixed(1)} s; accuracy ${e.accuracies
            .filter((a) => a !== null)
            .map((a) => (100 * a!).toFixed(2))
            .join(' ')}`,
        );
        break;
      default:
        break;
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
