import { describe, expect, it, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from './index.js';
import { BackendUnavailableError, ConfigError } from '../errors/index.js';

describe('initBackend', () => {
  afterAll(async () => {
    await shutdownBackend();
  });

  it('starts cpu and wasm explicitly', async () => {
    const cpu = await initBackend('cpu');
    expect(cpu.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend('wasm');
    expect(wasm.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(wasm.device).toMatch(/WebAssembly/);
  });

  it('cuda without tfjs-node-gpu says what to install', async () => {
    await expect(initBackend('cuda')).rejects.toThrow(BackendUnavailableError);
    await expect(initBackend('cuda')).rejects.toThrow(/tfjs-node-gpu/);
  });

  it('auto falls through and records why each backend was skipped', async () => {
    const info = await initBackend('auto');
    expect(['webgpu', 'wasm']).toContain(info.backend);
    expect(info.skipped[0].backend).toBe('cuda');
    expect(info.skipped[0].reason).toMatch(/tfjs-node-gpu/);
  });

  it('reads HYPERNETS_BACKEND and rejects unknown names', async () => {
    const old = process.env.HYPERNETS_BACKEND;
    try {
      process.env.HYPERNETS_BACKEND = 'cpu';
      expect((await initBackend()).backend).toBe('cpu');
      process.env.HYPERNETS_BACKEND = 'tpu';
      await expect(initBackend()).rejects.toThrow(ConfigError);
      await expect(initBackend()).rejects.toThrow(/HYPERNETS_BACKEND.*tpu.*auto, cuda, webgpu, wasm, cpu/);
    } finally {
      if (old === undefined) delete process.env.HYPERNETS_BACKEND;
      else process.env.HYPERNETS_BACKEND = old;
    }
  });
});
