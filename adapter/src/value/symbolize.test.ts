import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ElfFile } from '../symbols/elf/elf';
import { symbolSuffixIn } from './symbolize';

const ROOT = join(__dirname, '..', '..', '..');
const BUILD = join(ROOT, 'fixtures', 'build');

/** Addresses around every symbol: its edges, one past them, and the middle of the gap after it. */
function probes(elf: ElfFile): bigint[] {
  const syms = elf.symbols('symtab').filter((s) => s.shndx !== 0 && s.shndx < 0xff00);
  const out = new Set<bigint>();
  const values = [...new Set(syms.map((s) => s.value))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const s of syms) {
    const end = s.value + BigInt(s.size);
    for (const a of [s.value - 1n, s.value, s.value + 1n, end - 1n, end, end + 1n]) if (a >= 0n) out.add(a);
  }
  for (let i = 0; i + 1 < values.length; i++) out.add((values[i] + values[i + 1]) / 2n);
  out.add(0n);
  out.add(values[values.length - 1] + 0x100000n);
  return [...out];
}

function module(elf: ElfFile) {
  return { bias: 0n, elf, symbols: () => elf.symbols('symtab') };
}

/** Compares both ways at every probe address (at most `limit` of them, spread over the file). */
function expectSameAnswers(file: string, limit = Infinity): number {
  const elf = ElfFile.open(file);
  const m = module(elf);
  const all = probes(elf);
  const step = Math.max(1, Math.ceil(all.length / limit));
  let n = 0;
  for (let i = 0; i < all.length; i += step) {
    const a = all[i];
    n++;
    const sorted = symbolSuffixIn(m, a, 'sorted');
    for (const how of ['scan', 'scan-unaligned', 'scan-exact'] as const) {
      const scan = symbolSuffixIn(m, a, how);
      if (scan !== sorted) expect({ file, how, address: `0x${a.toString(16)}`, scan }).toEqual({ file, how, address: `0x${a.toString(16)}`, scan: sorted });
    }
  }
  return n;
}

describe('<sym+off>: one-pass scan of the raw .symtab gives the sorted table’s answer', () => {
  const files = ['O0-dwarf5-pie', 'O2-dwarf5-pie', 'O0-dwarf5-nopie', 'O2-dwarf4-nopie', 'symtab-only']
    .flatMap((v) => ['globals', 'quirks', 'threads'].map((p) => join(BUILD, v, p)))
    .concat(['gcc-O2-dwarf5', 'clang-O2-dwarf5'].map((v) => join(BUILD, 'cxx', v)).flatMap((d) => (existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : [])))
    .filter((f) => existsSync(f) && !f.endsWith('.debug'));

  it('on the fixtures (every symbol edge, gaps, before the first and past the last)', () => {
    expect(files.length).toBeGreaterThan(10);
    let n = 0;
    for (const f of files) n += expectSameAnswers(f);
    expect(n).toBeGreaterThan(1000);
  });

  // glibc's own .symtab (in libc6-dbg's debug file) is full of aliases at one address
  // (weak/global/local, typed and notype): the tie-breaking is what is tested here.
  const dir = '/usr/lib/debug/.build-id';
  const libcDebug = (() => {
    try {
      const libc = ElfFile.open('/lib/x86_64-linux-gnu/libc.so.6');
      const id = libc.buildId();
      const f = id ? join(dir, id.slice(0, 2), `${id.slice(2)}.debug`) : '';
      return f && existsSync(f) ? f : undefined;
    } catch {
      return undefined;
    }
  })();
  if (!libcDebug) console.warn('SKIP symbolize scan vs sorted on libc: no libc6-dbg debug file under /usr/lib/debug/.build-id');
  it.skipIf(!libcDebug)("on glibc's debug .symtab (aliases)", () => {
    expect(expectSameAnswers(libcDebug!, 2_000)).toBeGreaterThan(1000);
  });
});
