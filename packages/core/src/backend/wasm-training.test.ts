import { describe, expect, it } from 'vitest';
import { checkWasmGradients } from '../../examples/wasm-gradients.js';

describe("training on wasm after initBackend('wasm')", () => {
  it('LeNet-5 (conv) and embedding (gather) gradients match cpu within 1e-4', async ({ annotate }) => {
    const r = await checkWasmGradients();
    await annotate(
      `[wasm-training] LeNet-5 max |Δgrad| ${r.lenetMaxAbsErr.toExponential(2)}, embedding ${r.embeddingMaxAbsErr.toExponential(2)}`,
    );
    expect(Math.abs(r.lenetLoss.wasm - r.lenetLoss.cpu)).toBeLessThan(1e-4);
    expect(r.lenetMaxAbsErr).toBeLessThan(1e-4);
    expect(r.embeddingMaxAbsErr).toBeLessThan(1e-4);
  });
});
