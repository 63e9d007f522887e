/**
 * Remote attach in a real VS Code (code-server + Chromium): a launch configuration with "ssh"
 * names a local sshd (test/support/sshd.ts) and another local user; the process picker lists
 * THAT user's processes through ssh, and the Variables view shows a global of their process
 * changing live, the adapter running on the other side of the ssh channel. Never stopped.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { remoteUserBlocked, sshdUnavailable, startSshd, type Sshd } from '../support/sshd';
import {
  expandUnit,
  failOnToast,
  findVariableRow,
  focusLiveFrame,
  missingPrerequisites,
  nextIntegerValue,
  openWorkbench,
  runCommand,
  screenshot,
  skipForMissing,
  until,
  type Workbench,
} from './harness';

const missing = missingPrerequisites();
const noSshd = sshdUnavailable();
if (noSshd) missing.push(`a local sshd: ${noSshd}`);
const skip = skipForMissing('the VS Code remote-attach test', missing);
// Not a missing package: a host where other users cannot read the checkout skips, loudly.
const blocked = remoteUserBlocked(REPO_ROOT, [fixturePath('globals')]);
if (blocked) console.warn(`SKIP test/extension/remote.test.ts: ${blocked}`);

const LIVE = 'g_live_counter';
const REMOTE_PIDSCOPE = `cd ${REPO_ROOT} && exec ${process.execPath} --import tsx adapter/src/main.ts`;

describe.skipIf(skip || !!blocked)('remote attach over ssh in real VS Code', () => {
  let sshd: Sshd | undefined;
  let fixture: RunningFixture | undefined;
  let workbench: Workbench | undefined;
  let page: Page;

  beforeAll(async () => {
    if (missing.length) throw new Error(`the VS Code remote-attach test needs: ${missing.join('; ')}`);
    sshd = await startSshd();
    fixture = await startFixture('globals', { uid: sshd.uid, gid: sshd.gid });
    workbench = await openWorkbench({
      files: {
        '.vscode/launch.json': JSON.stringify({
          version: '0.2.0',
          configurations: [
            {
              type: 'pidscope',
              request: 'attach',
              name: 'pidscope: over ssh',
              ssh: { host: `${sshd.user}@127.0.0.1`, options: sshd.sshOptions },
              remotePidscope: REMOTE_PIDSCOPE,
              pid: '${command:pickProcess}',
              refreshIntervalMs: 250,
            },
          ],
        }),
      },
    });
    page = workbench.page;
  }, 25 * 60_000);

  afterAll(async () => {
    await workbench?.close('vscode-remote-final.png');
    await fixture?.stop();
    sshd?.stop();
  }, 60_000);

  it(
    'picks a process of the remote user through ssh and shows its globals changing live',
    async () => {
      const pid = fixture!.pid;
      await runCommand(page, 'View: Show Run and Debug');
      await runCommand(page, 'Debug: Start Debugging');

      // The picker lists the processes on the other side of ssh (its title says where).
      await until(
        'the remote process picker',
        async () => {
          await failOnToast(page, /failed/i);
          return (await page.locator('.quick-input-widget', { hasText: `on ssh ${sshd!.user}@127.0.0.1` }).isVisible()) || undefined;
        },
        60_000,
      );
      await page.locator('.quick-input-widget input.input').fill(String(pid));
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: `pid ${pid} · ${sshd!.user}` }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      await screenshot(page, 'vscode-remote-picker.png');
      await row.click();

      const callStack = page.locator('.debug-call-stack');
      await until(
        'the live view thread in the Call Stack',
        async () => {
          await failOnToast(page, /could not|cannot|failed|found no/i);
          return (await callStack.textContent())?.includes('Live view') || undefined;
        },
        120_000,
      );

      const variables = page.locator('.debug-variables');
      await focusLiveFrame(page, callStack, variables);
      await expandUnit(variables, 'globals.c');
      const liveRow = await findVariableRow(page, variables, LIVE);
      const first = await nextIntegerValue(liveRow, LIVE);
      const second = await nextIntegerValue(liveRow, LIVE, first);
      expect(BigInt(second)).toBeGreaterThan(BigInt(first));
      expect(tracerPid(pid)).toBe(0);
      await screenshot(page, 'vscode-remote-variables.png');
    },
    10 * 60_000,
  );
});
