/**
 * /proc/PID/maps parsed into regions, and the mapped files ("modules") derived from them.
 *
 * Line format (fs/proc/task_mmu.c show_map_vma):
 *   start-end perms offset major:minor inode [padding] path
 * The path is everything after the padding and may contain spaces; the kernel appends
 * " (deleted)" when the file was unlinked and escapes a newline in a name as "\012".
 */
import { findContaining } from '../util/search';

export type RegionKind = 'file' | 'anonymous' | 'heap' | 'stack' | 'vdso' | 'vvar' | 'vsyscall' | 'special';

export interface MapRegion {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  read: boolean;
  write: boolean;
  exec: boolean;
  /** 's' in the fourth permission column (MAP_SHARED); otherwise private ('p'). */
  shared: boolean;
  /** The four permission characters as printed, e.g. 'r-xp'. */
  perms: string;
  /** File offset of `start` (bigint: files can be larger than 2^53 bytes in principle). */
  offset: bigint;
  /** 'major:minor' in hex, as printed. */
  dev: string;
  inode: number;
  /** File path, a special name like '[heap]' / '[anon:name]', or '' for anonymous memory. */
  path: string;
  /** The file was unlinked after it was mapped (the kernel's " (deleted)" suffix, removed from `path`). */
  deleted: boolean;
  kind: RegionKind;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+)\s+([r-][w-][x-][ps])\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)(?:\s(.*))?$/i;
const DELETED = ' (deleted)';

function kindOf(path: string, inode: number): RegionKind {
  if (path === '') return 'anonymous';
  if (path === '[heap]') return 'heap';
  if (path === '[stack]' || path.startsWith('[stack:')) return 'stack';
  if (path === '[vdso]') return 'vdso';
  if (path === '[vvar]' || path === '[vvar_vclock]') return 'vvar';
  if (path === '[vsyscall]') return 'vsyscall';
  if (path.startsWith('[') && path.endsWith(']') && inode === 0) return 'special';
  return 'file';
}

/** Parses one line; returns undefined for a line that is not a mapping (never throws). */
export function parseMapsLine(line: string): MapRegion | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const inode = Number(m[6]);
  let path = (m[7] ?? '').replace(/^\s+/, '');
  let deleted = false;
  if (path.endsWith(DELETED) && path !== DELETED.trim()) {
    deleted = true;
    path = path.slice(0, -DELETED.length);
  }
  path = path.replace(/\\012/g, '\n');
  const perms = m[3];
  return {
    start: BigInt('0x' + m[1]),
    end: BigInt('0x' + m[2]),
    read: perms[0] === 'r',
    write: perms[1] === 'w',
    exec: perms[2] === 'x',
    shared: perms[3] === 's',
    perms,
    offset: BigInt('0x' + m[4]),
    dev: m[5],
    inode,
    path,
    deleted,
    kind: kindOf(path, inode),
  };
}

export function parseMaps(text: string): MapRegion[] {
  const out: MapRegion[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = parseMapsLine(line);
    if (r) out.push(r);
  }
  return out;
}

/** The region containing `address` (regions sorted by start, as the kernel prints them). */
export function findRegion(regions: readonly MapRegion[], address: bigint): MapRegion | undefined {
  return findContaining(regions, address, 'start', 'end');
}

/** One mapped file: every region that maps it, in address order. */
export interface MappedModule {
  path: string;
  /** Lowest mapped address of the file. */
  start: bigint;
  /** End of the highest region that maps it. */
  end: bigint;
  /**
   * Address that file offset 0 is mapped at (start of the region with offset 0), or the lowest
   * region's start minus its offset. For an ELF file this is where the first PT_LOAD's page is;
   * the load bias is this minus the first PT_LOAD's p_vaddr rounded down to a page.
   */
  base: bigint;
  deleted: boolean;
  dev: string;
  inode: number;
  regions: MapRegion[];
}

/** Files mapped into the process, in order of their lowest address; special names excluded. */
export function modulesOf(regions: readonly MapRegion[]): MappedModule[] {
  const byKey = new Map<string, MappedModule>();
  for (const r of regions) {
    if (r.kind !== 'file') continue;
    const key = `${r.dev}:${r.inode}:${r.path}`;
    let m = byKey.get(key);
    if (!m) {
      m = { path: r.path, start: r.start, end: r.end, base: r.start - r.offset, deleted: r.deleted, dev: r.dev, inode: r.inode, regions: [] };
      byKey.set(key, m);
    }
    m.regions.push(r);
    if (r.start < m.start) m.start = r.start;
    if (r.end > m.end) m.end = r.end;
    if (r.offset === 0n) m.base = r.start;
  }
  return [...byKey.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}
