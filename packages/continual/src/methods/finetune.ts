import type { MethodState } from '../method.js';
import { TargetWeightsMethod, type BaselineConfig } from './baseline.js';

/** Plain sequential training of the target (Adam on the task loss, no regulariser): the lower bound. */
export class FinetuneMethod extends TargetWeightsMethod {
  readonly name = 'finetune' as const;

  constructor(config: BaselineConfig) {
    super(config);
  }

  penalty(): null {
    return null;
  }

  endTask(task: number): void {
    this.checkEndTask(task);
  }

  protected extraState(): MethodState {
    return { tensors: {}, meta: {} };
  }
  protected checkExtra(): void {}
  protected assignExtra(): void {}
}
