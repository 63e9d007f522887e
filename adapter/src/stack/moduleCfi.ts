/**
 * The CFI of one ELF file: its `.eh_frame` (loaded, what the C++ runtime unwinds with) and the
 * `.debug_frame` of its debug file, when there is one. Lookups try .eh_frame first, as libgcc
 * does; .debug_frame covers code that has no .eh_frame (some hand-written assembly, -fno-asynchronous-unwind-tables).
 */
import type { ElfFile } from '../symbols/elf/elf';
import { CfiSection, type CfiRow } from './cfi';

export interface ModuleCfi {
  eh?: CfiSection;
  debug?: CfiSection;
  rowAt(pc: bigint): CfiRow | undefined;
  errors(): string[];
}

const cache = new WeakMap<ElfFile, ModuleCfi>();

export function cfiOf(elf: ElfFile, debugElf?: ElfFile): ModuleCfi {
  const hit = cache.get(elf);
  if (hit) return hit;
  const eh = section(elf, '.eh_frame', 'eh_frame');
  let debug = section(elf, '.debug_frame', 'debug_frame');
  if (!debug && debugElf && debugElf !== elf) debug = section(debugElf, '.debug_frame', 'debug_frame');
  const m: ModuleCfi = {
    eh,
    debug,
    rowAt(pc) {
      return eh?.rowAt(pc) ?? debug?.rowAt(pc);
    },
    errors() {
      return [...(eh?.errors ?? []), ...(debug?.errors ?? [])];
    },
  };
  cache.set(elf, m);
  return m;
}

function section(elf: ElfFile, name: string, kind: 'eh_frame' | 'debug_frame'): CfiSection | undefined {
  try {
    const s = elf.section(name);
    if (!s || s.type === 8 /* NOBITS: a debug file's placeholder */ || s.size === 0) return undefined;
    const text = elf.section('.text');
    const got = elf.section('.got');
    return new CfiSection(elf.sectionData(s), { kind, address: s.addr, addressSize: elf.addressSize, textBase: text?.addr, dataBase: got?.addr });
  } catch {
    return undefined;
  }
}
