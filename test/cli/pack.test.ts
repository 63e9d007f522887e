/**
 * Installed as users install it: `npm pack` → `npm install -g` of the tarball into a temporary
 * prefix → the `pidscope` on that prefix's PATH reads a live fixture. The package is staged from
 * this checkout (package.json, README, adapter/bin, and the build compiled into the stage), so
 * the test proves that package.json's "files" pick everything the installed CLI needs, without
 * rebuilding the checkout's own out/.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';

let dir: string;
let fx: RunningFixture;
let tarball: string;
let pidscope: string;
let installed: string;

function findFiles(root: string, name: string, out: string[] = []): string[] {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) findFiles(p, name, out);
    else if (e.name === name) out.push(p);
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-pack-'));
  const stage = join(dir, 'stage');
  mkdirSync(join(stage, 'adapter'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(stage, 'package.json'));
  copyFileSync(join(REPO_ROOT, 'README.md'), join(stage, 'README.md'));
  cpSync(join(REPO_ROOT, 'adapter', 'bin'), join(stage, 'adapter', 'bin'), { recursive: true });
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(REPO_ROOT, 'tsconfig.json'),
      '--outDir',
      join(stage, 'out'),
      '--sourceMap',
      'false',
    ],
    {
      stdio: 'pipe',
    },
  );
  // --ignore-scripts: `prepare` would build again (the stage has no TypeScript).
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim()
    .split('\n')
    .pop()!;
  tarball = join(dir, name);
  const prefix = join(dir, 'prefix');
  execFileSync('npm', ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pidscope = join(prefix, 'bin', 'pidscope');
  installed = join(prefix, 'lib', 'node_modules', 'pidscope');
  fx = await startFixture('globals');
}, 300_000);
afterAll(async () => {
  await fx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack → npm install -g', () => {
  it('the tarball holds the built adapter and no sources or tests', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toContain('package/out/adapter/src/main.js');
    expect(files).toContain('package/out/adapter/src/linux/libc.js');
    expect(files).toContain('package/adapter/bin/pidscope.js');
    expect(files.filter((f) => f.endsWith('.ts') || f.endsWith('.test.js') || f.includes('/bench/') || f.includes('fixtures/'))).toEqual([]);
  });

  it("installs without dev dependencies, with koffi's native binary", () => {
    const deps = join(installed, 'node_modules');
    for (const dev of ['typescript', 'vitest', 'tsx', 'esbuild', '@vscode/debugadapter-testsupport']) expect(existsSync(join(deps, dev)), dev).toBe(false);
    expect(findFiles(deps, 'koffi.node').some((p) => p.includes('linux_x64'))).toBe(true);
  });

  it('the installed `pidscope` reads a live process', () => {
    const info = execFileSync(pidscope, ['info', '--pid', String(fx.pid)], { encoding: 'utf8' });
    expect(info).toMatch(new RegExp(`process ${fx.pid} \\(globals\\)`));
    expect(info).toMatch(/memory backend:/);
    expect(execFileSync(pidscope, ['eval', '--pid', String(fx.pid), 'g_int'], { encoding: 'utf8' }).trim()).toBe('123456789');
    expect(execFileSync(pidscope, ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(tracerPid(fx.pid)).toBe(0);
  });
});
