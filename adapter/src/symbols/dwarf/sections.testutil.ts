/**
 * For unit tests: the DWARF sections of a whole ELF file, read eagerly (symbols/module.ts reads
 * them lazily, each on first use, for the product).
 */
import type { ElfFile } from '../elf/elf';
import type { DwarfSections } from './reader';

export function elfDwarfSections(elf: ElfFile): DwarfSections {
  const s = (n: string) => (elf.section(n) ? elf.sectionData(n) : undefined);
  return {
    info: s('.debug_info')!,
    abbrev: s('.debug_abbrev')!,
    str: s('.debug_str'),
    lineStr: s('.debug_line_str'),
    strOffsets: s('.debug_str_offsets'),
    addr: s('.debug_addr'),
    ranges: s('.debug_ranges'),
    rnglists: s('.debug_rnglists'),
    line: s('.debug_line'),
    littleEndian: true,
    addressSize: 8,
  };
}
