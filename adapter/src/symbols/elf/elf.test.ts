import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, ElfFile, SHF_COMPRESSED } from './elf';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const readelf = (...args: string[]) => execFileSync('readelf', ['-W', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });

/** readelf -sW rows for one table: value, size, type, bind, ndx, name (without @version). */
function readelfSymbols(file: string, table: '.symtab' | '.dynsym') {
  const out = readelf('-s', file);
  const rows: Array<{ value: bigint; size: number; type: string; bind: string; ndx: string; name: string }> = [];
  let inTable = false;
  for (const line of out.split('\n')) {
    if (line.startsWith('Symbol table')) {
      inTable = line.includes(`'${table}'`);
      continue;
    }
    if (!inTable) continue;
    const m = /^\s*(\d+):\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)\s*(.*)$/.exec(line);
    if (!m || m[1] === '0') continue;
    // .dynsym names get their version appended by readelf; .symtab names carry it literally.
    const name = table === '.dynsym' ? m[7].replace(/@.*$/, '').replace(/ \(\d+\)$/, '') : m[7];
    rows.push({ value: BigInt('0x' + m[2]), size: m[3].startsWith('0x') ? parseInt(m[3], 16) : Number(m[3]), type: m[4], bind: m[5], ndx: m[6], name });
  }
  return rows;
}

const TYPE_NAMES: Record<string, string> = {
  notype: 'NOTYPE',
  object: 'OBJECT',
  func: 'FUNC',
  section: 'SECTION',
  file: 'FILE',
  common: 'COMMON',
  tls: 'TLS',
  ifunc: 'IFUNC',
};
const BIND_NAMES: Record<string, string> = { local: 'LOCAL', global: 'GLOBAL', weak: 'WEAK', unique: 'UNIQUE' };
const ndx = (n: number) => (n === 0 ? 'UND' : n === 0xfff1 ? 'ABS' : n === 0xfff2 ? 'COM' : String(n));

