/**
 * Byte sizes of DWARF attribute forms, shared by the DIE reader (reader.ts) and the cold name
 * scan (scan.ts), which compiles them into per-abbreviation skip plans.
 */
import { DW_FORM } from './constants';

/** Byte size of a form when it does not depend on the data (-1 otherwise). */
export function fixedFormSize(form: number, addressSize: number, offsetSize: number, version: number): number {
  switch (form) {
    case DW_FORM.addr:
      return addressSize;
    case DW_FORM.data1:
    case DW_FORM.ref1:
    case DW_FORM.flag:
    case DW_FORM.strx1:
    case DW_FORM.addrx1:
      return 1;
    case DW_FORM.data2:
    case DW_FORM.ref2:
    case DW_FORM.strx2:
    case DW_FORM.addrx2:
      return 2;
    case DW_FORM.strx3:
    case DW_FORM.addrx3:
      return 3;
    case DW_FORM.data4:
    case DW_FORM.ref4:
    case DW_FORM.strx4:
    case DW_FORM.addrx4:
    case DW_FORM.ref_sup4:
      return 4;
    case DW_FORM.data8:
    case DW_FORM.ref8:
    case DW_FORM.ref_sig8:
    case DW_FORM.ref_sup8:
      return 8;
    case DW_FORM.data16:
      return 16;
    case DW_FORM.strp:
    case DW_FORM.line_strp:
    case DW_FORM.sec_offset:
    case DW_FORM.strp_sup:
    case DW_FORM.GNU_ref_alt:
    case DW_FORM.GNU_strp_alt:
      return offsetSize;
    case DW_FORM.ref_addr:
      return version <= 2 ? addressSize : offsetSize;
    case DW_FORM.flag_present:
    case DW_FORM.implicit_const:
      return 0;
    default:
      return -1;
  }
}
