import { describe, expect, it } from 'vitest';
import { decodeMemoryQuery, encodeMemoryQuery, hexDump, memoryDocName, parseAddress } from './hexdump';

describe('hexDump', () => {
  it('prints address, two groups of 8 bytes and ASCII, like xxd', () => {
    const data = Buffer.from('Hello, pidscope!\x00\x01\x02', 'latin1');
    const text = hexDump({ address: '0x555555558010', data: data.toString('base64') }, data.length);
    expect(text.split('\n')).toEqual([
      '0x0000555555558010  48 65 6c 6c 6f 2c 20 70  69 64 73 63 6f 70 65 21  |Hello, pidscope!|',
      '0x0000555555558020  00 01 02                                          |...|',
    ]);
  });

  it('marks unreadable bytes (a guard page, an unmapped hole) as ??', () => {
    const text = hexDump({ address: '0x1000', data: Buffer.from([1, 2]).toString('base64'), unreadableBytes: 3 }, 5);
    expect(text).toBe('0x0000000000001000  01 02 ?? ?? ??                                    |..   |');
  });

  it('shows a fully unreadable range and a missing address', () => {
    expect(hexDump({ address: 'bogus', unreadableBytes: 2 }, 2)).toBe('+00000000  ?? ??                                             |  |');
  });
});

describe('memory URIs', () => {
  it('round-trips the query and clamps the count', () => {
    const p = { session: 'abc-1', memoryReference: '0x5555&x', offset: 16, count: 256, label: 'cfg.workers[0]' };
    expect(decodeMemoryQuery(encodeMemoryQuery(p))).toEqual(p);
    expect(decodeMemoryQuery('session=a&ref=r&count=99999999').count).toBe(64 * 1024);
    expect(decodeMemoryQuery('session=a&ref=r&count=-1').count).toBe(256);
  });

  it('names the tab after the expression', () => {
    expect(memoryDocName('cfg.workers[0]->queue')).toBe('cfg.workers[0]->queue.hex');
    expect(memoryDocName('*(int (*)[4]) p')).toBe('_int_[4]_p.hex');
    expect(memoryDocName('')).toBe('memory.hex');
  });

  it('parses hex addresses', () => {
    expect(parseAddress('0x10')).toBe(16n);
    expect(parseAddress('zz')).toBeUndefined();
  });
});
