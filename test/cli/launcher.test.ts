/**
 * adapter/bin/pidscope.js, the installed entry point: it runs the bundle with a V8 code cache
 * per command (~/.cache/pidscope/code/<node>-<arch>-<bundle size>-<mtime>.<command>.v8). A new
 * bundle gets new caches and the old ones go; a garbage cache is rejected by V8 and rewritten;
 * PIDSCOPE_CODE_CACHE=0 neither reads nor writes one. Runs a copy of bin/ and the bundle in a
 * temporary tree, so the repository's own out/ is never touched.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures';

const BUNDLE = join(REPO_ROOT, 'out', 'bundle', 'pidscope.js');
const built = existsSync(BUNDLE);
if (!built) console.warn(`SKIP launcher code cache: ${BUNDLE} is missing (npm run build)`);

const tree = mkdtempSync(join(tmpdir(), 'pidscope-launcher-'));
const xdg = join(tree, 'xdg');
const codeDir = join(xdg, 'pidscope', 'code');
const bin = join(tree, 'adapter', 'bin', 'pidscope.js');
const bundle = join(tree, 'out', 'bundle', 'pidscope.js');

beforeAll(() => {
  if (!built) return;
  mkdirSync(join(tree, 'adapter', 'bin'), { recursive: true });
  mkdirSync(join(tree, 'out', 'bundle'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'adapter', 'bin', 'pidscope.js'), bin);
  copyFileSync(join(REPO_ROOT, 'adapter', 'bin', 'codeCache.js'), join(tree, 'adapter', 'bin', 'codeCache.js'));
  copyFileSync(BUNDLE, bundle);
  copyFileSync(join(REPO_ROOT, 'package.json'), join(tree, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules'));
});
afterAll(() => rmSync(tree, { recursive: true, force: true }));

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: xdg, ...env } });
const caches = () => (existsSync(codeDir) ? readdirSync(codeDir).sort() : []);

describe.skipIf(!built)('launcher code cache', () => {
  it('writes one cache per command, keyed by Node and the bundle', () => {
    const help = run(['--help']);
    expect(help).toContain('Usage: pidscope <command>');
    expect(run(['ps', '--help'])).toContain('Usage: pidscope ps');
    const files = caches();
    expect(files.map((f) => f.replace(/^.*\.(\w+)\.v8$/, '$1'))).toEqual(['help', 'ps']);
    for (const f of files) expect(f.startsWith(`${process.version}-${process.arch}-`)).toBe(true);
    // A second run reads its cache and leaves it as it is.
    const before = readFileSync(join(codeDir, files[0]));
    expect(run(['--help'])).toBe(help);
    expect(readFileSync(join(codeDir, files[0])).equals(before)).toBe(true);
  });

  it('rejects a garbage cache (V8 checks it), still runs, and rewrites it', () => {
    const [file] = caches().filter((f) => f.endsWith('.help.v8'));
    writeFileSync(join(codeDir, file), Buffer.alloc(4096, 0x5a));
    const out = run(['--help']);
    expect(out).toContain('Usage: pidscope <command>');
    expect(readFileSync(join(codeDir, file)).equals(Buffer.alloc(4096, 0x5a))).toBe(false);
  });

  it('a changed bundle gets new caches and the old ones are removed', () => {
    const old = caches();
    appendFileSync(bundle, '\n// changed\n');
    run(['--help']);
    const now = caches();
    expect(now).toHaveLength(1);
    expect(old).not.toContain(now[0]);
  });

  it('the stdio DAP adapter, which ends with process.exit() after a disconnect, writes its cache too', () => {
    const frame = (seq: number, command: string, args: object) => {
      const json = JSON.stringify({ seq, type: 'request', command, arguments: args });
      return `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
    };
    const input = frame(1, 'initialize', { adapterID: 'pidscope' }) + frame(2, 'disconnect', {});
    const out = execFileSync(process.execPath, [bin, 'dap'], { input, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: xdg } });
    expect(out).toContain('"command":"disconnect"');
    expect(caches().filter((f) => f.endsWith('.dap.v8'))).toHaveLength(1);
  });

  it('PIDSCOPE_CODE_CACHE=0 neither reads nor writes a cache', () => {
    rmSync(codeDir, { recursive: true, force: true });
    expect(run(['--help'], { PIDSCOPE_CODE_CACHE: '0' })).toContain('Usage: pidscope <command>');
    expect(caches()).toEqual([]);
  });
});
