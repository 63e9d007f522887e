/**
 * Connects one module's DWARF name index to the persistent cache: on open, an index built by
 * an earlier run for the same file is adopted (the scans of every unit are skipped); when this
 * run builds the index (or the type names) itself, it is written for the next run.
 *
 * The key names the DWARF file: its build-id when it has one, else its path, size, mtime and
 * inode; plus the sizes of .debug_info/.debug_abbrev/.debug_str, a hash of the first and last
 * 4 KiB of .debug_info, and the pidscope code that builds indexes (its files' sizes and
 * mtimes: a new pidscope never trusts an older one's index).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { DwarfInfo } from '../dwarf/info';
import { decodeIndex, encodeIndex } from './codec';
import { crc32 } from '../elf/elf';
import { hash64 } from './hash';
import { indexCacheEnabled, readEntry, writeEntry } from './store';

export interface DwarfFileId {
  /** Where the file holding the DWARF was read from (for stat when it has no build-id). */
  path: string;
  size: number;
  buildId?: string;
}

let codeStamp: string | undefined;

/** Sizes and mtimes of the code that builds and encodes indexes (the bundle, or out/ or the sources). */
function codeVersion(): string {
  if (codeStamp !== undefined) return codeStamp;
  const parts: string[] = [];
  // The compiled files (out/) or the sources (ts-node, vitest) of each part; this file is the
  // bundle itself when bundled, which covers all of them.
  const modules = [join(__dirname, 'codec'), ...['info', 'reader', 'scan', 'scanIndex', 'abbrevs', 'forms'].map((m) => join(__dirname, '..', 'dwarf', m))];
  for (const f of [__filename, ...modules.flatMap((m) => [`${m}.js`, `${m}.ts`])]) {
    try {
      const st = statSync(f);
      parts.push(`${st.size}:${Math.round(st.mtimeMs)}`);
    } catch {
      /* not in this layout */
    }
  }
  return (codeStamp = parts.join(','));
}

function identityOf(file: DwarfFileId, d: DwarfInfo): string | undefined {
  const s = d.reader.s;
  const info = s.info;
  let who: string;
  if (file.buildId) who = `build-id ${file.buildId} size ${file.size}`;
  else {
    try {
      const st = statSync(file.path);
      // The same file is reached through /proc/<pid>/root/… or /proc/<pid>/map_files/… from a
      // live process: the pid must not be part of the key, the file's identity is.
      const shown = file.path.replace(/^\/proc\/\d+\/root(?=\/)/, '').replace(/^\/proc\/\d+\/map_files\/.*$/, '(mapped file)');
      who = `file ${shown} dev ${st.dev} ino ${st.ino} size ${st.size} mtime ${st.mtimeMs}`;
    } catch {
      return undefined;
    }
  }
  // CRC-32 (native) of the edges: a JS byte loop over 8 KiB ran interpreted at every start.
  const edges = `${crc32(info.subarray(0, 4096)).toString(16)}-${crc32(info.subarray(Math.max(0, info.length - 4096))).toString(16)}`;
  const str = s.str;
  return `${who} | info ${info.length} abbrev ${s.abbrev.length} str ${str ? str.length : -1} edges ${edges} | code ${codeVersion()}`;
}

/** Adopts a cached index for `d` if there is a valid one, and arranges for `d`'s own index to be saved. */
export function attachIndexCache(d: DwarfInfo, file: DwarfFileId): void {
  if (!indexCacheEnabled()) return;
  const identity = identityOf(file, d);
  if (!identity) return;
  const key = hash64(identity) + hash64(identity.split('').reverse().join(''));
  const buf = readEntry(key);
  if (buf) {
    const c = decodeIndex(buf, identity, d.reader, d.reader.s.info.length);
    if (c) {
      d.reader.knowUnitStarts(c.unitStarts);
      d.adoptIndex(c);
    }
  }
  d.onIndexed = () => {
    if (!indexCacheEnabled()) return;
    try {
      const records = d.scannedIndex;
      const bytes = encodeIndex(identity, {
        unitStarts: d.reader.unitStarts(),
        records,
        // Only read without records (an adopted index re-encoded with its type names).
        get variables() {
          return d.variables;
        },
        get functions() {
          return d.functions;
        },
        types: d.typesIndexed ? { defs: d.typeDefs, decls: d.typeDecls } : undefined,
        errors: d.errors,
      });
      writeEntry(key, bytes);
    } catch {
      /* the cache is an optimisation: never fail a lookup for it */
    }
  };
}
