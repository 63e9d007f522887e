import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hexdump, hexdumpLines, HexdumpStream } from './hexdump';

const dir = mkdtempSync(join(tmpdir(), 'pidscope-hexdump-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function xxd(data: Buffer, address: bigint): string {
  const file = join(dir, 'bytes.bin');
  writeFileSync(file, data);
  return execFileSync('xxd', ['-o', `0x${address.toString(16)}`, file], { encoding: 'utf8' });
}

describe('hexdump', () => {
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

  it.each([
    ['all 256 byte values', every, 0n],
    ['one byte', Buffer.from([0x41]), 0n],
    ['odd length, high address', every.subarray(3, 40), 0x7ffd1d9c3ff7n],
    ['two bytes', Buffer.from('hi'), 0x10n],
    ['fifteen bytes', Buffer.from('0123456789abcde'), 0xffffffffn],
    ['seventeen bytes', Buffer.from('0123456789abcdefg'), 0x100000000n],
    ['text', Buffer.from('hello world, this is the source of a hexdump\n\t~\x7f'), 0x555555554000n],
  ])('matches `xxd -o ADDRESS` byte for byte: %s', (_name, data, address) => {
    expect(hexdump(address, data)).toBe(xxd(data, address));
  });

  it('prints nothing for no bytes', () => {
    expect(hexdump(0n, Buffer.alloc(0))).toBe('');
  });

  it('marks unreadable bytes with ?? and collapses whole unreadable lines', () => {
    const data = Buffer.alloc(64, 0x41);
    data.fill(0, 8);
    const lines = hexdumpLines(0x1ff8n, data, [{ start: 0x2000n, end: 0x2030n }]);
    expect(lines).toEqual([
      '00001ff8: 4141 4141 4141 4141 ???? ???? ???? ????  AAAAAAAA????????',
      '00002008: <unreadable: 32 bytes, 0x2008..0x2028>',
      '00002028: ???? ???? ???? ???? 0000 0000 0000 0000  ????????........',
    ]);
  });

  it('collapses a final short line that is wholly unreadable', () => {
    const lines = hexdumpLines(0x2000n, Buffer.alloc(20), [{ start: 0x2000n, end: 0x2014n }]);
    expect(lines).toEqual(['00002000: <unreadable: 16 bytes, 0x2000..0x2010>', '00002010: <unreadable: 4 bytes, 0x2010..0x2014>']);
  });
});

describe('HexdumpStream', () => {
  it('prints piece by piece exactly what hexdump prints for the whole, holes spanning pieces included', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (const address of [0x1000n, 0x7ffd1d9c3ff7n, 0xfffffff0n - 0x40n, 0xffffffffff00n]) {
      for (let round = 0; round < 40; round++) {
        const len = 1 + rnd(3000);
        const data = Buffer.from(Array.from({ length: len }, () => rnd(256)));
        const holes: Array<{ start: bigint; end: bigint }> = [];
        let at = 0;
        while (round % 4 !== 0 && at < len) {
          at += rnd(700);
          const n = 1 + rnd(round % 2 ? 900 : 20);
          if (at >= len) break;
          holes.push({ start: address + BigInt(at), end: address + BigInt(Math.min(len, at + n)) });
          at += n + 1;
        }
        for (const h of holes) data.fill(0, Number(h.start - address), Number(h.end - address));
        const s = new HexdumpStream();
        const parts: Buffer[] = [];
        let off = 0;
        while (off < len) {
          const n = Math.min(len - off, 16 * (1 + rnd(20)));
          const a = address + BigInt(off);
          const piece = holes
            .filter((h) => h.end > a && h.start < a + BigInt(n))
            .map((h) => ({ start: h.start > a ? h.start : a, end: h.end < a + BigInt(n) ? h.end : a + BigInt(n) }));
          parts.push(s.piece(a, data.subarray(off, off + n), piece));
          off += n;
        }
        parts.push(s.end());
        expect(Buffer.concat(parts).toString('latin1'), `0x${address.toString(16)} round ${round}`).toBe(hexdump(address, data, holes));
      }
    }
  });
});
