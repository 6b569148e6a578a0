// Section 3: continual learning on Split-MNIST CL1 in the page: a task-conditioned hypernetwork
// (HNET) and plain fine-tuning trained on the same task sequence, one after the other; progress per
// task and each accuracy matrix filling in as tasks finish. Computation: ../continual.ts.
import type { ContinualEvent } from '@hypernets/continual';
import { FULL, QUICK, runContinual, type ClMethod, type ClRun } from '../continual.js';
import { describeMnist, fetchMnist } from '../mnist.js';
import { accuracyHeatmapSpec, chart, type Chart } from '../plots.js';
import { el, table } from '../dom.js';
import type { Section } from './section.js';

const LABEL: Record<ClMethod, string> = { hnet: 'HNET (task-conditioned hypernetwork)', finetune: 'fine-tuning' };
const TITLE: Record<ClMethod, string> = { hnet: 'HNET: accuracy %', finetune: 'fine-tuning: accuracy %' };
const METHODS: ClMethod[] = ['hnet', 'finetune'];
const yieldToBrowser = () => new Promise<void>((r) => setTimeout(r, 0));
const pct = (a: number) => (100 * a).toFixed(2);

interface Ui {
  data: HTMLElement;
  progress: Record<ClMethod, HTMLElement>;
  charts: Record<ClMethod, Chart>;
  summary: HTMLTableSectionElement;
  run: HTMLButtonElement;
}
let ui: Ui | undefined;

function summaryRow(r: ClRun): HTMLTableRowElement {
  const res = r.result;
  return el(
    'tr',
    { 'data-method': r.method },
    el('td', {}, LABEL[r.method]),
    el('td', {}, r.numParams.toLocaleString('en-US')),
    el('td', { 'data-testid': `avg-${r.method}` }, `${pct(res.avgAcc)}%`),
    el('td', {}, pct(res.backwardTransfer)),
    el('td', {}, `${res.seconds.toFixed(1)} s`),
  );
}

export const continualSection: Section = {
  id: 'continual',
  title: '3 · Continual learning: Split-MNIST without forgetting',
  mount(body, ctx, host) {
    const o = ctx.params.quick ? QUICK : FULL;
    const run = el('button', { type: 'button' }, 'Train both');
    run.addEventListener('click', () => void host.start());
    const charts = {} as Record<ClMethod, Chart>;
    const progress = {} as Record<ClMethod, HTMLElement>;
    const boxes = METHODS.map((m) => {
      const box = el('div', { class: 'chart' });
      charts[m] = chart(box, accuracyHeatmapSpec(TITLE[m], o.numTasks), 'acc');
      progress[m] = el('p', { class: 'note', 'data-testid': `progress-${m}` }, `${LABEL[m]}: waiting`);
      return el('div', { class: 'chart-box' }, box, progress[m]);
    });
    const summary = el('tbody');
    ui = {
      data: el('p', { class: 'note', 'data-testid': 'data' }, 'MNIST subset: not loaded yet'),
      progress,
      charts,
      summary,
      run,
    };
    const tgt = `784-${o.targetHidden.join('-')}-2`;
    body.append(
      el(
        'p',
        { class: 'note' },
        `Split-MNIST, CL1 (task identity given, a 2-way head per task): ${o.numTasks} tasks (digits 0/1, 2/3, …), ` +
          `${o.iterations} Adam steps of ${o.batchSize} images per task${ctx.params.quick ? ' (quick)' : ''}, learning rate ${o.lr}. ` +
          `HNET: a chunked hypernetwork (task and chunk embeddings ${o.hnet.taskEmbedding}/${o.hnet.chunkEmbedding}, hidden ` +
          `${o.hnet.hidden.join('-')}, chunks of ${o.hnet.chunkSize.toLocaleString('en-US')}) generates all weights of a target MLP ` +
          `${tgt} from a learned task embedding, with the output regulariser (β = ${o.hnet.beta}) keeping past tasks' weights. ` +
          `Fine-tuning trains the MLP ${tgt} itself, task after task. Smaller than the paper's (MLP 784-400-400, 2,000 steps).`,
      ),
      ui.data,
      el('div', { class: 'controls' }, run),
      el('div', { class: 'pair' }, ...boxes),
      table(['method', 'trainable parameters', 'average final accuracy', 'backward transfer (pp)', 'time'], summary),
    );
  },
  async run(ctx) {
    if (!ctx.backend) throw new Error('no backend is running (the backend section did not finish)');
    const u = ui!;
    const o = ctx.params.quick ? QUICK : FULL;
    u.run.disabled = true;
    try {
      const mnist = await fetchMnist();
      u.data.textContent = `${describeMnist(mnist)}; every task trains on its digits' training images and is tested on its digits' test images.`;
      u.summary.replaceChildren();
      const runs: ClRun[] = [];
      for (const m of METHODS) {
        const rows: { after: number; task: number; acc: number }[] = [];
        await u.charts[m].set([]);
        const p = u.progress[m];
        const onEvent = async (e: ContinualEvent) => {
          if (e.type === 'task-begin') p.textContent = `${LABEL[m]}: task ${e.task + 1}/${e.numTasks} (${e.name})`;
          else if (e.type === 'step') {
            p.textContent =
              `${LABEL[m]}: task ${e.task + 1}/${o.numTasks}, step ${e.step}/${e.iterations}, loss ${e.loss.toFixed(4)}` +
              (e.reg === null ? '' : `, regulariser ${e.reg.toExponential(2)}`);
            await yieldToBrowser();
          } else if (e.type === 'task-end') {
            e.accuracies.forEach((a, j) => {
              if (a !== null) rows.push({ after: e.task + 1, task: j + 1, acc: 100 * a });
            });
            p.textContent = `${LABEL[m]}: task ${e.task + 1}/${o.numTasks} done in ${e.seconds.toFixed(1)} s`;
            await u.charts[m].set(rows.slice());
            await yieldToBrowser();
          }
        };
        const r = await runContinual(mnist, m, o, onEvent);
        runs.push(r);
        p.textContent =
          `${LABEL[m]}: ${o.numTasks} tasks in ${r.result.seconds.toFixed(1)} s on ${ctx.backend.backend}; ` +
          `average final accuracy ${pct(r.result.avgAcc)}%`;
        u.summary.append(summaryRow(r));
      }
      const hnet = runs[0]!;
      (window as any).hypernetsDemo = {
        ...(window as any).hypernetsDemo,
        continual: Object.fromEntries(
          runs.map((r) => [r.method, { avgAcc: r.result.avgAcc, accMatrix: r.result.accMatrix }]),
        ),
      };
      return `${pct(hnet.result.avgAcc)}%`;
    } finally {
      u.run.disabled = false;
    }
  },
};
