// Test-only child process for the kill-and-resume test: trains the tiny run with checkpoints
// and prints one line per checkpoint; the parent SIGKILLs it mid-task. argv: dir [resume]
import { tinyRun } from './fixture.js';

const [dir, mode] = process.argv.slice(2);
const { trainer } = await tinyRun({
  dir,
  checkpointEvery: 4,
  onEvent: (e) => {
    if (e.type === 'checkpoint') process.stdout.write(`checkpoint ${e.task} ${e.step}\n`);
  },
});
const r = await trainer.run({ resume: mode === 'resume' });
process.stdout.write(`result ${JSON.stringify(r.accMatrix)}\n`);
