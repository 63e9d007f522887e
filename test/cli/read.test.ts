/** `pidscope read`: xxd-exact output, --json, partial reads, and every bad input as one clear line. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { readProcMem } from '../support/proc';
import { readMaps, symbolAddress } from '../support/symbols';
import { expectOneLine, pidscope } from './run';

let fx: RunningFixture;
let dir: string;
beforeAll(async () => {
  fx = await startFixture('globals');
  dir = mkdtempSync(join(tmpdir(), 'pidscope-read-'));
});
afterAll(async () => {
  await fx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const hex = (v: bigint) => `0x${v.toString(16)}`;

function xxd(bytes: Buffer, address: bigint): string {
  const f = join(dir, 'bytes.bin');
  writeFileSync(f, bytes);
  return execFileSync('xxd', ['-o', hex(address), f], { encoding: 'utf8' });
}

describe('output', () => {
  it.each(['auto', 'vm-readv', 'proc-mem'])('prints exactly what `xxd -o ADDRESS` prints for the same bytes (--backend %s)', async (backend) => {
    const address = symbolAddress(fx.pid, 'g_big_buffer') + 3n; // odd start, crosses pages
    const length = 5000 + 7;
    const r = await pidscope(['read', '--pid', String(fx.pid), hex(address), String(length), '--backend', backend]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(xxd(readProcMem(fx.pid, address, length), address));
  });

  it('accepts decimal address and hex length', async () => {
    const address = symbolAddress(fx.pid, 'g_str');
    const r = await pidscope(['read', '--pid', String(fx.pid), address.toString(), '0x20']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(xxd(readProcMem(fx.pid, address, 32), address));
  });

  it('--json gives address, length, hex, base64 and unreadable', async () => {
    const address = symbolAddress(fx.pid, 'g_int');
    const r = await pidscope(['read', '--pid', String(fx.pid), hex(address), '4', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toEqual({
      pid: fx.pid,
      address: hex(address),
      length: 4,
      backend: 'vm-readv',
      hex: '15cd5b07',
      base64: Buffer.from('15cd5b07', 'hex').toString('base64'),
      unreadable: [],
    });
  });

  it('a partial read shows the readable bytes and marks the rest (exit 0, a note on stderr)', async () => {
    const maps = readMaps(fx.pid);
    const i = maps.findIndex((m, k) => m.perms.startsWith('r') && k + 1 < maps.length && maps[k + 1].start >= m.end + 0x2000n);
    const end = maps[i].end;
    const r = await pidscope(['read', '--pid', String(fx.pid), hex(end - 20n), '100']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const good = xxd(readProcMem(fx.pid, end - 20n, 20), end - 20n).split('\n');
    expect(lines[0]).toBe(good[0]); // 16 readable bytes: exactly xxd
    expect(lines[1]).toMatch(/^[0-9a-f]+: [0-9a-f]{4} [0-9a-f]{4} \?\?\?\? /); // 4 readable, then ??
    expect(lines[2]).toBe(`${(end + 12n).toString(16)}: <unreadable: 64 bytes, ${hex(end + 12n)}..${hex(end + 76n)}>`);
    expect(expectOneLine(r.stderr)).toBe(`pidscope read: note: 80 of 100 bytes could not be read (shown as ??): ${hex(end)}..${hex(end + 80n)}`);

    const j = JSON.parse((await pidscope(['read', '--pid', String(fx.pid), hex(end - 20n), '100', '--json'])).stdout);
    expect(j.unreadable).toEqual([{ start: hex(end), end: hex(end + 80n) }]);
    expect(j.hex.slice(40)).toBe('00'.repeat(80));
  });
});

describe('bad input: one clear line, exit 1 (2 for usage)', () => {
  const pid = () => String(fx.pid);

  it.each([
    [
      'an address in no mapping',
      () => ['read', '--pid', pid(), '0x10', '8'],
      1,
      /^pidscope read: Cannot access memory at address 0x10 \(none of the 8 bytes is readable: no mapping contains it\)/,
    ],
    ['length 0', () => ['read', '--pid', pid(), '0x1000', '0'], 1, /^pidscope read: length 0: there is nothing to read/],
    ['gigabytes', () => ['read', '--pid', pid(), '0x1000', '0x100000000'], 1, /larger than the 256 MiB pidscope reads in one request/],
    ['a pid that does not exist', () => ['read', '--pid', String(freePid()), '0x1000', '8'], 1, /^pidscope read: no process with pid \d+/],
    ['a bad address', () => ['read', '--pid', pid(), 'g_nope', '8'], 2, /^pidscope read: 'g_nope' is not a valid address/],
    ['a missing length', () => ['read', '--pid', pid(), '0x1000'], 2, /ADDRESS and LENGTH are required/],
    ['no --pid', () => ['read', '0x1000', '8'], 2, /no process given/],
    ['a bad pid', () => ['read', '--pid', 'abc', '0x1000', '8'], 2, /'abc' is not a valid pid/],
    ['an unknown option', () => ['read', '--pid', pid(), '--bogus', '0x1000', '8'], 2, /Unknown option '--bogus'/],
    ['an unknown backend', () => ['read', '--pid', pid(), '0x1000', '8', '--backend', 'magic'], 2, /unknown backend 'magic'/],
  ])('%s', async (_name, args, code, message) => {
    const r = await pidscope(args());
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toMatch(message);
  });

  it('a kernel thread', async () => {
    const k = kernelThread();
    if (k === undefined) return;
    const r = await pidscope(['read', '--pid', String(k), '0x1000', '8']);
    expect(r.code).toBe(1);
    expect(expectOneLine(r.stderr)).toMatch(/is a kernel thread: it has no user memory/);
  });

  it('--help', async () => {
    const r = await pidscope(['read', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pidscope read --pid N ADDRESS LENGTH/);
  });
});

function freePid(): number {
  let p = 4194000;
  for (;;) {
    try {
      readdirSync(`/proc/${p}`);
      p--;
    } catch {
      return p;
    }
  }
}

function kernelThread(): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]) & 0x00200000) return Number(name);
    } catch {
      /* gone */
    }
  }
  return undefined;
}
