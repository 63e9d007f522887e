/**
 * A real VS Code for the extension's end-to-end test: code-server (VS Code 1.100 served to a
 * browser) from a cache outside the clone, the packaged .vsix installed into a fresh profile,
 * and Debian's Chromium driven by playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Frame, Locator, Page } from 'playwright-core';

export const REPO = join(__dirname, '..', '..');
export const ARTIFACTS = join(REPO, 'test', 'artifacts');
export const CHROMIUM = process.env.PIDSCOPE_CHROMIUM ?? '/usr/bin/chromium';
export const STRICT = process.env.CI === 'true' || process.env.PIDSCOPE_CI === '1';

/** What is missing on this machine for the test, named by the Debian packages that provide it. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!existsSync(CHROMIUM)) missing.push(`Chromium (${CHROMIUM}): apt-get install -y chromium`);
  const which = (cmd: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!which('rg')) missing.push('ripgrep (code-server bundles it; seeded from Debian): apt-get install -y ripgrep');
  if (!existsSync('/usr/include/krb5.h')) missing.push('Kerberos headers (code-server builds its kerberos module): apt-get install -y libkrb5-dev');
  if (!which('make') || !which('g++')) missing.push("a C++ toolchain for code-server's native modules: apt-get install -y build-essential");
  return missing;
}

/** Installs (once, cached by version) and returns the code-server launcher. */
export function ensureCodeServer(): string {
  const out = execFileSync('bash', [join(REPO, 'extension', 'scripts', 'install-code-server.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 20 * 60_000,
  });
  const lines = out.trim().split('\n');
  return lines[lines.length - 1];
}

/** Bundles and packs the extension; returns the .vsix path. */
export function packageVsix(): string {
  const vsix = join(mkdtempSync(join(tmpdir(), 'pidscope-vsix-')), 'pidscope.vsix');
  execFileSync(process.execPath, [join(REPO, 'extension', 'scripts', 'package.mjs'), '--no-typecheck'], {
    cwd: REPO,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PIDSCOPE_VSIX: vsix },
    timeout: 5 * 60_000,
  });
  return vsix;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface CodeServer {
  url: string;
  workspace: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  launcher: string;
  vsix: string;
  /** Files to create in the workspace, path → content. */
  files: Record<string, string>;
  userSettings?: Record<string, unknown>;
}

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  const base = mkdtempSync(join(tmpdir(), 'pidscope-vscode-'));
  const workspace = join(base, 'workspace');
  const userData = join(base, 'user-data');
  const extensions = join(base, 'extensions');
  const xdg = join(base, 'xdg');
  for (const d of [workspace, join(userData, 'User'), join(userData, 'Machine'), extensions, xdg]) mkdirSync(d, { recursive: true });
  for (const [rel, content] of Object.entries(opts.files)) {
    mkdirSync(join(workspace, rel, '..'), { recursive: true });
    writeFileSync(join(workspace, rel), content);
  }
  // Machine-scoped settings (pidscope.adapter.*) come from the server's Machine settings.
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(opts.userSettings ?? {}, null, 2));
  writeFileSync(join(userData, 'Machine', 'settings.json'), JSON.stringify(opts.userSettings ?? {}, null, 2));
  // code-server writes its config and state under XDG dirs: keep them in the temp dir.
  const env = { ...process.env, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, XDG_CACHE_HOME: join(xdg, 'cache'), PASSWORD: undefined };
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
  execFileSync(opts.launcher, [...common, '--install-extension', opts.vsix], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

  const port = await freePort();
  let log = '';
  const proc = spawn(
    opts.launcher,
    [
      ...common,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      workspace,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  proc.stdout!.on('data', (d) => (log += String(d)));
  proc.stderr!.on('data', (d) => (log += String(d)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited (${proc.exitCode}) before serving:\n${log}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url} within 120 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url: `${url}/?folder=${encodeURIComponent(workspace)}`,
    workspace,
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.pid) {
        const exited = new Promise((r) => proc.once('exit', r));
        try {
          process.kill(-proc.pid, 'SIGTERM'); // the group: code-server, its extension host, the adapter
        } catch {
          /* gone */
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) {
          try {
            process.kill(-proc.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      if (!process.env.PIDSCOPE_KEEP_VSCODE_DIR) rmSync(base, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
    timeout: 60_000,
  });
}

/** Thrown from an `until` callback to stop waiting at once (the awaited thing cannot happen). */
export class Fatal extends Error {}

/** Polls `fn` until it returns a truthy value; throws with `what` and the last error on timeout. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message ?? last}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs a command from the command palette (F1), by its title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await until(
    `the command palette to run "${title}"`,
    async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${title}`);
      // The exact command, not one whose title merely contains it.
      const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
      const row = page
        .locator('.quick-input-list .monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: exact }) })
        .first();
      await row.waitFor({ state: 'visible', timeout: 5000 });
      await row.click();
      return true;
    },
    60_000,
    500,
  );
}

/** The frame of the live plot webview (nested iframes in VS Code's web workbench). */
export async function plotFrame(page: Page): Promise<Frame> {
  return until(
    'the live plot webview',
    async () => {
      for (const f of page.frames()) {
        try {
          if (await f.locator('#plot').count()) return f;
        } catch {
          /* frame navigating */
        }
      }
      return undefined;
    },
    90_000,
    500,
  );
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const p = join(ARTIFACTS, name);
  await page.screenshot({ path: p });
  return p;
}

/** extension/media/NAME (default screenshot.png) is refreshed when asked (PIDSCOPE_UPDATE_SCREENSHOT=1) or missing. */
export function publishScreenshot(from: string, name = 'screenshot.png'): void {
  const to = join(REPO, 'extension', 'media', name);
  if (process.env.PIDSCOPE_UPDATE_SCREENSHOT === '1' || !existsSync(to)) {
    mkdirSync(join(to, '..'), { recursive: true });
    copyFileSync(from, to);
  }
}

// ------------------------------------------------------------------ the shared test preamble

/**
 * Whether a code-server test must skip: with prerequisites missing it says so in one loud block
 * (and does not skip under CI=true / PIDSCOPE_CI=1, where its beforeAll then fails naming them).
 */
export function skipForMissing(what: string, missing: string[]): boolean {
  if (missing.length && !STRICT) {
    console.warn(
      `\n*** SKIPPING ${what}: missing on this machine:\n***   ${missing.join('\n***   ')}\n*** (With CI=true or PIDSCOPE_CI=1 this is a failure.)\n`,
    );
  }
  return missing.length > 0 && !STRICT;
}

/** User settings every test workbench starts with: a quiet VS Code (no tips, updates, trust prompts, telemetry). */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.ignoreRecommendations': true,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'debug.internalConsoleOptions': 'neverOpen',
  'git.openRepositoryInParentFolders': 'never',
};

export interface Workbench {
  server: CodeServer;
  browser: Browser;
  page: Page;
  /** Takes a last screenshot (`finalShot`), closes the browser and code-server, removes the .vsix. */
  close(finalShot: string): Promise<void>;
}

/**
 * The extension freshly packaged and installed into code-server with a workspace of `files`, and
 * Chromium showing its workbench. Settings are QUIET_SETTINGS plus `settings`.
 */
export async function openWorkbench(opts: { files: Record<string, string>; settings?: Record<string, unknown> }): Promise<Workbench> {
  const launcher = ensureCodeServer();
  const vsix = packageVsix();
  const server = await startCodeServer({ launcher, vsix, files: opts.files, userSettings: { ...QUIET_SETTINGS, ...opts.settings } });
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(30_000);
  await page.goto(server.url);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 120_000 });
  return {
    server,
    browser,
    page,
    async close(finalShot: string) {
      await screenshot(page, finalShot).catch(() => undefined); // the browser may be gone
      await browser.close().catch(() => undefined);
      await server.stop();
      rmSync(join(vsix, '..'), { recursive: true, force: true });
    },
  };
}

/** Throws Fatal when a pidscope notification matching `failure` is showing (the awaited thing will not come). */
export async function failOnToast(page: Page, failure: RegExp): Promise<void> {
  const toast = await page.locator('.notification-toast', { hasText: 'pidscope' }).allTextContents();
  if (toast.some((t) => failure.test(t))) throw new Fatal(`pidscope reported: ${toast.join(' | ')}`);
}

/** Selects the live view's frame (expanding its thread first) until the Variables view has rows. */
export async function focusLiveFrame(page: Page, callStack: Locator, variables: Locator): Promise<void> {
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
      await page.keyboard.press('ArrowRight'); // expand the thread
      return undefined;
    },
    60_000,
    1000,
  );
}

/** Expands a compile unit's row (e.g. globals.c) in the Variables view, once it is shown. */
export async function expandUnit(variables: Locator, name: string): Promise<void> {
  const unit = variables.locator('.monaco-list-row', { hasText: name }).first();
  await unit.waitFor({ state: 'visible', timeout: 60_000 });
  if ((await unit.getAttribute('aria-expanded')) !== 'true') await unit.click();
}

/**
 * The integer a Variables row shows, once it differs from `previous` (the first one shown when
 * there is none): a live value changes in place, with no stop and no user action.
 */
export function nextIntegerValue(row: Locator, name: string, previous?: string): Promise<string> {
  return until(
    previous === undefined ? `a value for ${name}` : `${name} to change in the Variables view (was ${previous})`,
    async () => {
      const value = ((await row.locator('.value').textContent()) ?? '').trim();
      return /^\d+$/.test(value) && value !== previous ? value : undefined;
    },
    60_000,
  );
}

/**
 * Pages the (virtualised) Variables tree down from a focused leaf row until the row of `name`
 * ("name =value", VS Code's variables renderer) is rendered: keyboard paging, because wheel
 * events over a value hover go to the hover.
 */
export async function findVariableRow(page: Page, tree: Locator, name: string): Promise<Locator> {
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
