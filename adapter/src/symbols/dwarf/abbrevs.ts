/**
 * A DWARF abbreviation table in typed arrays: one parse of .debug_abbrev per table with no
 * object per abbreviation or attribute. A cold index of a big program reads every unit's table
 * (CPython: 147 tables, ~20 k abbreviations, ~100 k attribute specs); as objects they were a
 * good part of that run's garbage-collection time, and most of them were never used again.
 * The reader builds its Abbrev objects from here only for the units it reads DIEs of.
 */
import type { Cursor } from '../binary/cursor';
import { DW_FORM } from './constants';

export interface AbbrevTable {
  count: number;
  /** Code → abbreviation index + 1 (0: unknown) for codes below its length; bigger codes in bigCodes. */
  byCode: Int32Array;
  bigCodes?: Map<number, number>;
  code: Int32Array;
  tag: Int32Array;
  children: Uint8Array;
  /** Attributes of abbreviation i: [first[i], first[i + 1]). */
  first: Int32Array;
  at: Int32Array;
  form: Int32Array;
  /** DW_FORM_implicit_const values by attribute index (absent when the table has none). */
  implicit?: Map<number, bigint>;
}

const MAX_ABBREV_ATTRS = 4096;
/** Codes up to this go in the dense byCode array. */
const DENSE_CODES = 1 << 16;

let scratch = new Int32Array(1 << 14);

function grow(n: number): void {
  if (n <= scratch.length) return;
  const s = new Int32Array(Math.max(n, scratch.length * 2));
  s.set(scratch);
  scratch = s;
}

/** Parses the table at the cursor (which names .debug_abbrev in its errors). */
export function parseAbbrevTable(c: Cursor): AbbrevTable {
  // One pass into scratch: per abbreviation code, tag, children, attribute count, then
  // (at, form) pairs; copied out into exact-size arrays at the end. One-byte LEB128 values
  // (nearly all of them) are read inline: this runs once per unit, mostly unoptimized.
  const b = c.buf;
  const end = c.end;
  const leb = (): number => {
    const p = c.pos;
    if (p < end) {
      const x = b[p];
      if (x < 0x80) {
        c.pos = p + 1;
        return x;
      }
    }
    return c.uleb();
  };
  let n = 0;
  let count = 0;
  let attrs = 0;
  let implicit: Map<number, bigint> | undefined;
  for (;;) {
    const code = leb();
    if (code === 0) break;
    grow(n + 4);
    scratch[n] = code;
    scratch[n + 1] = leb();
    scratch[n + 2] = c.u8() !== 0 ? 1 : 0;
    const countAt = n + 3;
    n += 4;
    let k = 0;
    for (;;) {
      let at: number;
      let form: number;
      const p = c.pos;
      if (p + 1 < end && b[p] < 0x80 && b[p + 1] < 0x80) {
        at = b[p];
        form = b[p + 1];
        c.pos = p + 2;
      } else {
        at = c.uleb();
        form = c.uleb();
      }
      if (at === 0 && form === 0) break;
      if (form === DW_FORM.implicit_const) (implicit ??= new Map()).set(attrs + k, c.slebBig());
      if (n + 2 > scratch.length) grow(n + 2);
      scratch[n] = at;
      scratch[n + 1] = form;
      n += 2;
      if (++k > MAX_ABBREV_ATTRS) c.fail('abbreviation with too many attributes');
    }
    scratch[countAt] = k;
    attrs += k;
    count++;
  }
  const t: AbbrevTable = {
    count,
    byCode: new Int32Array(0),
    code: new Int32Array(count),
    tag: new Int32Array(count),
    children: new Uint8Array(count),
    first: new Int32Array(count + 1),
    at: new Int32Array(attrs),
    form: new Int32Array(attrs),
    implicit,
  };
  let maxCode = 0;
  for (let i = 0, p = 0, a = 0; i < count; i++) {
    const code = scratch[p];
    t.code[i] = code;
    t.tag[i] = scratch[p + 1];
    t.children[i] = scratch[p + 2];
    const k = scratch[p + 3];
    t.first[i] = a;
    p += 4;
    for (let j = 0; j < k; j++, p += 2, a++) {
      t.at[a] = scratch[p];
      t.form[a] = scratch[p + 1];
    }
    if (code < DENSE_CODES && code > maxCode) maxCode = code;
  }
  t.first[count] = attrs;
  t.byCode = new Int32Array(maxCode + 1);
  // A code defined twice: the last definition wins (as a Map filled in order did).
  for (let i = 0; i < count; i++) {
    const code = t.code[i];
    if (code < DENSE_CODES) t.byCode[code] = i + 1;
    else (t.bigCodes ??= new Map()).set(code, i + 1);
  }
  return t;
}

/** Index of the abbreviation with `code`, or -1. */
export function abbrevIndex(t: AbbrevTable, code: number): number {
  return (code < t.byCode.length ? t.byCode[code] : (t.bigCodes?.get(code) ?? 0)) - 1;
}
