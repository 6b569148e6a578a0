// Section 2: a hypernetwork trained in the page on y = A·sin(x + φ), conditioned on (A, φ); a pad
// and two sliders move the condition and the generated network's curve is redrawn over the true one.
import { A_RANGE, BASELINE_MSE, FULL, PHI_RANGE, QUICK, SineDemo, grid, trueCurve, type Condition } from '../sine.js';
import { chart, curveSpec, familySpec, lossSpec, type Chart } from '../plots.js';
import { el, fmtMs, table } from '../dom.js';
import type { Section } from './section.js';

const CURVE_POINTS = 128;
const FAMILY = 16;
const TIMING_POINTS = 64;
const TIMING_BATCHES = [1, 256];

interface State {
  demo?: SineDemo;
  condition: Condition;
  charts?: { loss: Chart; curve: Chart; family: Chart };
  drawing: boolean;
  pending: boolean;
  ui?: {
    pad: HTMLElement;
    dot: HTMLElement;
    amp: HTMLInputElement;
    phase: HTMLInputElement;
    readout: HTMLElement;
    redraw: HTMLElement;
    progress: HTMLElement;
    summary: HTMLElement;
    timings: HTMLTableSectionElement;
    run: HTMLButtonElement;
  };
}

const state: State = { condition: { amplitude: 1.25, phase: Math.PI / 2 }, drawing: false, pending: false };
const xs = grid(CURVE_POINTS);
const yieldToBrowser = () => new Promise<void>((r) => setTimeout(r, 0));

function clamp(v: number, lo: number, hi: number) {
  return Math.min(hi, Math.max(lo, v));
}

function showCondition() {
  const ui = state.ui!;
  const { amplitude, phase } = state.condition;
  const fx = (phase - PHI_RANGE[0]) / (PHI_RANGE[1] - PHI_RANGE[0]);
  const fy = (amplitude - A_RANGE[0]) / (A_RANGE[1] - A_RANGE[0]);
  ui.dot.style.left = `${(fx * 100).toFixed(2)}%`;
  ui.dot.style.top = `${((1 - fy) * 100).toFixed(2)}%`;
  ui.amp.value = String(amplitude);
  ui.phase.value = String(phase);
  ui.readout.textContent = `A = ${amplitude.toFixed(2)}, φ = ${phase.toFixed(2)}`;
}

function setCondition(c: Condition) {
  state.condition = {
    amplitude: clamp(c.amplitude, A_RANGE[0], A_RANGE[1]),
    phase: clamp(c.phase, PHI_RANGE[0], PHI_RANGE[1]),
  };
  showCondition();
  scheduleRedraw();
}

/** Redraws the generated curve for the current condition; drags coalesce into one redraw at a time. */
function scheduleRedraw() {
  if (!state.demo || !state.charts) return;
  if (state.drawing) {
    state.pending = true;
    return;
  }
  state.drawing = true;
  void (async () => {
    try {
      do {
        state.pending = false;
        await drawCurve();
      } while (state.pending);
    } catch (e) {
      console.error('[per-sample] redraw failed', e);
    } finally {
      state.drawing = false;
    }
  })();
}

async function drawCurve() {
  const demo = state.demo!;
  const c = state.condition;
  const t0 = performance.now();
  const [generated] = await demo.curves([c], xs);
  const ms = performance.now() - t0;
  const truth = trueCurve(c, xs);
  const rows = [
    ...xs.map((x, i) => ({ x, y: truth[i], curve: 'true' })),
    ...xs.map((x, i) => ({ x, y: generated![i], curve: 'generated' })),
  ];
  await state.charts!.curve.set(rows);
  const err = truth.reduce((sum, y, i) => sum + (generated![i]! - y) ** 2, 0) / xs.length;
  const note = state.ui!.redraw;
  note.textContent =
    `A = ${c.amplitude.toFixed(2)}, φ = ${c.phase.toFixed(2)}: MSE against the true curve ${err.toFixed(4)}; ` +
    `generate + forward ${fmtMs(ms)}, redraw total ${fmtMs(performance.now() - t0)}`;
  // For scripts: which condition the chart shows and how close it is.
  note.dataset.condition = `${c.amplitude},${c.phase}`;
  note.dataset.mse = String(err);
}

async function drawFamily(demo: SineDemo) {
  // One batched pass: FAMILY conditions (φ across its range at the current A), one weight set each.
  const conditions = Array.from({ length: FAMILY }, (_, i) => ({
    amplitude: state.condition.amplitude,
    phase: PHI_RANGE[0] + ((PHI_RANGE[1] - PHI_RANGE[0]) * i) / (FAMILY - 1),
  }));
  const out = await demo.curves(conditions, xs);
  const rows = out.flatMap((ys, id) => xs.map((x, i) => ({ x, y: ys[i], id, phase: conditions[id]!.phase })));
  await state.charts!.family.set(rows);
}

function slider(label: string, min: number, max: number, onInput: (v: number) => void): HTMLInputElement {
  const input = el('input', { type: 'range', min, max, step: 0.01, 'aria-label': label });
  input.addEventListener('input', () => onInput(Number(input.value)));
  return input;
}

