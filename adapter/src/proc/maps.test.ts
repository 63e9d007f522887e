import { describe, expect, it } from 'vitest';
import { findRegion, modulesOf, parseMaps, parseMapsLine } from './maps';

const SAMPLE = `55d0c4a00000-55d0c4a01000 r--p 00000000 fe:00 5334398                    /opt/app/bin/my app
55d0c4a01000-55d0c4a02000 r-xp 00001000 fe:00 5334398                    /opt/app/bin/my app
55d0c4a03000-55d0c4a04000 rw-p 00003000 fe:00 5334398                    /opt/app/bin/my app
55d0c5e2b000-55d0c5e4c000 rw-p 00000000 00:00 0                          [heap]
7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 
7f1e30000000-7f1e30001000 ---p 00000000 00:00 0
7f1e31000000-7f1e31002000 rw-s 00000000 00:01 1234                       /memfd:ring (deleted)
7f1e31200000-7f1e31226000 r--p 00000000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e31226000-7f1e3137c000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e31400000-7f1e31401000 rw-p 00000000 00:00 0                          [anon:my arena]
7ffd1d9c3000-7ffd1d9e4000 rw-p 00000000 00:00 0                          [stack]
7ffd1d9f4000-7ffd1d9f8000 r--p 00000000 00:00 0                          [vvar]
7ffd1d9f8000-7ffd1d9fa000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

describe('parseMaps', () => {
  const regions = parseMaps(SAMPLE);

  it('parses every line with bigint bounds and 64-bit addresses', () => {
    expect(regions).toHaveLength(14);
    expect(regions[0].start).toBe(0x55d0c4a00000n);
    expect(regions[0].end).toBe(0x55d0c4a01000n);
    expect(regions[13].start).toBe(0xffffffffff600000n);
    expect(regions[13].end).toBe(0xffffffffff601000n);
  });

  it('splits permissions and offsets', () => {
    const text = regions[1];
    expect(text).toMatchObject({ read: true, write: false, exec: true, shared: false, perms: 'r-xp', offset: 0x1000n, dev: 'fe:00', inode: 5334398 });
    expect(regions[5]).toMatchObject({ read: false, write: false, exec: false, perms: '---p' });
    expect(regions[6].shared).toBe(true);
  });

  it('keeps spaces in paths and strips " (deleted)"', () => {
    expect(regions[0].path).toBe('/opt/app/bin/my app');
    expect(regions[0].kind).toBe('file');
    expect(regions[6]).toMatchObject({ path: '/memfd:ring', deleted: true, kind: 'file' });
  });

  it('names special regions', () => {
    const kinds = Object.fromEntries(regions.filter((r) => r.path.startsWith('[')).map((r) => [r.path, r.kind]));
    expect(kinds).toEqual({ '[heap]': 'heap', '[anon:my arena]': 'special', '[stack]': 'stack', '[vvar]': 'vvar', '[vdso]': 'vdso', '[vsyscall]': 'vsyscall' });
    expect(regions[4]).toMatchObject({ path: '', kind: 'anonymous' });
    expect(regions[5]).toMatchObject({ path: '', kind: 'anonymous' });
  });

  it('ignores lines that are not mappings', () => {
    expect(parseMapsLine('')).toBeUndefined();
    expect(parseMapsLine('garbage')).toBeUndefined();
    expect(parseMaps('garbage\n' + SAMPLE.split('\n')[0])).toHaveLength(1);
  });

  it('unescapes newlines in file names', () => {
    expect(parseMapsLine('7f0000000000-7f0000001000 r--p 00000000 fe:00 7 /tmp/a\\012b')?.path).toBe('/tmp/a\nb');
  });
});

describe('findRegion', () => {
  const regions = parseMaps(SAMPLE);
  it('finds the region holding an address, half-open', () => {
    expect(findRegion(regions, 0x55d0c4a00000n)?.perms).toBe('r--p');
    expect(findRegion(regions, 0x55d0c4a00fffn)?.perms).toBe('r--p');
    expect(findRegion(regions, 0x55d0c4a01000n)?.perms).toBe('r-xp');
    expect(findRegion(regions, 0x55d0c4a02000n)).toBeUndefined(); // the hole between text and data
    expect(findRegion(regions, 0n)).toBeUndefined();
    expect(findRegion(regions, 0xffffffffff600800n)?.kind).toBe('vsyscall');
    expect(findRegion([], 5n)).toBeUndefined();
  });
});

describe('modulesOf', () => {
  it('groups regions by file and finds the base (offset 0)', () => {
    const mods = modulesOf(parseMaps(SAMPLE));
    expect(mods.map((m) => m.path)).toEqual(['/opt/app/bin/my app', '/memfd:ring', '/usr/lib/x86_64-linux-gnu/libc.so.6']);
    expect(mods[0]).toMatchObject({ start: 0x55d0c4a00000n, end: 0x55d0c4a04000n, base: 0x55d0c4a00000n });
    expect(mods[0].regions).toHaveLength(3);
    expect(mods[1].deleted).toBe(true);
    expect(mods[2]).toMatchObject({ base: 0x7f1e31200000n, end: 0x7f1e3137c000n });
  });
});
