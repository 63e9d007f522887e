// README promise: `npm start` (= `pidscope demo`) builds the fixtures, shows the demo program's
// live values and leaves nothing running. Loose on format: the live view will grow.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'adapter/src/main.ts', ...args], { cwd: REPO_ROOT, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('pidscope demo', () => {
  it('runs for --duration, shows the running demo program, and stops it', async () => {
    const r = await run(['demo', '--duration', '3', '--interval', '500']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = Number(/pid (\d+)/.exec(r.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/TracerPid[=: ]+0/);
    // The demo program is gone afterwards.
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
  });
});
