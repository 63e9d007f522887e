/**
 * Finding separate debug info the way gdb does (gdb manual, "Debugging Information in Separate
 * Files"): the file itself; by build-id under each debug directory
 * (`<dir>/.build-id/xx/yyyy.debug`); by .gnu_debuglink beside the file, in `.debug/` beside it,
 * and under `<dir>/<directory of the file>/`. Build-ids must match (a mismatch is a warning
 * and the file is not used); debuglink CRCs must match.
 */
import { mapFile } from '../linux/mapFile';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, ElfFile } from './elf/elf';

export const DEFAULT_DEBUG_DIRS = ['/usr/lib/debug'];

export interface DebugFileResult {
  elf: ElfFile;
  path: string;
  how: 'self' | 'build-id' | 'debuglink';
}

/**
 * @param elf the mapped file (already opened)
 * @param hostPath where we read it from (for debuglink's "beside the file")
 * @param originalPath its path as the target sees it (for `<debugdir>/<dir>/name`)
 * @param debugDirs the user's extra directories first, then /usr/lib/debug
 */
export function findDebugFile(elf: ElfFile, hostPath: string, originalPath: string, debugDirs: string[], warnings: string[]): DebugFileResult | undefined {
  if (elf.hasDwarf()) return { elf, path: hostPath, how: 'self' };
  const buildId = elf.buildId();
  const tried = new Set<string>();
  const openCandidate = (p: string, how: 'build-id' | 'debuglink', crc?: number): DebugFileResult | undefined => {
    if (tried.has(p)) return undefined;
    tried.add(p);
    try {
      if (!existsSync(p) || !statSync(p).isFile()) return undefined;
    } catch {
      return undefined;
    }
    let dbg: ElfFile;
    try {
      const buf = mapFile(p) ?? readFileSync(p);
      if (crc !== undefined) {
        const got = crc32(buf);
        if (got !== crc) {
          warnings.push(`${p}: CRC32 0x${got.toString(16)} does not match .gnu_debuglink of ${originalPath} (0x${crc.toString(16)}); not used`);
          return undefined;
        }
      }
      dbg = new ElfFile(buf, p);
    } catch (e) {
      warnings.push(`${p}: cannot read as ELF (${(e as Error).message}); not used`);
      return undefined;
    }
    const dbgId = dbg.buildId();
    if (buildId && dbgId && dbgId !== buildId) {
      warnings.push(`${p}: build-id ${dbgId} does not match ${originalPath} (${buildId}); not used`);
      return undefined;
    }
    if (!dbg.hasDwarf()) {
      warnings.push(`${p}: has no DWARF debug info; not used`);
      return undefined;
    }
    return { elf: dbg, path: p, how };
  };
  if (buildId && buildId.length > 2) {
    for (const dir of debugDirs) {
      const r = openCandidate(join(dir, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`), 'build-id');
      if (r) return r;
    }
  }
  let link;
  try {
    link = elf.debugLink();
  } catch (e) {
    warnings.push(`${originalPath}: unreadable .gnu_debuglink (${(e as Error).message})`);
  }
  if (link) {
    const hostDir = dirname(hostPath);
    const origDir = dirname(originalPath);
    const candidates = [join(hostDir, link.name), join(hostDir, '.debug', link.name)];
    for (const dir of debugDirs) candidates.push(join(dir, origDir, link.name));
    for (const c of candidates) {
      if (c === hostPath) continue;
      const r = openCandidate(c, 'debuglink', link.crc);
      if (r) return r;
    }
  }
  return undefined;
}
