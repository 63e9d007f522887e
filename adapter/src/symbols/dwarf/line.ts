/**
 * .debug_line programs, versions 2-5: header (v5 entry formats with line_strp and MD5), the
 * state machine, and a row table sorted by address for address → file:line lookups.
 */
import { Cursor } from '../binary/cursor';
import * as C from './constants';
// Local bindings: module-namespace getters in hot switch statements are slow under some loaders.
const DW_FORM = C.DW_FORM;
import type { DwarfReader, Unit } from './reader';
import { lastAtOrBefore } from '../../util/search';

export interface LineRow {
  address: bigint;
  file: number;
  line: number;
  column: number;
  isStmt: boolean;
  endSequence: boolean;
}

export interface LineFile {
  name: string;
  dir: string;
  /** Index into the directory table (0: the compilation directory); gdb's display name depends on it. */
  dirIndex?: number;
  md5?: Buffer;
}

export interface LineTable {
  version: number;
  files: LineFile[];
  /** Rows in program order; each sequence ends with an endSequence row. */
  rows: LineRow[];
  /** Indices of rows sorted by address (endSequence rows included to close ranges). */
  sorted: number[];
}

const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;
const DW_LNCT_MD5 = 5;

/** Caps to keep malicious input bounded. */
const MAX_ROWS = 50_000_000;

