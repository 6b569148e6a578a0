// Section 4: a graph hypernetwork (LoGAH, meta-trained on MNIST by this project) predicts every
// parameter of an architecture the visitor picks; the predicted network is tested on the MNIST test
// subset with no training, next to its random init. Computation: ../ghn.ts.
import type { GHN2 } from '@hypernets/graph';
import {
  DEFAULT_ARCH,
  GHN_ARCHS,
  GHN_FILE,
  TEST_SAMPLES,
  ghnArch,
  testSamplesFor,
  loadGhn,
  predictAndEvaluate,
  type GhnArchName,
  type GhnResult,
} from '../ghn.js';
import { describeMnist, fetchMnist } from '../mnist.js';
import { el, fmtMs, table } from '../dom.js';
import type { Section } from './section.js';

const ARCH_LABEL: Record<GhnArchName, string> = {
  resnet20: 'ResNet-20 (CIFAR-style, BN)',
  mlp: 'MLP 784-256-128-10',
  lenet5: 'LeNet-5 (no normalisation)',
  sampled: 'sampled from the small MLP/CNN/ResNet family',
};
const pct = (a: number) => (100 * a).toFixed(2);

interface Ui {
  select: HTMLSelectElement;
  seed: HTMLInputElement;
  run: HTMLButtonElement;
  data: HTMLElement;
  progress: HTMLElement;
  rows: HTMLTableSectionElement;
}
let ui: Ui | undefined;
let ghn: Promise<GHN2> | undefined;

async function fetchGhn(): Promise<GHN2> {
  ghn ??= (async () => {
    const url = `${import.meta.env.BASE_URL}${GHN_FILE}`;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`fetching ${url}: HTTP ${res.status}`);
    return loadGhn(new Uint8Array(await res.arrayBuffer()));
  })();
  ghn.catch(() => (ghn = undefined));
  return ghn;
}

function resultRow(r: GhnResult, label: string): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-arch': String(r.id) },
    el('td', {}, label),
    el('td', { 'data-testid': 'params' }, r.numParams.toLocaleString('en-US')),
    el('td', { 'data-testid': 'predict-ms' }, fmtMs(r.predictMs)),
    el('td', {}, r.paramNorm.toFixed(2)),
    el('td', { 'data-testid': 'accuracy' }, `${pct(r.accuracy)}%`),
    el('td', {}, `${pct(r.randomInit)}%`),
    el('td', {}, r.missing.length ? `${r.missing.length} not predicted (seeded init)` : 'all predicted'),
  );
}

export const ghnSection: Section = {
  id: 'ghn',
  title: '4 · A graph hypernetwork predicts a whole network',
  mount(body, ctx, host) {
    const select = el('select', { 'aria-label': 'architecture' });
    for (const a of GHN_ARCHS) {
      const opt = el('option', { value: a }, `${a}: ${ARCH_LABEL[a]}`);
      if (a === DEFAULT_ARCH) opt.selected = true;
      select.append(opt);
    }
    const seed = el('input', { type: 'number', min: 0, step: 1, value: 0, 'aria-label': 'sample seed', class: 'seed' });
    const run = el('button', { type: 'button' }, 'Predict and test');
    run.addEventListener('click', () => void host.start());
    const rows = el('tbody');
    const n = ctx.params.quick ? TEST_SAMPLES.quick : TEST_SAMPLES.full;
    const cpuNote = ctx.params.quick
      ? ''
      : ` (${TEST_SAMPLES.cpu} on the cpu backend, whose convolutions are plain JavaScript)`;
    ui = {
      select,
      seed,
      run,
      rows,
      data: el('p', { class: 'note', 'data-testid': 'data' }, 'MNIST subset: not loaded yet'),
      progress: el('p', { class: 'note', 'data-testid': 'progress' }),
    };
    body.append(
      el(
        'p',
        { class: 'note' },
        'A LoGAH (GHN-3 with a low-rank decoder, 816,804 parameters) meta-trained by this project on MNIST over a small ' +
          'family of MLPs, CNNs and ResNets (public/ghn/README.md: provenance and accuracies) reads an architecture as a ' +
          `computational graph and predicts all of its parameters in one pass. The predicted network is then tested on the first ` +
          `${n.toLocaleString('en-US')} MNIST test images${ctx.params.quick ? ' (quick)' : cpuNote} with no training at all ` +
          '(BN nets with each test batch’s statistics), next to the same network from its own random init (chance: ~10%).',
      ),
      ui.data,
      el(
        'div',
        { class: 'controls' },
        el('label', {}, 'Architecture ', select),
        el('label', {}, 'sample seed ', seed),
        run,
      ),
      ui.progress,
      table(
        [
          'architecture',
          'parameters',
          'prediction time',
          'predicted ‖θ‖₂',
          'test accuracy, predicted',
          'random init',
          '',
        ],
        rows,
      ),
    );
  },
  async run(ctx) {
    if (!ctx.backend) throw new Error('no backend is running (the backend section did not finish)');
    const u = ui!;
    u.run.disabled = true;
    try {
      u.progress.textContent = 'loading the GHN and the MNIST subset…';
      const [model, mnist] = await Promise.all([fetchGhn(), fetchMnist()]);
      u.data.textContent = `${describeMnist(mnist)}; the GHN predicts parameters for 10 classes of 28×28×1 images.`;
      const name = u.select.value as GhnArchName;
      const seed = Math.max(0, Math.floor(Number(u.seed.value) || 0));
      const arch = ghnArch(name, model.config.numClasses, seed);
      const n = testSamplesFor(ctx.params.quick, ctx.backend.backend);
      u.progress.textContent = `predicting ${arch.id} and testing it on ${n} images on ${ctx.backend.backend}…`;
      const r = await predictAndEvaluate(model, arch, mnist.test, n);
      const label = name === 'sampled' ? `${arch.id} (sampled, seed ${seed})` : String(arch.id);
      u.rows.prepend(resultRow(r, label));
      u.progress.textContent =
        `${arch.id}: ${r.numParams.toLocaleString('en-US')} parameters predicted in ${fmtMs(r.predictMs)}; ` +
        `test accuracy ${pct(r.accuracy)}% with no training (random init ${pct(r.randomInit)}%), ${r.testSamples} test images.`;
      (window as any).hypernetsDemo = {
        ...(window as any).hypernetsDemo,
        ghn: { ...((window as any).hypernetsDemo?.ghn ?? {}), [String(arch.id)]: r },
      };
      return `${pct(r.accuracy)}%`;
    } finally {
      u.run.disabled = false;
    }
  },
};
