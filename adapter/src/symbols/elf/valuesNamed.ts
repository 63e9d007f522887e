/**
 * Link-time values of the defined ELF symbols named exactly `name` (.symtab and .dynsym),
 * without decoding every symbol: the name is found in the string tables natively, and only the
 * symbol entries whose st_name points at one of those places are read. A name lookup through a
 * compiler index needs one symbol's address, not the tens of thousands of a big program.
 */
import type { ElfFile } from './elf';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;

export function symbolValuesNamed(files: Array<ElfFile | undefined>, name: string): bigint[] {
  const out: bigint[] = [];
  const key = Buffer.from(name + '\0');
  for (const e of files) {
    if (!e) continue;
    for (const sec of e.sections) {
      if (sec.type !== SHT_SYMTAB && sec.type !== SHT_DYNSYM) continue;
      const strSec = e.sections[sec.link];
      if (!strSec) continue;
      let strs: Buffer;
      let syms: Buffer;
      try {
        strs = e.sectionData(strSec);
        syms = e.sectionData(sec);
      } catch {
        continue;
      }
      // Every place the name ends a string: st_name of a symbol with this name (tails are shared).
      const at = new Set<number>();
      for (let i = strs.indexOf(key); i >= 0; i = strs.indexOf(key, i + 1)) at.add(i);
      if (at.size === 0) continue;
      const wide = e.addressSize === 8;
      const size = sec.entsize || (wide ? 24 : 16);
      const le = e.littleEndian;
      const u32 = (o: number) => (le ? syms.readUInt32LE(o) : syms.readUInt32BE(o));
      const u16 = (o: number) => (le ? syms.readUInt16LE(o) : syms.readUInt16BE(o));
      for (let o = 0; o + size <= syms.length; o += size) {
        if (!at.has(u32(o))) continue;
        const shndx = u16(o + (wide ? 6 : 14));
        if (shndx === 0) continue; // undefined here
        out.push(wide ? (le ? syms.readBigUInt64LE(o + 8) : syms.readBigUInt64BE(o + 8)) : BigInt(u32(o + 4)));
      }
    }
  }
  return out;
}
