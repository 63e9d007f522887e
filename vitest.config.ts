import { defineConfig } from 'vitest/config';

// unit: fast tests next to the code. e2e: real fixture processes, real gdb, real DAP client.
// kernel: builds and boots the patched kernel under QEMU; long, so it runs on its own.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['adapter/src/**/*.test.ts', 'extension/src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: ['test/kernel/**'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/kernel/**/*.test.ts'],
          testTimeout: 3_600_000,
          hookTimeout: 3_600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
