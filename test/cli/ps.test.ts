/** `pidscope ps`: what the remote process picker runs on the other side. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { pidscope } from './run';

let fx: RunningFixture;
beforeAll(async () => {
  fx = await startFixture('globals');
});
afterAll(async () => {
  await fx?.stop();
});

describe('pidscope ps', () => {
  it("--json lists the fixture with the picker's fields, newest first, without itself", async () => {
    const r = await pidscope(['ps', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ pid: number; ppid: number; name: string; commandLine: string; uid: number; user: string; startTicks: number }>;
    const mine = list.find((p) => p.pid === fx.pid);
    expect(mine).toMatchObject({ name: 'globals', uid: process.getuid?.(), ppid: process.pid });
    expect(mine!.commandLine).toMatch(/globals$/);
    for (let i = 1; i < list.length; i++) expect(list[i - 1].startTicks).toBeGreaterThanOrEqual(list[i].startTicks);
    expect(list.some((p) => p.name === 'kthreadd')).toBe(false);
  });

  it('prints a table without --json', async () => {
    const r = await pidscope(['ps']);
    expect(r.stdout.split('\n')[0]).toMatch(/^\s+PID USER\s+COMMAND$/);
    expect(r.stdout).toMatch(new RegExp(`^\\s*${fx.pid} \\S+\\s+.*globals$`, 'm'));
  });
});
