/**
 * Where debug info comes from, as gdb finds it: by build-id under a debug directory, by
 * .gnu_debuglink beside the binary; mismatched build-ids and CRCs are warnings and the file is
 * not used; a deleted binary is read through /proc/PID/map_files. Checked on live fixtures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../adapter/src/symbols/elf/elf';
import { loadSymbols } from '../../adapter/src/symbols/index';
import { typeName } from '../../adapter/src/lang/c/typeName';
import { fixturePath, splitDebugPath, startFixture, type RunningFixture } from '../support/fixtures';
import { gdbBatch } from '../support/gdb';
import { readProcMem } from '../support/proc';

const G_INT = 123456789;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-dbgfiles-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function buildIdPath(root: string, id: string): string {
  const p = join(root, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
  mkdirSync(join(root, '.build-id', id.slice(0, 2)), { recursive: true });
  return p;
}

describe('separate debug files for a stripped binary (live)', () => {
  let fx: RunningFixture;
  let buildId: string;
  beforeAll(async () => {
    fx = await startFixture('globals', { variant: 'stripped' });
    buildId = ElfFile.open(fx.binary).buildId()!;
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('finds <dir>/.build-id/xx/yyyy.debug in a user debug directory, like gdb', async () => {
    const root = join(dir, 'good');
    copyFileSync(splitDebugPath('globals'), buildIdPath(root, buildId));
    const syms = await loadSymbols(fx.pid, { debugDirs: [root] });
    const main = syms.modules[0];
    expect(main.debugFile).toBe(buildIdPath(root, buildId));
    const [v] = syms.findVariables('g_int');
    expect(typeName(v.type!)).toBe('int');
    expect(readProcMem(fx.pid, v.address!, 4).readInt32LE(0)).toBe(G_INT);
    const [out] = await gdbBatch(fx.pid, [{ kind: 'print', expr: '&g_int' }], { binary: fx.binary, settings: [`set debug-file-directory ${root}`] });
    expect(out.ok && out.text).toBe(`(int *) 0x${v.address!.toString(16)} <g_int>`);
  });

  it('a debug file with another build-id is refused with a warning', async () => {
    const root = join(dir, 'wrong');
    const other = buildIdPath(root, buildId);
    copyFileSync(fixturePath('globals', 'O2-dwarf5-pie'), other); // has DWARF, different build-id
    const syms = await loadSymbols(fx.pid, { debugDirs: [root] });
    expect(syms.modules[0].debugElf).toBeUndefined();
    expect(syms.warnings.some((w) => w.includes(other) && /build-id [0-9a-f]+ does not match/.test(w))).toBe(true);
    expect(syms.warnings.some((w) => /no debug info found/.test(w))).toBe(true);
    expect(syms.findVariables('g_int')).toEqual([]); // stripped: not even in .dynsym
  });
});

describe('.gnu_debuglink beside the binary', () => {
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
  });

  async function run(binary: string): Promise<number> {
    const p = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(p);
    const pid = await new Promise<number>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`${binary}: no ready line`)), 15_000);
      p.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /ready (\d+)/.exec(buf);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      p.on('exit', (code) => reject(new Error(`${binary} exited with ${code}`)));
    });
    return pid;
  }

  it('uses the .debug file when its CRC matches and refuses it when not', async () => {
    const good = join(dir, 'linkgood');
    const bad = join(dir, 'linkbad');
    mkdirSync(good);
    mkdirSync(bad);
    for (const d of [good, bad]) copyFileSync(fixturePath('globals', 'split'), join(d, 'globals'));
    copyFileSync(splitDebugPath('globals'), join(good, 'globals.debug'));
    const corrupt = Buffer.from(readFileSync(splitDebugPath('globals')));
    corrupt[corrupt.length - 1] ^= 0xff; // still a valid ELF, wrong CRC
    writeFileSync(join(bad, 'globals.debug'), corrupt);

    const pidGood = await run(join(good, 'globals'));
    const sGood = await loadSymbols(pidGood);
    expect(sGood.modules[0].debugFile).toBe(`/proc/${pidGood}/root${join(good, 'globals.debug')}`);
    expect(readProcMem(pidGood, sGood.findVariables('g_int')[0].address!, 4).readInt32LE(0)).toBe(G_INT);

    const pidBad = await run(join(bad, 'globals'));
    const sBad = await loadSymbols(pidBad);
    expect(sBad.modules[0].debugElf).toBeUndefined();
    expect(sBad.warnings.some((w) => /CRC32 0x[0-9a-f]+ does not match \.gnu_debuglink/.test(w))).toBe(true);
  });

  it('reads a deleted binary through /proc/PID/map_files', async () => {
    const d = join(dir, 'deleted');
    mkdirSync(d);
    const bin = join(d, 'globals');
    copyFileSync(fixturePath('globals', 'O0-dwarf5-pie'), bin);
    const pid = await run(bin);
    unlinkSync(bin);
    const syms = await loadSymbols(pid);
    const main = syms.modules[0];
    expect(main.path).toBe(bin);
    expect(main.readFrom).toMatch(new RegExp(`^/proc/${pid}/map_files/[0-9a-f]+-[0-9a-f]+$`));
    const [v] = syms.findVariables('g_int');
    expect(readProcMem(pid, v.address!, 4).readInt32LE(0)).toBe(G_INT);
  });
});

describe('bad pids', () => {
  it('a pid that does not exist is a clear error', async () => {
    await expect(loadSymbols(0x3ffffff0)).rejects.toThrow(/No process with pid/);
  });
});
