/**
 * One-shot commands print through a synchronous stdout when it is a pipe or a file (main.ts
 * useSyncStdout): the output must be exactly what Node's stream printed, a reader that goes
 * away early (EPIPE) must still end the command quietly with its status, and a file works.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, REPO_ROOT, type RunningFixture } from '../support/fixtures';
import { MAIN, pidscope } from './run';

let fx: RunningFixture;
const dir = mkdtempSync(join(tmpdir(), 'pidscope-stdout-'));
beforeAll(async () => {
  fx = await startFixture('globals');
});
afterAll(async () => {
  await fx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cli = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(MAIN)}`;

describe('synchronous stdout of one-shot commands', () => {
  it('prints exactly what the stream printed (eval, globals)', async () => {
    for (const args of [
      ['eval', '--pid', String(fx.pid), 'g_nested', 'g_int', '&g_point', 'no_such_name'],
      ['globals', '--pid', String(fx.pid)],
    ]) {
      // g_live_* and g_progress change while the fixture runs.
      const still = (r: { code: number; stdout: string; stderr: string }) => ({ ...r, stdout: r.stdout.replace(/^.*(g_live_|g_progress).*$/gm, '') });
      const sync = still(await pidscope(args));
      const stream = still(await pidscope(args, { env: { PIDSCOPE_SYNC_STDOUT: '0' } }));
      expect(sync).toEqual(stream);
      expect(sync.stdout.length).toBeGreaterThan(100);
    }
  });

  it('ends quietly with status 0 when the reader goes away (EPIPE), like the stream', () => {
    for (const env of [{}, { PIDSCOPE_SYNC_STDOUT: '0' }]) {
      const r = spawnSync('bash', ['-c', `set -o pipefail; ${cli} globals --pid ${fx.pid} | head -c 20 >/dev/null`], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    }
  });

  it('writes to a file', () => {
    const file = join(dir, 'out.txt');
    execFileSync('bash', ['-c', `${cli} eval --pid ${fx.pid} g_int > ${JSON.stringify(file)}`], { cwd: REPO_ROOT });
    expect(readFileSync(file, 'utf8')).toMatch(/^-?\d+\n$/);
  });
});
