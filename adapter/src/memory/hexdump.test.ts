import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hexdump, hexdumpLines } from './hexdump';

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
