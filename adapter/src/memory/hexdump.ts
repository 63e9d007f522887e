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

type Item = { kind: 'line'; text: string } | { kind: 'hole'; addr: bigint; bytes: number };

function holeText(addr: bigint, bytes: number): string {
  return `${offsetText(addr)}: <unreadable: ${bytes} bytes, 0x${addr.toString(16)}..0x${(addr + BigInt(bytes)).toString(16)}>`;
}

function items(address: bigint, data: Uint8Array, unreadable: readonly AddressRange[]): Item[] {
  const out: Item[] = [];
  let off = 0;
  while (off < data.length) {
    const n = Math.min(COLS, data.length - off);
    const addr = address + BigInt(off);
    if (unreadable.length === 0) {
      out.push({ kind: 'line', text: line(addr, data, off, n) });
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
      out.push({ kind: 'hole', addr, bytes });
      off += bytes;
      continue;
    }
    out.push({ kind: 'line', text: line(addr, data, off, n, (i) => isUnreadable(unreadable, addr + BigInt(i))) });
    off += n;
  }
  return out;
}

/** Lines of the dump (no trailing newline). `unreadable` ranges must lie within the dump. */
export function hexdumpLines(address: bigint, data: Uint8Array, unreadable: readonly AddressRange[] = []): string[] {
  return items(address, data, unreadable).map((it) => (it.kind === 'line' ? it.text : holeText(it.addr, it.bytes)));
}

export function hexdump(address: bigint, data: Uint8Array, unreadable: readonly AddressRange[] = []): string {
  const lines = hexdumpLines(address, data, unreadable);
  return lines.length ? lines.join('\n') + '\n' : '';
}

const HEX_BYTES = Buffer.from(HEX);

/**
 * Full readable lines straight into a Buffer (the common case of a big dump): the same bytes as
 * line(), without a string per byte.
 */
function fastLines(address: bigint, data: Uint8Array): Buffer {
  const full = Math.floor(data.length / COLS);
  const parts: Buffer[] = [];
  let addr = address;
  let off = 0;
  // Offsets change width only past 0xffffffff…: one buffer per run of equal widths.
  while (off < full * COLS) {
    const width = offsetText(addr).length;
    const limit = width > 8 ? 1n << BigInt(width * 4) : 1n << 32n;
    const linesLeft = Number((limit - addr + BigInt(COLS) - 1n) / BigInt(COLS));
    const lines = Math.min((full * COLS - off) / COLS, linesLeft);
    const lineLen = width + 2 + HEX_WIDTH + COLS + 1;
    const out = Buffer.allocUnsafe(lines * lineLen);
    let o = 0;
    for (let k = 0; k < lines; k++) {
      out.write(offsetText(addr), o, 'latin1');
      o += width;
      out[o++] = 0x3a; // ':'
      out[o++] = 0x20;
      const h = o;
      for (let i = 0; i < COLS; i++) {
        const b = data[off + i];
        out[o++] = HEX_BYTES[b >> 4];
        out[o++] = HEX_BYTES[b & 15];
        if (i % 2 === 1) out[o++] = 0x20;
      }
      while (o < h + HEX_WIDTH) out[o++] = 0x20;
      for (let i = 0; i < COLS; i++) {
        const b = data[off + i];
        out[o++] = b >= 0x20 && b < 0x7f ? b : 0x2e;
      }
      out[o++] = 0x0a;
      off += COLS;
      addr += BigInt(COLS);
    }
    parts.push(out);
  }
  if (off < data.length) parts.push(Buffer.from(`${line(addr, data, off, data.length - off)}\n`, 'latin1'));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * A dump printed piece by piece in bounded memory, byte for byte what hexdump() prints for the
 * whole: pieces must follow each other and all but the last must be whole lines (multiples of
 * 16 bytes). A run of unreadable lines that spans pieces is still one marker line.
 */
export class HexdumpStream {
  private hole: { addr: bigint; bytes: number } | undefined;

  /** Text for the next piece (a marker at its end is held back: the next piece may extend it). */
  piece(address: bigint, data: Uint8Array, unreadable: readonly AddressRange[]): Buffer {
    const parts: Buffer[] = [];
    const holes = [...unreadable].sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    const len = data.length;
    let off = 0;
    // Readable whole lines go through fastLines; only the lines a hole touches are built one by one.
    while (off < len) {
      const addr = address + BigInt(off);
      const h = holes.find((x) => x.end > addr);
      if (!h) {
        parts.push(this.flush(), fastLines(addr, data.subarray(off)));
        break;
      }
      const holeOff = Math.max(off, Number(h.start - address));
      const lineOfHole = off + Math.floor((holeOff - off) / COLS) * COLS;
      if (lineOfHole > off) {
        parts.push(this.flush(), fastLines(addr, data.subarray(off, lineOfHole)));
        off = lineOfHole;
        continue;
      }
      const endOff = Math.min(len, off + Math.ceil((Number(h.end - address) - off) / COLS) * COLS);
      const a = address + BigInt(off);
      const b = address + BigInt(endOff);
      const clipped = holes.filter((x) => x.end > a && x.start < b).map((x) => ({ start: x.start > a ? x.start : a, end: x.end < b ? x.end : b }));
      parts.push(this.items(items(a, data.subarray(off, endOff), clipped)));
      off = endOff;
    }
    return Buffer.concat(parts);
  }

  private items(list: Item[]): Buffer {
    const out: string[] = [];
    for (const it of list) {
      if (it.kind === 'hole') {
        // (A short last line is a marker of its own, as in hexdump().)
        if (this.hole && this.hole.addr + BigInt(this.hole.bytes) === it.addr && it.bytes % COLS === 0) this.hole.bytes += it.bytes;
        else {
          if (this.hole) out.push(holeText(this.hole.addr, this.hole.bytes));
          this.hole = { addr: it.addr, bytes: it.bytes };
        }
        continue;
      }
      if (this.hole) out.push(holeText(this.hole.addr, this.hole.bytes));
      this.hole = undefined;
      out.push(it.text);
    }
    return Buffer.from(out.map((l) => `${l}\n`).join(''), 'latin1');
  }

  /** What is held back. */
  end(): Buffer {
    return this.flush();
  }

  private flush(): Buffer {
    if (!this.hole) return Buffer.alloc(0);
    const t = holeText(this.hole.addr, this.hole.bytes);
    this.hole = undefined;
    return Buffer.from(`${t}\n`, 'latin1');
  }
}
