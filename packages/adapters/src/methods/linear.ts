import type { AdapterMethod, MethodContext, MethodForward } from './method.js';

/** The frozen backbone as it is: only the task heads train (the linear probe). */
export class LinearProbe implements AdapterMethod {
  readonly name = 'linear' as const;
  readonly shared = {};
  private readonly fwd: MethodForward;

  constructor(ctx: MethodContext) {
    this.fwd = { weights: ctx.backbone.weights };
  }

  taskVariables(): Record<string, never> {
    return {};
  }

  forward(): MethodForward {
    return this.fwd;
  }

  dispose(): void {}
}
