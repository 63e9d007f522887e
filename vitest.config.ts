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
          globalSetup: ['test/support/unit-setup.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: ['test/kernel/**', 'test/pidfdmem/**'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        // Runs inside QEMU on the pidfd_mem kernel (test/kernel/pidscope-guest.test.ts): one
        // worker, no fixture build (the guest sees the repo read-only; the host built them).
        // poll.test.ts runs there too: it covers every backend, pidfd-mem's fast copier included.
        test: {
          name: 'guest',
          include: ['test/pidfdmem/**/*.test.ts', 'test/memory/poll.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
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
