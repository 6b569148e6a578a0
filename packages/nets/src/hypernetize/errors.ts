import { ConfigError } from '@hypernets/core';
// A cycle (registry → converters → errors → registry) read only when an error is constructed,
// never while the modules load.
import { SUPPORTED_LAYER_CLASSES } from './registry.js';

const unsupportedLayerMarker = 'hypernets.error.UnsupportedLayerError';
const unsupportedLayerSymbol = Symbol.for(unsupportedLayerMarker);

/**
 * A layer (or a layer configuration) that hypernetize cannot re-implement. With
 * `unsupported: 'fixed'` such a layer is kept, with its own weights, and run through
 * `layer.apply(x)`.
 */
export class UnsupportedLayerError extends ConfigError {
  private readonly [unsupportedLayerSymbol] = true;
  override readonly name: string = 'UnsupportedLayerError';

  /** True for an UnsupportedLayerError from any copy of @hypernets/nets (`instanceof` is not, across copies). */
  static override isInstance(error: unknown): error is UnsupportedLayerError {
    return ConfigError.hasMarker(error, unsupportedLayerMarker);
  }

  constructor(
    readonly layerName: string,
    readonly className: string,
    reason: string,
  ) {
    super(
      `layers['${layerName}']`,
      `layer '${layerName}' (${className}) ${reason}. Supported layer classes: ${SUPPORTED_LAYER_CLASSES.join(', ')}; ` +
        `pass { unsupported: 'fixed' } to keep this layer with its own weights (run through layer.apply, not generatable)`,
    );
  }
}
