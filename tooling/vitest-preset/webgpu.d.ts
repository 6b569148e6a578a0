/** What the suite needs of tfjs's `tf.env()`. */
export interface WebgpuFlags {
  getBool(name: string): boolean;
  set(name: string, value: boolean): void;
}

export interface WebgpuSuiteOptions {
  /** Whether an error from `start` means "no WebGPU here" (skip) rather than a bug (rethrown). */
  unavailable: (error: unknown) => boolean;
  /** Releases the device after the suite (lets the vitest fork exit). */
  release: () => unknown;
  /** `() => tf.env()`: WEBGPU_CPU_FORWARD is turned off for the suite and restored after it. */
  env: () => WebgpuFlags;
}

export interface WebgpuSuite<T> {
  /** WebGPU started. */
  started: boolean;
  /** What `start` returned, when it started. */
  value: T | undefined;
  /** Why it did not start ('' when it did). */
  unavailable: string;
  /**
   * `describe`, skipped when WebGPU did not start (except under CI=true, where its beforeAll
   * fails instead), with WEBGPU_CPU_FORWARD off inside and the device released after it.
   */
  describeWebgpu: (name: string, fn: () => void) => void;
}

/**
 * Starts WebGPU once (at import: call it with top-level await), warning `[label] skipping: …`
 * where it is unavailable and CI is not `true`.
 */
export function webgpuSuite<T>(
  label: string,
  start: () => Promise<T>,
  options: WebgpuSuiteOptions,
): Promise<WebgpuSuite<T>>;
