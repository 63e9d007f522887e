/**
 * Remote attach in a real VS Code (code-server + Chromium): a launch configuration with "ssh"
 * names a local sshd (test/support/sshd.ts) and another local user; the process picker lists
 * THAT user's processes through ssh, and the Variables view shows a global of their process
 * changing live, the adapter running on the other side of the ssh channel. Never stopped.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { remoteUserBlocked, sshdUnavailable, startSshd, type Sshd } from '../support/sshd';
import {
  ensureCodeServer,
  Fatal,
  launchBrowser,
  missingPrerequisites,
  packageVsix,
  runCommand,
  screenshot,
  startCodeServer,
  STRICT,
  until,
  type CodeServer,
} from './harness';

const missing = missingPrerequisites();
const noSshd = sshdUnavailable();
if (noSshd) missing.push(`a local sshd: ${noSshd}`);
if (missing.length && !STRICT) console.warn(`\n*** SKIPPING the VS Code remote-attach test: missing on this machine:\n***   ${missing.join('\n***   ')}\n`);
// Not a missing package: a host where other users cannot read the checkout skips, loudly.
const blocked = remoteUserBlocked(REPO_ROOT, [fixturePath('globals')]);
if (blocked) console.warn(`SKIP test/extension/remote.test.ts: ${blocked}`);

const LIVE = 'g_live_counter';
const REMOTE_PIDSCOPE = `cd ${REPO_ROOT} && exec ${process.execPath} --import tsx adapter/src/main.ts`;

describe.skipIf((missing.length > 0 && !STRICT) || !!blocked)('remote attach over ssh in real VS Code', () => {
  let sshd: Sshd | undefined;
  let fixture: RunningFixture | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let vsix: string | undefined;

  beforeAll(async () => {
    if (missing.length) throw new Error(`the VS Code remote-attach test needs: ${missing.join('; ')}`);
    sshd = await startSshd();
    fixture = await startFixture('globals', { uid: sshd.uid, gid: sshd.gid });
    const launcher = ensureCodeServer();
    vsix = packageVsix();
    server = await startCodeServer({
      launcher,
      vsix,
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
      userSettings: {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'update.mode': 'none',
        'debug.internalConsoleOptions': 'neverOpen',
      },
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(30_000);
    await page.goto(server.url);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 120_000 });
  }, 25 * 60_000);

  afterAll(async () => {
    if (page) await screenshot(page, 'vscode-remote-final.png').catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await fixture?.stop();
    sshd?.stop();
    if (vsix) rmSync(join(vsix, '..'), { recursive: true, force: true });
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
          const toast = await page.locator('.notification-toast', { hasText: 'pidscope' }).allTextContents();
          if (toast.some((t) => /failed/i.test(t))) throw new Fatal(`pidscope reported: ${toast.join(' | ')}`);
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
          const toast = await page.locator('.notification-toast', { hasText: 'pidscope' }).allTextContents();
          if (toast.some((t) => /could not|cannot|failed|found no/i.test(t))) throw new Fatal(`pidscope reported: ${toast.join(' | ')}`);
          return (await callStack.textContent())?.includes('Live view') || undefined;
        },
        120_000,
      );

      const variables = page.locator('.debug-variables');
      await focusLiveFrame(page, callStack, variables);
      const unit = variables.locator('.monaco-list-row', { hasText: 'globals.c' }).first();
      await unit.waitFor({ state: 'visible', timeout: 60_000 });
      if ((await unit.getAttribute('aria-expanded')) !== 'true') await unit.click();
      const liveRow = await findVariableRow(page, variables, LIVE);
      const valueOf = async () => ((await liveRow.locator('.value').textContent()) ?? '').trim();
      const first = await until(
        `a value for ${LIVE}`,
        async () => {
          const v = await valueOf();
          return /^\d+$/.test(v) ? v : undefined;
        },
        60_000,
      );
      const second = await until(
        `${LIVE} to change in the Variables view (was ${first})`,
        async () => {
          const v = await valueOf();
          return /^\d+$/.test(v) && v !== first ? v : undefined;
        },
        60_000,
      );
      expect(BigInt(second)).toBeGreaterThan(BigInt(first));
      expect(tracerPid(pid)).toBe(0);
      await screenshot(page, 'vscode-remote-variables.png');
    },
    10 * 60_000,
  );
});

async function focusLiveFrame(page: Page, callStack: Locator, variables: Locator): Promise<void> {
  await until(
    'the live frame focused (Variables view filled)',
    async () => {
      if ((await variables.locator('.monaco-list-row').count()) > 0) return true;
      const frame = callStack.locator('.monaco-list-row', { hasText: 'live:' }).first();
      if (await frame.isVisible()) {
        await frame.click({ position: { x: 60, y: 8 }, timeout: 5000 });
        return undefined;
      }
      const thread = callStack.locator('.monaco-list-row', { hasText: 'Live view' }).first();
      await thread.click({ position: { x: 60, y: 8 }, timeout: 5000 });
      await page.keyboard.press('ArrowRight');
      return undefined;
    },
    60_000,
    1000,
  );
}

/**
 * Pages the (virtualised) Variables tree down from a focused leaf row until the row of `name` is
 * rendered: keyboard paging, because wheel events over a value hover go to the hover.
 */
async function findVariableRow(page: Page, tree: Locator, name: string): Promise<Locator> {
  const row = tree.locator('.monaco-list-row', { hasText: new RegExp(`^\\s*${name}\\s*=`) }).first();
  const leaf = tree.locator('.monaco-list-row:not([aria-expanded])').first();
  await leaf.click({ position: { x: 60, y: 8 } });
  return until(
    `the row of ${name} in the Variables view`,
    async () => {
      if (await row.isVisible()) return row;
      await page.keyboard.press('PageDown');
      return undefined;
    },
    90_000,
    300,
  );
}
