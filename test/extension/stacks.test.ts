/**
 * Call stacks of real threads in a real VS Code (code-server + Chromium), while the target runs:
 * attach to the `stacks` fixture, press the Call Stack view's Pause on the `nested` thread and on
 * the `recurse` thread, and the debug toolbar's Pause on the selected `inline` thread (VS Code sends `pause` with that thread's id; there is no "pause all"
 * request in DAP), see their frames by function name, click a frame to open stacks.c at its
 * line, and read its Locals in the Variables view. The target is never traced and its progress
 * counter keeps advancing throughout. Skipped (loudly) like vscode.test.ts when code-server's
 * prerequisites are missing.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markerLine, startFixture, type RunningFixture } from '../support/fixtures';
import { monitorNeverStopped, tracerPid, type NeverStoppedMonitor } from '../support/proc';
import { failOnToast, missingPrerequisites, openWorkbench, publishScreenshot, runCommand, screenshot, skipForMissing, until, type Workbench } from './harness';
import { readdirSync, readFileSync } from 'node:fs';

const missing = missingPrerequisites();
const skip = skipForMissing('the VS Code call-stack test', missing);

describe.skipIf(skip)('call stacks of running threads in real VS Code', () => {
  let fixture: RunningFixture | undefined;
  let workbench: Workbench | undefined;
  let page: Page;
  let monitor: NeverStoppedMonitor | undefined;
  const tids: Record<string, number> = {};

  beforeAll(async () => {
    if (missing.length) throw new Error(`the VS Code e2e test needs: ${missing.join('; ')}`);
    fixture = await startFixture('stacks');
    for (const t of readdirSync(`/proc/${fixture.pid}/task`)) tids[readFileSync(`/proc/${fixture.pid}/task/${t}/comm`, 'utf8').trim()] = Number(t);
    monitor = monitorNeverStopped(fixture.pid, { intervalMs: 50, maxStallMs: 10_000 });
    workbench = await openWorkbench({
      files: {
        '.vscode/launch.json': JSON.stringify(
          { version: '0.2.0', configurations: [{ type: 'pidscope', request: 'attach', name: 'pidscope: stacks', pid: fixture.pid, refreshIntervalMs: 0 }] },
          null,
          2,
        ),
      },
    });
    page = workbench.page;
  }, 10 * 60_000);

  afterAll(async () => {
    await workbench?.close('vscode-stacks-final.png');
    await monitor?.stopAndReport();
    await fixture?.stop();
  }, 60_000);

  it(
    'pauses real threads from the Call Stack view, opens a frame at its line and shows its Locals, while the target runs',
    async () => {
      const pid = fixture!.pid;
      await runCommand(page, 'View: Show Run and Debug');
      await runCommand(page, 'Debug: Start Debugging');
      const callStack = page.locator('.debug-call-stack');
      const threadRow = (name: string) => callStack.locator('.monaco-list-row', { hasText: `${name} [${tids[name]}]` }).first();
      await until(
        'the real threads in the Call Stack',
        async () => {
          await failOnToast(page, /could not|cannot|stopped unexpectedly|found no/i);
          return (await threadRow('nested').isVisible()) || undefined;
        },
        90_000,
      );

      // Pause on the thread row (the inline action VS Code shows on hover) → stopped for that thread.
      await pauseThread(threadRow('nested'));
      const frameRow = (fn: string) => callStack.locator('.monaco-list-row', { hasText: fn }).first();
      await until(
        "the nested thread's frames",
        async () => ((await frameRow('nested_c').isVisible()) && (await frameRow('nested_a').isVisible())) || undefined,
        30_000,
      );
      // The thread keeps its name beside the (short) snapshot label.
      expect(await threadRow('nested').isVisible()).toBe(true);
      expect(await threadRow('nested').textContent()).toMatch(/snapshot \d\d:\d\d:\d\d\.\d{3}/i);
      const text = (await callStack.textContent()) ?? '';
      for (const fn of ['block_here', 'nested_c', 'nested_b', 'nested_a', 'nested_thread']) expect(text).toContain(fn);

      // Clicking a frame opens stacks.c at the frame's line.
      await frameRow('nested_c').click();
      const line = markerLine('stacks.c', 'NESTED_C');
      await until(
        `stacks.c open at line ${line}`,
        async () => {
          const tab = await page.locator('.tabs-container .tab.active', { hasText: 'stacks.c' }).count();
          const cur = await page
            .locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ })
            .first()
            .textContent()
            .catch(() => '');
          return (tab > 0 && new RegExp(`Ln ${line},`).test(cur ?? '')) || undefined;
        },
        30_000,
      );
      // VS Code marks the focused frame's line in the editor.
      await page
        .locator('.monaco-editor .debug-focused-stack-frame-line, .monaco-editor .debug-top-stack-frame-line')
        .first()
        .waitFor({ state: 'visible', timeout: 30_000 });

      // The Variables view: Locals of nested_c with gdb's values.
      const variables = page.locator('.debug-variables');
      const locals = variables.locator('.monaco-list-row', { hasText: 'Locals' }).first();
      await locals.waitFor({ state: 'visible', timeout: 30_000 });
      if ((await locals.getAttribute('aria-expanded')) !== 'true') await locals.click();
      const expected: Record<string, string> = { counter: '7', big: '-1234567890123', ratio: '0.25', ok: 'true', corner: '{x = 2, y = 4}' };
      for (const [name, value] of Object.entries(expected)) {
        const row = variables.locator('.monaco-list-row', { hasText: new RegExp(`^\\s*${name}\\b`) }).first();
        await until(`${name} = ${value} in Locals`, async () => ((await row.locator('.value').textContent()) ?? '').trim() === value || undefined, 30_000);
      }
      publishScreenshot(await screenshot(page, 'vscode-stacks.png'), 'call-stack.png');

      // A second thread paused the same way: every real thread can show its stack.
      await pauseThread(threadRow('recurse'));
      await until(
        "the recurse thread's snapshot and frames",
        async () => {
          const label =
            (await threadRow('recurse')
              .textContent()
              .catch(() => '')) ?? '';
          const frames = await callStack.locator('.monaco-list-row', { hasText: /recurse.*stacks\.c/ }).count();
          return (/snapshot/i.test(label) && frames >= 1) || undefined;
        },
        30_000,
      );
      // Its innermost recurse(0) frame: the Variables view follows the selected frame.
      await callStack
        .locator('.monaco-list-row', { hasText: /recurse.*stacks\.c/ })
        .first()
        .click();
      const here = variables.locator('.monaco-list-row', { hasText: /^\s*here\b/ }).first();
      await until(
        "recurse(0)'s local `here` in the Variables view",
        async () => {
          const v = (
            (await here
              .locator('.value')
              .textContent()
              .catch(() => '')) ?? ''
          ).trim();
          return /^\d+$/.test(v) ? v : undefined;
        },
        30_000,
      );
      await screenshot(page, 'vscode-stacks-two-threads.png');

      // The debug toolbar's Pause: with a running thread selected VS Code offers Pause and sends
      // `pause` for that thread (DAP has no "pause all"; pidscope never stops anything anyway).
      await scrollTo(threadRow('inline'));
      await threadRow('inline').click({ position: { x: 60, y: 8 } });
      const toolbarPause = page.locator('.debug-toolbar .action-label.codicon-debug-pause');
      await toolbarPause.waitFor({ state: 'visible', timeout: 30_000 });
      await toolbarPause.click();
      await until(
        "the inline thread's snapshot with its inlined frames",
        async () => {
          const label =
            (await threadRow('inline')
              .textContent()
              .catch(() => '')) ?? '';
          const frames = await callStack.locator('.monaco-list-row', { hasText: /inline_(inner|outer).*stacks\.c/ }).count();
          return (/snapshot/i.test(label) && frames >= 1) || undefined;
        },
        30_000,
      );

      expect(tracerPid(pid)).toBe(0);
      const report = await monitor!.stop();
      monitor = undefined;
      expect(report.violations).toEqual([]);
      expect(report.progressEnd! > report.progressStart!).toBe(true);
    },
    3 * 60_000,
  );

  /** The Call Stack list is virtualised and short: scrolls until the row is rendered. */
  async function scrollTo(row: Locator): Promise<void> {
    await until(
      'the thread row in the Call Stack',
      async () => {
        if (await row.isVisible()) return true;
        await page.locator('.debug-call-stack .monaco-list').first().hover();
        await page.mouse.wheel(0, 200);
        return undefined;
      },
      30_000,
      300,
    );
    await row.scrollIntoViewIfNeeded();
  }

  async function pauseThread(row: Locator): Promise<void> {
    await scrollTo(row);
    await row.hover();
    const pause = row.locator('.action-label.codicon-debug-pause');
    await pause.waitFor({ state: 'visible', timeout: 10_000 });
    await pause.click();
  }
});
