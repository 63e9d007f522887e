/**
 * Corrupt debug info is bad input, not a pidscope bug (issue 16, part 5): a copy of the globals
 * fixture whose first abbreviation code in .debug_abbrev is changed runs, and `globals` / `eval`
 * report the malformed unit clearly (naming the file), exit 0 or 1, never "internal error" / 70.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../support/fixtures';
import { pidscope } from '../cli/run';

let dir: string;
let bin: string;
let proc: ChildProcess;
let pid: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-corrupt-'));
  bin = join(dir, 'globals-corrupt');
  copyFileSync(fixturePath('globals'), bin);
  const sections = execFileSync('readelf', ['-S', '-W', bin], { encoding: 'utf8' });
  const m = /\.debug_abbrev\s+PROGBITS\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(sections);
  if (!m) throw new Error(`no .debug_abbrev in ${bin}:\n${sections}`);
  const data = readFileSync(bin);
  const off = parseInt(m[1], 16);
  expect(data[off]).toBe(1); // the first table's first code
  data[off] = 0x7e; // code 1 is now unknown: every DIE that uses it is malformed
  writeFileSync(bin, data);
  chmodSync(bin, 0o755);
  proc = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const r = /ready (\d+)/.exec(out);
      if (r) resolve(Number(r[1]));
    });
    proc.on('exit', (c) => reject(new Error(`the corrupted fixture exited (${c})`)));
  });
});
afterAll(() => {
  proc?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('corrupt .debug_abbrev', () => {
  it('globals and eval report the malformed unit as bad input, never as an internal error', async () => {
    const g = await pidscope(['globals', '--pid', String(pid)]);
    expect(g.stderr).not.toMatch(/internal error/);
    expect(g.code === 0 || g.code === 1, `exit ${g.code}: ${g.stderr}`).toBe(true);
    const names = [...g.stdout.matchAll(/^\s+.*?\b(g_\w+)(?:\[\d+\])* = /gm)].map((x) => x[1]);
    expect(names.length).toBeGreaterThan(10);
    const e = await pidscope(['eval', '--pid', String(pid), ...names]);
    expect(e.stderr).not.toMatch(/internal error/);
    expect(e.code === 0 || e.code === 1, `exit ${e.code}: ${e.stderr}`).toBe(true);
    // The corruption was seen, and named with the file and the cause.
    const all = g.stdout + g.stderr + e.stdout + e.stderr;
    expect(all).toMatch(new RegExp(`malformed \\.debug_\\w+ of ${bin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unknown abbreviation code 1`));
  });
});
