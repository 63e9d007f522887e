/**
 * Text for the live memory view: a DAP readMemory response as an `xxd`-like dump. No `vscode`
 * import (unit-tested).
 */

export interface ReadMemoryBody {
  /** Address of the first byte, hex string (`0x…`). */
  address: string;
  /** Bytes at the end of the range that could not be read. */
  unreadableBytes?: number;
  /** base64 */
  data?: string;
}

export interface MemoryUriParams {
  session: string;
  memoryReference: string;
  offset: number;
  count: number;
  /** A label for the title line (the expression). */
  label: string;
}

export const BYTES_PER_LINE = 16;
export const DEFAULT_COUNT = 256;
export const MAX_COUNT = 64 * 1024;

/**
 * One line per 16 bytes: address, bytes in two groups of 8, printable ASCII. Bytes the target
 * does not have mapped (or that the adapter reported unreadable) are `??` / ` `.
 */
export function hexDump(body: ReadMemoryBody, requested: number): string {
  const base = parseAddress(body.address);
  const data = body.data ? Buffer.from(body.data, 'base64') : Buffer.alloc(0);
  const total = Math.max(requested, data.length + (body.unreadableBytes ?? 0));
  const lines: string[] = [];
  for (let off = 0; off < total; off += BYTES_PER_LINE) {
    const hex: string[] = [];
    let ascii = '';
    for (let i = 0; i < BYTES_PER_LINE; i++) {
      const at = off + i;
      if (at >= total) {
        hex.push('  ');
        continue;
      }
      if (at < data.length) {
        const b = data[at];
        hex.push(b.toString(16).padStart(2, '0'));
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      } else {
        hex.push('??');
        ascii += ' ';
      }
    }
    const addr = base === undefined ? `+${off.toString(16).padStart(8, '0')}` : `0x${(base + BigInt(off)).toString(16).padStart(16, '0')}`;
    lines.push(`${addr}  ${hex.slice(0, 8).join(' ')}  ${hex.slice(8).join(' ')}  |${ascii}|`);
  }
  return lines.join('\n');
}

export function parseAddress(a: string | undefined): bigint | undefined {
  if (!a) return undefined;
  try {
    return BigInt(a.trim());
  } catch {
    return undefined;
  }
}

/** The query string of a pidscope-memory: URI, and back. */
export function encodeMemoryQuery(p: MemoryUriParams): string {
  const q = new URLSearchParams({ session: p.session, ref: p.memoryReference, offset: String(p.offset), count: String(p.count), label: p.label });
  return q.toString();
}

export function decodeMemoryQuery(query: string): MemoryUriParams {
  const q = new URLSearchParams(query);
  const count = Number(q.get('count'));
  const offset = Number(q.get('offset'));
  return {
    session: q.get('session') ?? '',
    memoryReference: q.get('ref') ?? '',
    offset: Number.isSafeInteger(offset) ? offset : 0,
    count: Number.isSafeInteger(count) && count > 0 ? Math.min(count, MAX_COUNT) : DEFAULT_COUNT,
    label: q.get('label') ?? 'memory',
  };
}

/** A file name for the editor tab: the expression, made path-safe. */
export function memoryDocName(label: string): string {
  const safe = label.replace(/[^A-Za-z0-9_.\-[\]>]+/g, '_').slice(0, 60) || 'memory';
  return `${safe}.hex`;
}
