import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfFile } from '../symbols/elf/elf';
import { CfiSection, type CfiRow, type RegRule } from './cfi';
import { cfiOf } from './moduleCfi';

const NAMES = ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'ra'];

function ruleText(r: RegRule | undefined): string {
  if (!r) return 'u';
  switch (r.kind) {
    case 'undefined':
      return 'u';
    case 'same':
      return 's';
    case 'offset':
      return `c${r.offset >= 0n ? '+' : ''}${r.offset}`;
    case 'val_offset':
      return `v${r.offset >= 0n ? '+' : ''}${r.offset}`;
    case 'register':
      return `r${r.reg}`;
    case 'expression':
      return 'exp';
    case 'val_expression':
      return 'vexp';
  }
}

function cfaText(row: CfiRow): string {
  return row.cfa.kind === 'expr' ? 'exp' : `${NAMES[row.cfa.reg]}${row.cfa.offset >= 0n ? '+' : ''}${row.cfa.offset}`;
}

interface ReadelfRow {
  loc: bigint;
  cfa: string;
  cols: Array<[string, string]>;
}

/** readelf --debug-dump=frames-interp: every row of every FDE, the independent oracle. */
function readelfRows(path: string, which: 'frames-interp'): ReadelfRow[] {
  // readelf exits non-zero when it cannot follow a debug link; its table is still complete.
  const text = spawnSync('readelf', [`--debug-dump=${which}`, path], { maxBuffer: 1 << 28, encoding: 'utf8' }).stdout;
  const out: ReadelfRow[] = [];
  let header: string[] | undefined;
  let inFde = false;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]{8,} [0-9a-f]+ [0-9a-f]+ FDE/.test(line)) {
      inFde = true;
      header = undefined;
      continue;
    }
    if (/ CIE /.test(line)) {
      inFde = false;
      continue;
    }
    if (!inFde) continue;
    if (line.trim().startsWith('LOC')) {
      header = line.trim().split(/\s+/).slice(2);
      continue;
    }
    const m = /^([0-9a-f]{16}) (.*)$/.exec(line);
    if (m && header) {
      const f = m[2]
        .replace(/ \([a-z0-9]+\)/g, '')
        .trim()
        .split(/\s+/);
      out.push({ loc: BigInt('0x' + m[1]), cfa: f[0], cols: header.map((h, i) => [h, f[i + 1]]) });
    }
  }
  return out;
}

function compare(path: string, sample: number): { checked: number; mismatches: string[] } {
  const elf = ElfFile.open(path);
  const cfi = cfiOf(elf);
  const sec = cfi.eh;
  expect(sec).toBeDefined();
  const rows = readelfRows(path, 'frames-interp');
  expect(rows.length).toBeGreaterThan(10);
  const step = Math.max(1, Math.floor(rows.length / sample));
  const mismatches: string[] = [];
  let checked = 0;
  for (let i = 0; i < rows.length; i += step) {
    const r = rows[i];
    const ours = sec!.rowAt(r.loc);
    checked++;
    if (!ours) {
      mismatches.push(`0x${r.loc.toString(16)}: no row`);
      continue;
    }
    const got = [cfaText(ours), ...r.cols.map(([h]) => ruleText(ours.regs.get(NAMES.indexOf(h))))].join(' ');
    const want = [r.cfa, ...r.cols.map(([, v]) => v)].join(' ');
    if (got !== want) mismatches.push(`0x${r.loc.toString(16)}: ours ${got} readelf ${want}`);
  }
  return { checked, mismatches };
}

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const LDSO = '/lib64/ld-linux-x86-64.so.2';
const FIXTURE = 'fixtures/build/O2-dwarf5-pie/threads';

describe('CFI against readelf --debug-dump=frames-interp', () => {
  for (const path of [LIBC, LDSO, FIXTURE]) {
    it.skipIf(!existsSync(path))(`every sampled row of ${path}`, () => {
      const { checked, mismatches } = compare(path, 3000);
      expect(checked).toBeGreaterThan(10);
      expect(mismatches.slice(0, 10)).toEqual([]);
    });
  }

  it('libc: __restore_rt has a signal-frame FDE (augmentation S) with expression rules', () => {
    const elf = ElfFile.open(LIBC);
    const sym = elf
      .symbols('symtab')
      .concat(elf.symbols('dynsym'))
      .find((s) => s.name === '__restore_rt');
    if (!sym) return; // stripped libc without .symtab: covered by the e2e test
    const row = cfiOf(elf).eh!.rowAt(sym.value);
    expect(row?.signalFrame).toBe(true);
    expect(row?.cfa.kind).toBe('expr');
  });
});

describe('corrupt CFI', () => {
  it('a truncated section gives no rows and an error, never a throw', () => {
    const elf = ElfFile.open(LIBC);
    const s = elf.section('.eh_frame')!;
    const data = Buffer.from(elf.sectionData(s)).subarray(0, 1000);
    const sec = new CfiSection(data, { kind: 'eh_frame', address: s.addr });
    expect(() => sec.rowAt(0x26010n)).not.toThrow();
  });

  it('garbage bytes: lookups return undefined', () => {
    const data = Buffer.alloc(4096);
    for (let i = 0; i < data.length; i++) data[i] = (i * 97 + 13) & 0xff;
    const sec = new CfiSection(data, { kind: 'eh_frame', address: 0x1000n });
    for (let pc = 0n; pc < 0x100000n; pc += 0x1001n) expect(() => sec.rowAt(pc)).not.toThrow();
  });

  it('an FDE with an unknown opcode is reported and skipped', () => {
    // CIE: len, id 0, v1, "zR", caf 1, daf -8, ra 16, auglen 1, enc 0 (absptr), def_cfa rsp+8, offset ra c-8
    const cie = Buffer.from([0x14, 0, 0, 0, 0, 0, 0, 0, 1, 0x7a, 0x52, 0, 1, 0x78, 16, 1, 0, 0x0c, 7, 8, 0x90, 1, 0, 0]);
    const fde = Buffer.alloc(4 + 4 + 8 + 8 + 1 + 3);
    fde.writeUInt32LE(fde.length - 4, 0);
    fde.writeUInt32LE(cie.length + 4, 4); // CIE pointer: distance back to the CIE from this field
    fde.writeBigUInt64LE(0x2000n, 8);
    fde.writeBigUInt64LE(0x100n, 16);
    fde[24] = 0; // aug data length
    fde[25] = 0x41; // advance_loc 1
    fde[26] = 0x3f; // unknown opcode
    fde[27] = 0;
    const sec = new CfiSection(Buffer.concat([cie, fde, Buffer.alloc(4)]), { kind: 'eh_frame', address: 0n });
    expect(sec.rowAt(0x2000n)?.cfa).toEqual({ kind: 'reg', reg: 7, offset: 8n });
    expect(sec.rowAt(0x2005n)).toBeUndefined();
    expect(sec.errors.join()).toMatch(/unknown DW_CFA operation 0x3f/);
  });
});
