/** Hooks a test file of real processes needs: its fixtures stopped after all its tests, its cleanups after each. */
import { afterAll, afterEach } from 'vitest';
import type { RunningFixture } from './fixtures';

/** Push what the file starts into `started`, and undo-steps of one test into `cleanups`. */
export function testFileLifecycle(): { started: RunningFixture[]; cleanups: (() => void)[] } {
  const started: RunningFixture[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  afterAll(async () => {
    for (const fx of started) await fx.stop();
  });
  return { started, cleanups };
}