/** Parses the header (file table) and, unless `headerOnly`, runs the line program. */
export function parseLineTable(reader: DwarfReader, u: Unit, offset: number, headerOnly = false): LineTable {
  const sec = reader.s.line;
  if (!sec) throw new Error('.debug_line is missing');
  const c0 = new Cursor(sec, reader.s.littleEndian, 0, sec.length, '.debug_line');
  c0.seek(offset);
  let unitLength = c0.u32();
  let offsetSize = 4;
  if (unitLength === 0xffffffff) {
    unitLength = c0.u64n();
    offsetSize = 8;
  }
  const c = c0.sub(c0.pos, Math.min(sec.length, c0.pos + unitLength), '.debug_line');
  if (c0.pos + unitLength > sec.length) c.fail('line program runs past the end of .debug_line');
  const version = c.u16();
  if (version < 2 || version > 5) c.fail(`unsupported line table version ${version}`);
  let addressSize = u.addressSize;
  if (version >= 5) {
    addressSize = c.u8();
    c.u8(); // segment selector size
  }
  const headerLength = c.uNn(offsetSize);
  const programStart = c.pos + headerLength;
  const minInst = c.u8();
  const maxOps = version >= 4 ? c.u8() : 1;
  void maxOps;
  const defaultIsStmt = c.u8() !== 0;
  const lineBase = c.i8();
  const lineRange = c.u8();
  const opcodeBase = c.u8();
  if (lineRange === 0) c.fail('line_range is 0');
  const stdLengths: number[] = [];
  for (let i = 1; i < opcodeBase; i++) stdLengths.push(c.u8());
  const dirs: string[] = [];
  const files: LineFile[] = [];
  const compDir = u.compDir ?? '';
  if (version >= 5) {
    const readEntries = (): Array<Record<number, unknown>> => {
      const fmtCount = c.u8();
      const fmt: Array<[number, number]> = [];
      for (let i = 0; i < fmtCount; i++) fmt.push([c.uleb(), c.uleb()]);
      const count = c.uleb();
      const out: Array<Record<number, unknown>> = [];
      for (let i = 0; i < count; i++) {
        const e: Record<number, unknown> = {};
        for (const [ct, form] of fmt) {
          const v = reader.readForm(c, { ...u, offsetSize: offsetSize as 4 | 8 }, form);
          if (ct === DW_LNCT_path) {
            e[ct] =
              typeof v === 'string'
                ? v
                : form === DW_FORM.line_strp || form === DW_FORM.strp || (form >= DW_FORM.strx1 && form <= DW_FORM.strx4) || form === DW_FORM.strx
                  ? reader.str(u, { at: 0, form, value: v })
                  : '';
          } else e[ct] = v;
        }
        out.push(e);
      }
      return out;
    };
    for (const d of readEntries()) dirs.push(String(d[DW_LNCT_path] ?? ''));
    for (const f of readEntries()) {
      const di = Number(f[DW_LNCT_directory_index] ?? 0);
      const md5 = f[DW_LNCT_MD5];
      files.push({ name: String(f[DW_LNCT_path] ?? ''), dir: dirs[di] ?? '', dirIndex: di, md5: Buffer.isBuffer(md5) ? md5 : undefined });
    }
  } else {
    dirs.push(compDir);
    for (let i = 0; i < 100_000; i++) {
      const d = c.cstr();
      if (d === '') break;
      dirs.push(d);
    }
    // Index 0 is unused in v2-4 file numbering; keep a placeholder so indices match.
    files.push({ name: u.name ?? '', dir: compDir });
    for (let i = 0; i < 1_000_000; i++) {
      const name = c.cstr();
      if (name === '') break;
      const di = c.uleb();
      c.uleb();
      c.uleb();
      files.push({ name, dir: dirs[di] ?? '', dirIndex: di });
    }
  }
  if (headerOnly) return { version, files, rows: [], sorted: [] };
  c.seek(programStart);
  const rows: LineRow[] = [];
  let address = 0n;
  let file = 1;
  let line = 1;
  let column = 0;
  let isStmt = defaultIsStmt;
  const reset = () => {
    address = 0n;
    file = 1;
    line = 1;
    column = 0;
    isStmt = defaultIsStmt;
  };
  const emit = (end: boolean) => {
    if (rows.length >= MAX_ROWS) c.fail('line table too large');
    rows.push({ address, file, line, column, isStmt, endSequence: end });
  };
  const adv = (opAdv: number) => {
    address += BigInt(opAdv * minInst);
  };
  while (!c.atEnd()) {
    const op = c.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      adv(Math.floor(adj / lineRange));
      line += lineBase + (adj % lineRange);
      emit(false);
      continue;
    }
    switch (op) {
      case 0: {
        const len = c.uleb();
        const end = c.pos + len;
        if (len === 0) break;
        const sub = c.u8();
        if (sub === 1) {
          emit(true);
          reset();
        } else if (sub === 2) address = c.addr(addressSize);
        else if (sub === 3) {
          // DW_LNE_define_file (v2-4)
          const name = c.cstr();
          const di = c.uleb();
          files.push({ name, dir: dirs[di] ?? '' });
        }
        c.seek(end);
        break;
      }
      case 1:
        emit(false);
        break;
      case 2:
        adv(c.uleb());
        break;
      case 3:
        line += c.sleb();
        break;
      case 4:
        file = c.uleb();
        break;
      case 5:
        column = c.uleb();
        break;
      case 6:
        isStmt = !isStmt;
        break;
      case 7:
        break;
      case 8:
        adv(Math.floor((255 - opcodeBase) / lineRange));
        break;
      case 9:
        address += BigInt(c.u16());
        break;
      case 10:
      case 11:
        break;
      case 12:
        c.uleb();
        break;
      default:
        for (let i = 0; i < (stdLengths[op - 1] ?? 0); i++) c.uleb();
    }
  }
  const sorted = rows.map((_, i) => i);
  sorted.sort((a, b) => {
    const ra = rows[a];
    const rb = rows[b];
    if (ra.address !== rb.address) return ra.address < rb.address ? -1 : 1;
    // At equal addresses an end_sequence closes the previous range: put it first.
    if (ra.endSequence !== rb.endSequence) return ra.endSequence ? -1 : 1;
    return a - b;
  });
  return { version, files, rows, sorted };
}

/** The row whose range [row.address, next.address) contains `addr`, within one sequence. */
export function lookupLine(t: LineTable, addr: bigint): LineRow | undefined {
  const s = t.sorted;
  const best = lastAtOrBefore(s, addr, (i) => t.rows[i].address);
  if (best < 0) return undefined;
  // Among rows at the same address, the last one in program order is the one gdb reports.
  const row = t.rows[s[best]];
  if (row.endSequence) return undefined;
  // The next row in program order must be in the same sequence and beyond addr.
  const idx = s[best];
  const next = t.rows[idx + 1];
  if (!next || next.address <= addr) {
    if (!next) return undefined;
  }
  return row;
}

export function fileName(t: LineTable, index: number): string | undefined {
  const f = t.files[index];
  if (!f) return undefined;
  if (f.name.startsWith('/') || !f.dir) return f.name;
  return `${f.dir}/${f.name}`;
}