export const perSampleSection: Section = {
  id: 'per-sample',
  title: '2 · Per-sample weights, live',
  mount(body, ctx, host) {
    const dot = el('div', { class: 'pad-dot' });
    const pad = el(
      'div',
      { class: 'pad', role: 'application', 'aria-label': 'condition pad: phase across, amplitude up' },
      dot,
    );
    const fromPointer = (ev: PointerEvent) => {
      const r = pad.getBoundingClientRect();
      const fx = clamp((ev.clientX - r.left) / r.width, 0, 1);
      const fy = clamp((ev.clientY - r.top) / r.height, 0, 1);
      setCondition({
        phase: PHI_RANGE[0] + fx * (PHI_RANGE[1] - PHI_RANGE[0]),
        amplitude: A_RANGE[0] + (1 - fy) * (A_RANGE[1] - A_RANGE[0]),
      });
    };
    pad.addEventListener('pointerdown', (ev) => {
      pad.setPointerCapture(ev.pointerId);
      fromPointer(ev);
    });
    pad.addEventListener('pointermove', (ev) => {
      if (pad.hasPointerCapture(ev.pointerId)) fromPointer(ev);
    });
    const amp = slider('amplitude A', A_RANGE[0], A_RANGE[1], (v) =>
      setCondition({ ...state.condition, amplitude: v }),
    );
    const phase = slider('phase φ', PHI_RANGE[0], PHI_RANGE[1], (v) => setCondition({ ...state.condition, phase: v }));
    const run = el('button', { type: 'button' }, 'Train');
    run.addEventListener('click', () => void host.start());
    const budget = ctx.params.quick ? QUICK : FULL;
    const curveEl = el('div', { class: 'chart' });
    const lossEl = el('div', { class: 'chart' });
    const familyEl = el('div', { class: 'chart' });
    const timings = el('tbody');
    state.ui = {
      pad,
      dot,
      amp,
      phase,
      readout: el('p', { class: 'readout' }),
      redraw: el(
        'p',
        { class: 'note', 'data-testid': 'redraw' },
        'train first: the curve appears once a hypernetwork exists',
      ),
      progress: el('p', { class: 'note', 'data-testid': 'progress' }),
      summary: el('p', { class: 'note' }),
      timings,
      run,
    };
    body.append(
      el(
        'p',
        { class: 'note' },
        `A hypernetwork (HyperMLP with MIP, hidden ${budget.hiddenSizes.join('-')}) maps the condition (A, φ) to all weights ` +
          `of a target MLP 1-16-16-1; every training point runs with its own generated weights in one batched pass. ` +
          `Budget: ${budget.steps} Adam steps of ${budget.tasksPerStep} functions × ${budget.pointsPerTask} points` +
          `${ctx.params.quick ? ' (quick)' : ''}. Predicting 0 scores ${BASELINE_MSE}.`,
      ),
      el('div', { class: 'controls' }, run, state.ui.progress),
      lossEl,
      el(
        'div',
        { class: 'live' },
        el(
          'div',
          { class: 'pad-box' },
          pad,
          el('label', {}, 'A ', amp),
          el('label', {}, 'φ ', phase),
          state.ui.readout,
        ),
        el('div', { class: 'chart-box' }, curveEl, state.ui.redraw),
      ),
      el('h3', {}, `One batched pass: ${FAMILY} conditions, ${FAMILY} weight sets`),
      familyEl,
      el('h3', {}, 'Generate + batched forward, B conditions × 64 points'),
      table(['B', 'weight sets', 'time', 'per condition'], timings),
      state.ui.summary,
    );
    showCondition();
    state.charts = {
      loss: chart(lossEl, lossSpec(), 'loss'),
      curve: chart(curveEl, curveSpec(), 'curves'),
      family: chart(familyEl, familySpec(), 'family'),
    };
  },
  async run(ctx) {
    if (!ctx.backend) throw new Error('no backend is running (the backend section did not finish)');
    const ui = state.ui!;
    ui.run.disabled = true;
    try {
      const previous = state.demo;
      state.demo = undefined; // no new redraws of the old network; wait for one in flight
      while (state.drawing) await yieldToBrowser();
      previous?.dispose();
      const options = ctx.params.quick ? QUICK : FULL;
      const demo = new SineDemo(options);
      const losses: { step: number; loss: number }[] = [];
      state.demo = demo;
      const result = await demo.train(async (p) => {
        losses.push(p);
        ui.progress.textContent = `step ${p.step} / ${options.steps} · training MSE ${p.loss.toFixed(4)}`;
        if (losses.length % 5 === 1 || p.step === options.steps) {
          await state.charts!.loss.set(losses.slice());
          scheduleRedraw();
        }
        await yieldToBrowser();
      });
      const trainedAtMs = performance.now();
      ui.summary.textContent =
        `Held-out MSE ${result.initialMse.toFixed(4)} → ${result.heldOutMse.toFixed(4)} ` +
        `(${options.heldOutTasks} unseen functions × ${options.heldOutPoints} points) after ${result.steps} steps, ` +
        `${result.seconds.toFixed(1)} s of training on ${ctx.backend.backend}.`;
      scheduleRedraw();
      await drawFamily(demo);
      const rows: HTMLTableRowElement[] = [];
      for (const B of TIMING_BATCHES) {
        const t = await demo.time(B, TIMING_POINTS, ctx.params.quick ? 2 : 7);
        rows.push(
          el(
            'tr',
            {},
            el('td', {}, String(B)),
            el('td', {}, String(B)),
            el('td', { 'data-testid': `time-b${B}` }, fmtMs(t.ms)),
            el('td', {}, fmtMs(t.ms / B)),
          ),
        );
        ui.timings.replaceChildren(...rows);
      }
      (window as any).hypernetsDemo = {
        ...(window as any).hypernetsDemo,
        perSample: { ...result, trainedAtMs, doneAtMs: performance.now() },
      };
      return result.heldOutMse.toPrecision(6);
    } finally {
      ui.run.disabled = false;
    }
  },
};
