/**
 * A whole file as a read-only Buffer over a private mapping, so that opening a 40 MB binary costs
 * only the pages that are read (ELF headers, symbol tables, the DIEs a lookup needs) instead of
 * copying all of it (gdb and drgn map their files the same way). The mapping is released when
 * the last view of it is garbage-collected.
 *
 * The caveat of every mapped file: a file truncated in place while mapped makes a read of the
 * lost pages fault (SIGBUS). Binaries are normally replaced by rename (the old inode stays
 * intact), and small files are simply read.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { mmap, munmap, MAP_PRIVATE, PROT_READ, PROT_WRITE, viewOf } from './mmap';

/**
 * Files smaller than this are read: a copy is cheaper than a mapping and a finalizer. Above it
 * a mapping wins: every start opens the ELF headers of each mapped library and of its debug
 * file (libc, libm, ld.so and their /usr/lib/debug files: ~4.5 MB), and reading them whole
 * cost ~2.5 ms of CPU where mapping them costs ~0.6 ms.
 */
const MAP_THRESHOLD = 128 << 10;

const unmapper = new FinalizationRegistry<{ address: bigint; length: number }>((m) => {
  try {
    munmap(m.address, m.length);
  } catch {
    /* nothing left to do */
  }
});

/**
 * The file's bytes: mapped when it is big enough, else read. Undefined when mapping fails (the
 * caller reads it instead); open errors are thrown like readFileSync's.
 */
export function mapFile(path: string): Buffer | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < MAP_THRESHOLD) return undefined;
    let m;
    try {
      // Writable copy-on-write pages: a stray write changes our copy, never the file, and never faults.
      m = mmap(size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0n);
    } catch {
      return undefined;
    }
    const view = viewOf(m);
    unmapper.register(view.buffer, { address: m.address, length: m.length });
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  } finally {
    closeSync(fd);
  }
}
