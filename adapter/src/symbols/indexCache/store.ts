/**
 * Where persistent symbol indexes live, and how they are written and bounded:
 * `${XDG_CACHE_HOME:-~/.cache}/pidscope/index/<key>.idx`, one file per DWARF file.
 *
 * - Written to a temporary file in the same directory and renamed into place, so a reader sees
 *   the old file or the new one, never half of one, and two processes writing the same index
 *   at once both succeed (the last rename wins; both wrote the same content).
 * - Bounded: after a write, the oldest files (by mtime, which a read refreshes) are removed
 *   until the directory holds at most `PIDSCOPE_INDEX_CACHE_MAX_MB` (default 256) MB.
 * - On by default; `PIDSCOPE_INDEX_CACHE=0` (or `--no-index-cache`, which sets it) turns it off.
 *   The CLI, the DAP adapter and the VS Code extension (which spawns the adapter) share it.
 *
 * Nothing here throws: a cache that cannot be read or written is simply not used.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const INDEX_CACHE_ENV = 'PIDSCOPE_INDEX_CACHE';

/** Whether the persistent index is used (environment: PIDSCOPE_INDEX_CACHE=0/off/false/no turns it off). */
export function indexCacheEnabled(): boolean {
  const v = process.env[INDEX_CACHE_ENV];
  return v === undefined || !/^(0|off|false|no)$/i.test(v.trim());
}

/** Turns the cache off for this process and the processes it starts (`--no-index-cache`). */
export function disableIndexCache(): void {
  process.env[INDEX_CACHE_ENV] = '0';
}

export function indexCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'pidscope', 'index');
}

function maxBytes(): number {
  const mb = Number(process.env.PIDSCOPE_INDEX_CACHE_MAX_MB);
  return (Number.isFinite(mb) && mb > 0 ? mb : 256) * 1024 * 1024;
}

/** The cached bytes for `key`, or undefined. Refreshes the file's mtime (LRU order). */
export function readEntry(key: string): Buffer | undefined {
  const file = join(indexCacheDir(), `${key}.idx`);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    /* read-only cache: still usable */
  }
  return buf;
}

/** Writes `bytes` for `key` atomically, then trims the directory to its size bound. */
export function writeEntry(key: string, bytes: Uint8Array): void {
  const dir = indexCacheDir();
  const file = join(dir, `${key}.idx`);
  const tmp = join(dir, `.${key}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing written */
    }
    return;
  }
  trim(dir, file);
}

/** Removes the least recently used indexes (and stale temporary files) over the bound. */
function trim(dir: string, keep: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const files: Array<{ path: string; size: number; mtime: number }> = [];
  let total = 0;
  const now = Date.now();
  for (const n of names) {
    const path = join(dir, n);
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      // A temporary file left by a process that died while writing.
      if (n.endsWith('.tmp')) {
        if (now - st.mtimeMs > 3_600_000) unlinkSync(path);
        continue;
      }
      if (!n.endsWith('.idx')) continue;
      files.push({ path, size: st.size, mtime: st.mtimeMs });
      total += st.size;
    } catch {
      /* removed meanwhile by another process */
    }
  }
  const limit = maxBytes();
  if (total <= limit) return;
  files.sort((a, b) => a.mtime - b.mtime);
  for (const f of files) {
    if (total <= limit) break;
    if (f.path === keep) continue;
    try {
      unlinkSync(f.path);
    } catch {
      /* another process got there first */
    }
    total -= f.size;
  }
}