let dir: string;
let prog: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-elf-'));
  writeFileSync(join(dir, 't.c'), 'int g = 5; static int s; __thread int t; int main(void) { return g + s + t; }\n');
  prog = join(dir, 't');
  execFileSync('gcc', ['-g', '-O0', '-o', prog, join(dir, 't.c')]);
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ElfFile against readelf', () => {
  for (const [label, file] of [
    ['libc.so.6', LIBC],
    ['a gcc -g program', ''],
  ] as const) {
    it(`sections of ${label} equal readelf -SW`, () => {
      const path = file || prog;
      const elf = ElfFile.open(path);
      const out = readelf('-S', path);
      const rows = [
        ...out.matchAll(/^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\S*)\s+(\d+)\s+(\d+)\s+(\d+)$/gm),
      ];
      expect(rows.length).toBe(elf.sections.length);
      for (const r of rows) {
        const s = elf.sections[Number(r[1])];
        expect(s.name).toBe(r[2]);
        expect(s.addr).toBe(BigInt('0x' + r[4]));
        expect(s.offset).toBe(parseInt(r[5], 16));
        expect(s.size).toBe(parseInt(r[6], 16));
        expect(s.entsize).toBe(parseInt(r[7], 16)); // elfy misreads this one
        expect(s.link).toBe(Number(r[9]));
        expect(s.info).toBe(Number(r[10]));
        expect(s.addralign).toBe(BigInt(r[11])); // and this one
      }
    }, 120_000);

    it(`symbols of ${label} equal readelf -sW`, () => {
      const path = file || prog;
      const elf = ElfFile.open(path);
      for (const table of ['.dynsym', '.symtab'] as const) {
        const expected = readelfSymbols(path, table);
        const got = elf.symbols(table === '.dynsym' ? 'dynsym' : 'symtab');
        expect(got.length).toBe(expected.length);
        got.forEach((s, i) => {
          const e = expected[i];
          expect({ value: s.value, size: s.size, type: TYPE_NAMES[s.type], bind: BIND_NAMES[s.binding], ndx: ndx(s.shndx), name: s.name }).toEqual(e);
        });
      }
    }, 120_000);

    it(`build-id of ${label} equals readelf -n`, () => {
      const path = file || prog;
      const m = /Build ID: ([0-9a-f]+)/.exec(readelf('-n', path));
      expect(ElfFile.open(path).buildId()).toBe(m?.[1]);
    }, 120_000);
  }

  it('header fields: osabi byte, type, entry and segments as readelf -lW', () => {
    const elf = ElfFile.open(LIBC);
    const h = readelf('-h', LIBC);
    expect(elf.osabi).toBe(/UNIX - System V/.test(h) ? 0 : /GNU/.test(h) ? 3 : -1);
    expect(elf.entry).toBe(BigInt(/Entry point address:\s+(0x[0-9a-f]+)/.exec(h)![1]));
    const loads = [...readelf('-l', LIBC).matchAll(/^\s+LOAD\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)/gm)];
    expect(elf.loadSegments().map((p) => [p.offset, p.vaddr, p.filesz, p.memsz])).toEqual(
      loads.map((m) => [parseInt(m[1], 16), BigInt(m[2]), parseInt(m[4], 16), BigInt(m[5])]),
    );
  }, 120_000);

  it('.bss has no file bytes (elfy returns unrelated ones)', () => {
    const elf = ElfFile.open(prog);
    expect(elf.sectionData('.bss').length).toBe(0);
  }, 120_000);

  it('reads .gnu_debuglink name and CRC, and the CRC matches the debug file', () => {
    const dbg = join(dir, 't.debug');
    const stripped = join(dir, 't.stripped');
    execFileSync('objcopy', ['--only-keep-debug', prog, dbg]);
    execFileSync('objcopy', ['--strip-debug', `--add-gnu-debuglink=${dbg}`, prog, stripped]);
    const link = ElfFile.open(stripped).debugLink();
    expect(link?.name).toBe('t.debug');
    expect(link?.crc).toBe(crc32(readFileSync(dbg)));
    const pyCrc = execFileSync('python3', ['-c', `import zlib,sys; print(zlib.crc32(open(sys.argv[1],'rb').read()))`, dbg], { encoding: 'utf8' });
    expect(link?.crc).toBe(Number(pyCrc.trim()));
    expect(ElfFile.open(stripped).hasDwarf()).toBe(false);
    expect(ElfFile.open(dbg).hasDwarf()).toBe(true);
  }, 120_000);

  it('decompresses SHF_COMPRESSED (zlib) debug sections to the same bytes', () => {
    const z = join(dir, 't.zlib');
    execFileSync('objcopy', ['--compress-debug-sections=zlib-gabi', prog, z]);
    const plain = ElfFile.open(prog);
    const comp = ElfFile.open(z);
    const info = comp.section('.debug_info')!;
    expect(info.flags & SHF_COMPRESSED).toBe(SHF_COMPRESSED);
    for (const name of ['.debug_info', '.debug_abbrev', '.debug_line', '.debug_str']) {
      expect(comp.sectionData(name).equals(plain.sectionData(name))).toBe(true);
    }
  }, 120_000);

  it('rejects non-ELF and truncated files with a clear error', () => {
    expect(() => new ElfFile(Buffer.from('hello world, not an elf'), 'x')).toThrow(/not an ELF file/);
    const buf = readFileSync(prog);
    expect(() => new ElfFile(buf.subarray(0, 200), 'cut')).toThrow(/cut/);
    // Section headers intact but a section claims bytes past the end: the error names it.
    const elf = new ElfFile(buf, 'whole');
    const info = elf.section('.debug_info')!;
    const copy = Buffer.from(buf);
    const shoff = Number(copy.readBigUInt64LE(0x28));
    copy.writeBigUInt64LE(BigInt(copy.length), shoff + info.index * 64 + 32);
    expect(() => new ElfFile(copy, 'patched').sectionData('.debug_info')).toThrow(/section \.debug_info .* runs past the end of the file/);
  }, 120_000);
});

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  }, 120_000);
});
