import { preset } from '@hypernets/vitest-preset';

// The end-to-end suite builds the app, serves it and drives headless Chromium: minutes, not seconds.
export default preset({ test: { include: ['test/**/*.test.ts'], testTimeout: 480_000, hookTimeout: 240_000 } });
