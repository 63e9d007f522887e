/**
 * The pidscope extension in a real VS Code (code-server 4.100 = VS Code 1.100) driven through
 * Chromium: pick the fixture from the process picker, see the live thread and a global change
 * its value in the Variables view while the target never stops, open the live plot and see
 * samples arrive, export CSV. Screenshots land in test/artifacts/.
 *
 * Needs code-server (installed into ~/.cache/pidscope/code-server by the test itself) and
 * Debian's chromium. Missing on a laptop: skipped with the packages named. CI=true or
 * PIDSCOPE_CI=1: missing is a failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { monitorNeverStopped, tracerPid, type NeverStoppedMonitor } from '../support/proc';
import {
  expandUnit,
  failOnToast,
  findVariableRow,
  focusLiveFrame,
  missingPrerequisites,
  nextIntegerValue,
  openWorkbench,
  plotFrame,
  publishScreenshot,
  runCommand,
  screenshot,
  skipForMissing,
  until,
  type Workbench,
} from './harness';

const missing = missingPrerequisites();
const skip = skipForMissing('the VS Code end-to-end test', missing);

const LIVE = 'g_live_counter';
/** No process has this pid (the kernel's pid_max is far lower). */
const GONE_PID = 1_073_741_000;

describe.skipIf(skip)('pidscope extension in real VS Code (code-server + Chromium)', () => {
  let fixture: RunningFixture | undefined;
  let workbench: Workbench | undefined;
  let page: Page;
  let monitor: NeverStoppedMonitor | undefined;

  beforeAll(async () => {
    if (missing.length) throw new Error(`the VS Code e2e test needs: ${missing.join('; ')}`);
    fixture = await startFixture('globals');
    monitor = monitorNeverStopped(fixture.pid, { intervalMs: 50, maxStallMs: 10_000 });
    workbench = await openWorkbench({
      files: {
        '.vscode/launch.json': JSON.stringify(
          {
            version: '0.2.0',
            configurations: [
              { type: 'pidscope', request: 'attach', name: 'pidscope: attach (pick)', pid: '${command:pickProcess}', refreshIntervalMs: 250 },
              { type: 'pidscope', request: 'attach', name: 'pidscope: gone', pid: GONE_PID },
            ],
          },
          null,
          2,
        ),
        'README.md': '# pidscope e2e workspace\n',
      },
      settings: {
        'debug.openDebug': 'openOnDebugBreak',
        'pidscope.plot.sampleIntervalMs': 100,
        'pidscope.plot.windowSeconds': 10,
      },
    });
    page = workbench.page;
  }, 25 * 60_000);

  afterAll(async () => {
    await workbench?.close('vscode-final.png');
    await monitor?.stopAndReport();
    await fixture?.stop();
  }, 60_000);

  it(
    'attaches through the process picker and shows a live global changing, without ever stopping the target',
    async () => {
      const pid = fixture!.pid;
      await runCommand(page, 'View: Show Run and Debug');
      await runCommand(page, 'Debug: Start Debugging');

      // The process picker: filter by pid, pick the fixture.
      const pickInput = page.locator('.quick-input-widget input.input');
      await until(
        'the pidscope process picker',
        async () => (await page.locator('.quick-input-widget', { hasText: 'attach to a running process' }).isVisible()) || undefined,
        60_000,
      );
      await pickInput.fill(String(pid));
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: `pid ${pid} ·` }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      await screenshot(page, 'vscode-picker.png');
      await row.click();

      // The live view thread, shown as paused by design; the real threads run.
      const callStack = page.locator('.debug-call-stack');
      await until(
        'the live view thread in the Call Stack',
        async () => {
          await failOnToast(page, /could not|cannot|stopped unexpectedly|found no/i);
          return (await callStack.textContent())?.includes('Live view') || undefined;
        },
        120_000,
      );

      // The Variables view: the module's globals, grouped by compile unit. VS Code focuses a
      // stopped thread's top frame by itself only when that frame has a source; otherwise the
      // user (here: the test) selects the live frame in the Call Stack.
      const variables = page.locator('.debug-variables');
      await focusLiveFrame(page, callStack, variables);
      await variables.locator('.monaco-list-row', { hasText: 'Globals: globals' }).first().waitFor({ state: 'visible', timeout: 60_000 });
      await expandUnit(variables, 'globals.c');

      const liveRow = await findVariableRow(page, variables, LIVE);
      const first = await nextIntegerValue(liveRow, LIVE);
      // The value changes in place (live refresh), with no stop and no user action.
      const second = await nextIntegerValue(liveRow, LIVE, first);
      expect(BigInt(second)).toBeGreaterThan(BigInt(first));
      const third = await nextIntegerValue(liveRow, LIVE, second);
      expect(BigInt(third)).toBeGreaterThan(BigInt(second));
      expect(tracerPid(pid)).toBe(0);

      // The status bar names the target and the memory backend (from pidscope/info).
      const status = page.locator('.statusbar-item', { hasText: `globals ${pid}` }).first();
      await status.waitFor({ state: 'visible', timeout: 30_000 });
      expect(await status.textContent()).toMatch(/pidfd-mem|process_vm_readv|\/proc\/PID\/mem/);

      // The session stays "stopped" on the live view thread (that is what keeps VS Code's memory
      // views open while the target runs): the toolbar offers Continue, not Pause.
      await until(
        'the debug toolbar in the stopped-view state',
        async () => (await page.locator('.debug-toolbar .codicon-debug-continue').count()) > 0 || undefined,
        30_000,
      );
      await liveRow.scrollIntoViewIfNeeded();
      await screenshot(page, 'vscode-variables.png');
    },
    10 * 60_000,
  );

  it(
    'keeps a memory view of a global open and live while the target runs',
    async () => {
      await runCommand(page, 'pidscope: View Memory (live hex)');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible' });
      await input.fill(LIVE);
      await input.press('Enter');
      const tab = page.locator('.tabs-container .tab', { hasText: `${LIVE}.hex` }).first();
      await tab.waitFor({ state: 'visible', timeout: 60_000 });
      const editor = page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
      // The first dump line holds the counter's 8 bytes; it must change on its own, several times.
      const firstLine = async () => {
        const text = ((await editor.textContent()) ?? '').replace(/\u00a0/g, ' ');
        const m = /0x[0-9a-f]{16}  (?:[0-9a-f?]{2} ){7}[0-9a-f?]{2}/.exec(text);
        return m?.[0];
      };
      let last = await until('the memory dump', firstLine, 60_000);
      for (let i = 0; i < 3; i++) {
        last = await until(
          `the memory view to update by itself (change ${i + 1})`,
          async () => {
            const l = await firstLine();
            return l && l !== last ? l : undefined;
          },
          60_000,
        );
      }
      // Still open, still "stopped" on the live view (VS Code would close its own hex view of a
      // session that becomes Running), and the target was never stopped.
      expect(await tab.isVisible()).toBe(true);
      expect(await page.locator('.debug-toolbar .codicon-debug-continue').count()).toBeGreaterThan(0);
      expect(tracerPid(fixture!.pid)).toBe(0);
      await screenshot(page, 'vscode-memory.png');
    },
    5 * 60_000,
  );

  it(
    'plots a global over time in the live plot, with pause of the view and CSV export',
    async () => {
      await runCommand(page, 'pidscope: Add Expression to Live Plot');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible' });
      await input.fill(LIVE);
      await input.press('Enter');

      const frame = await plotFrame(page);
      const samples = async () => Number((await frame.locator('body').getAttribute('data-samples')) ?? '0');
      await until('samples in the live plot', async () => (await samples()) >= 5 || undefined, 90_000);
      const chip = frame.locator(`.chip[data-expression="${LIVE}"] .value`);
      const v1 = await until('a value in the plot legend', async () => {
        const t = ((await chip.textContent()) ?? '').trim();
        return /^\d+$/.test(t) ? t : undefined;
      });
      await until('the plot legend to follow the live value', async () => {
        const t = ((await chip.textContent()) ?? '').trim();
        return /^\d+$/.test(t) && BigInt(t) > BigInt(v1) ? t : undefined;
      });

      // Add a second expression from inside the webview.
      await frame.locator('#add-input').fill('g_live_wave');
      await frame.locator('#add-input').press('Enter');
      await frame.locator('.chip[data-expression="g_live_wave"]').waitFor({ state: 'visible' });

      // Pause freezes the view, not the sampling.
      const before = await samples();
      await frame.locator('#pause').click();
      await until('the view to show as paused', async () => (await frame.locator('body.paused').count()) > 0 || undefined);
      await until('samples to keep arriving while the view is paused', async () => (await samples()) > before + 5 || undefined, 60_000);
      await frame.locator('#pause').click();
      await until('the view to resume', async () => (await frame.locator('body.paused').count()) === 0 || undefined);
      await until('more samples after resume', async () => (await samples()) > before + 20 || undefined, 60_000);

      // Each series on its own scale: the counter (thousands) and the wave ([-1, 1]) both visible.
      await frame.locator('#scale').selectOption('each');
      await until('per-series scaling', async () => (await frame.locator('body[data-scale="each"]').count()) > 0 || undefined);
      await until('a few more samples drawn', async () => (await samples()) > before + 30 || undefined, 60_000);
      const shot = await screenshot(page, 'vscode-live-plot.png');
      publishScreenshot(shot);

      // CSV export: the Export button and VS Code's save dialog.
      const csvPath = join(workbench!.server.workspace, 'plot.csv');
      await exportCsvTo(page, csvPath);
      const csv = await until(
        'the whole CSV',
        () => {
          const lines = readFileSync(csvPath, 'utf8').split('\n');
          return lines.length > 10 && lines[lines.length - 1] === '' ? lines.slice(0, -1) : undefined;
        },
        30_000,
      );
      expect(csv[0]).toBe(`time_ms,time_iso,${LIVE},g_live_wave,marker`);
      expect(csv.length).toBeGreaterThan(10);
      const last = csv[csv.length - 1].split(',');
      expect(Number(last[2])).toBeGreaterThan(0);

      // Throughout the tests so far the target was never stopped.
      expect(tracerPid(fixture!.pid)).toBe(0);
      const report = await monitor!.stop();
      monitor = undefined;
      expect(report.violations).toEqual([]);
      expect(report.progressEnd! > report.progressStart!).toBe(true);
    },
    10 * 60_000,
  );

  it(
    'explains an attach to a process that does not exist, with the button that fixes it',
    async () => {
      await runCommand(page, 'Debug: Select and Start Debugging');
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'pidscope: gone' }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      await row.click();
      const toast = page.locator('.notification-toast', { hasText: `no process has pid ${GONE_PID}` }).first();
      await toast.waitFor({ state: 'visible', timeout: 60_000 });
      expect(await toast.textContent()).toContain('Pick Another Process');
      await screenshot(page, 'vscode-attach-error.png');
    },
    5 * 60_000,
  );
});

/** The plot's Export CSV button, then VS Code's (web) save dialog: a path box and OK. Retried. */
async function exportCsvTo(page: Page, csvPath: string): Promise<void> {
  const frame = await plotFrame(page);
  const input = page.locator('.quick-input-widget input.input');
  await until(
    `the CSV saved to ${csvPath}`,
    async () => {
      if (existsSync(csvPath)) return true;
      await page.keyboard.press('Escape');
      await frame.locator('#export').click();
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      await input.fill(csvPath);
      await until('the save dialog to hold the path', async () => (await input.inputValue()) === csvPath || undefined, 10_000, 250);
      await input.press('Enter');
      await until('the file', () => existsSync(csvPath) || undefined, 10_000, 250).catch(async () => {
        await screenshot(page, 'vscode-export-retry.png');
      });
      return existsSync(csvPath) || undefined;
    },
    90_000,
    500,
  );
}
