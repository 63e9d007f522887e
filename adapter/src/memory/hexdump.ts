/**
 * Hexdump exactly as `xxd -o ADDRESS` prints it (16 bytes a line, bytes in pairs, ASCII column),
 * plus marks for bytes we could not read: `??` in the hex column, a line of its own for a run of
 * whole unreadable lines. Readable lines are byte-for-byte what xxd prints for the same bytes.
 */
import type { AddressRange } from './reader';

const HEX = '0123456789abcdef';
const COLS = 16;
/** Width of xxd's hex column including the two spaces before the ASCII column. */
const HEX_WIDTH = 41;

function isUnreadable(holes: readonly AddressRange[], addr: bigint): boolean {
  for (const h of holes) if (addr >= h.start && addr < h.end) return true;
  return false;
}

function offsetText(addr: bigint): string {
  return addr.toString(16).padStart(8, '0');
}

/** One xxd line for bytes [off, off+n) of data at address `addr`; `bad(i)` marks unreadable bytes. */
function line(addr: bigint, data: Uint8Array, off: number, n: number, bad?: (i: number) => boolean): string {
  let hex = '';
  let ascii = '';
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % 2 === 0) hex += ' ';
    if (bad?.(i)) {
      hex += '??';
      ascii += '?';
      continue;
    }
    const b = data[off + i];
    hex += HEX[b >> 4] + HEX[b & 15];
    ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  }
  return `${offsetText(addr)}: ${hex.padEnd(HEX_WIDTH)}${ascii}`;
}

/** Lines of the dump (no trailing newline). `unreadable` ranges must lie within the dump. */
export function hexdumpLines(address: bigint, data: Uint8Array, unreadable: readonly AddressRange[] = []): string[] {
  const out: string[] = [];
  let off = 0;
  while (off < data.length) {
    const n = Math.min(COLS, data.length - off);
    const addr = address + BigInt(off);
    if (unreadable.length === 0) {
      out.push(line(addr, data, off, n));
      off += n;
      continue;
    }
    const end = addr + BigInt(n);
    // A run of lines that are wholly inside one hole collapses into a single marker line.
    const hole = unreadable.find((h) => h.start <= addr && h.end >= end);
    if (hole) {
      const runEnd = hole.end < address + BigInt(data.length) ? hole.end : address + BigInt(data.length);
      // Whole lines only: stop at the last line boundary inside the hole.
      const span = Number(runEnd - addr);
      const bytes = span >= COLS ? span - (span % COLS) : n;
      out.push(`${offsetText(addr)}: <unreadable: ${bytes} bytes, 0x${addr.toString(16)}..0x${(addr + BigInt(bytes)).toString(16)}>`);
      off += bytes;
      continue;
    }
    out.push(line(addr, data, off, n, (i) => isUnreadable(unreadable, addr + BigInt(i))));
    off += n;
  }
  return out;
}

export function hexdump(address: bigint, data: Uint8Array, unreadable: readonly AddressRange[] = []): string {
  const lines = hexdumpLines(address, data, unreadable);
  return lines.length ? lines.join('\n') + '\n' : '';
}
