import cliProgress from 'cli-progress';
import type { CommandIo } from './command-io.js';

/** A progress bar over `total` units on a terminal, periodic lines elsewhere. */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private last = 0;

  constructor(
    private readonly io: CommandIo,
    private readonly format: string,
  ) {}

  start(total: number, value: number, payload: Record<string, string>): void {
    if (this.io.tty) {
      this.bar = new cliProgress.SingleBar(
        { format: this.format, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, value, payload);
    }
    this.last = Date.now();
  }

  update(value: number, payload: Record<string, string>, line: () => string, force = false): void {
    if (this.bar) this.bar.update(value, payload);
    else if (force || Date.now() - this.last > 10_000) {
      this.io.err(line());
      this.last = Date.now();
    }
  }

  /** A line of its own (an evaluation) where there is no live bar; on a terminal the bar shows it. */
  note(line: string): void {
    if (!this.bar) this.io.err(line);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
