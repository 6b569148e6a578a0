import { ConfigError } from '@hypernets/core';
import { PerTaskAdapters } from './adapters.js';
import { FineTune } from './finetune.js';
import { HyperAdapters } from './hyperformer.js';
import { LinearProbe } from './linear.js';
import { PrototypeHyperAdapters, type PhaOptions } from './pha.js';
import { METHOD_NAMES, type AdapterMethod, type MethodContext, type MethodName } from './method.js';

export interface MethodOptions extends PhaOptions {
  /** Adapter bottleneck r = width / reductionFactor (adapters and generated adapters). Default 32. */
  reductionFactor?: number;
}

/** A method by its CLI name; an unknown name is a ConfigError listing the names. */
export function createMethod(name: MethodName, ctx: MethodContext, options: MethodOptions = {}): AdapterMethod {
  switch (name) {
    case 'linear':
      return new LinearProbe(ctx);
    case 'finetune':
      return new FineTune(ctx);
    case 'adapters':
      return new PerTaskAdapters(ctx, { reductionFactor: options.reductionFactor });
    case 'hyperformer':
    case 'hyperformer++':
    case 'hyperx':
      return new HyperAdapters(name, ctx, options);
    case 'pha':
      return new PrototypeHyperAdapters(ctx, options);
    default:
      throw new ConfigError('method', `unknown method ${JSON.stringify(name)}; one of ${METHOD_NAMES.join(', ')}`);
  }
}
