import { registerTrainingGradients } from './kernels/index.js';

/**
 * tfjs-core's main entry registers no gradients (the @tensorflow/tfjs union package does, by
 * bundling them). We load tfjs-core's own `register_all_gradients` and chained-op modules.
 * Bundlers and vite resolve them as they are. Plain Node cannot: they are ESM with
 * extensionless relative imports ('../ops/mul'). There a resolve hook, scoped to files inside
 * tfjs-core's dist/, tries `x.js` then `x/index.js`. The ESM modules are a second copy of
 * tfjs-core's code, which is harmless: the kernel/gradient registries, the engine and the
 * Tensor class are process globals in tfjs.
 */
let ready: Promise<void> | undefined;

const HOOK = `export async function resolve(spec, ctx, next) {
  if (ctx.parentURL && ctx.parentURL.includes('/@tensorflow/tfjs-core/dist/') && spec.startsWith('.') && !/\\.m?js$/.test(spec)) {
    for (const s of [spec + '.js', spec + '/index.js']) { try { return await next(s, ctx); } catch {} }
  }
  return next(spec, ctx);
}`;

async function loadTfjsModules(): Promise<void> {
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
  await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js' as string);
}

/** Registers every gradient (and chained tensor methods) tfjs training needs. Idempotent. */
export function registerTfjsGradients(): Promise<void> {
  ready ??= (async () => {
    // In Node the hook must be in place before the first attempt: a failed ESM import stays
    // cached as failed. Under vite/vitest the hook is never consulted; it does no harm.
    const isNode = typeof process !== 'undefined' && !!process.versions?.node;
    if (isNode) {
      const mod = (await import('node:module' as string)) as { register?: (url: string) => void };
      mod.register?.('data:text/javascript,' + encodeURIComponent(HOOK));
    }
    await loadTfjsModules();
    registerTrainingGradients();
  })();
  return ready;
}
