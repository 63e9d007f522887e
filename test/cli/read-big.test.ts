/**
 * `pidscope read` streams any length up to its 256 MiB limit in bounded memory (issue 16,
 * part 5): 64 MiB printed exactly as xxd prints it and 256 MiB as --json, each with V8's heap
 * capped at 64 MiB (64 MiB used to die with V8 out of memory; --json of 256 MiB exceeded V8's
 * longest string). The target is a small Python process holding a 256 MiB mapping filled with a
 * known pattern and a hole punched across the reader's 1 MiB pieces.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexdump } from '../../adapter/src/memory/hexdump';
import { REPO_ROOT } from '../support/fixtures';
import { MAIN } from './run';

const MiB = 1 << 20;
const SIZE = 256 * MiB;
/** The hole: unmapped pages crossing the boundary between the 20th and 21st MiB. */
const HOLE_START = 20 * MiB - 3 * 4096;
const HOLE_END = 21 * MiB + 5 * 4096;

const TARGET = `
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
size = ${SIZE}
addr = libc.mmap(None, size, 3, 0x22, -1, 0)
pattern = bytes((i * 7 + 3) % 251 for i in range(251))
block = (pattern * (${MiB} // 251 + 2))
for off in range(0, size, ${MiB}):
    k = off % 251
    ctypes.memmove(addr + off, block[k:k + ${MiB}], ${MiB})
libc.munmap(addr + ${HOLE_START}, ${HOLE_END - HOLE_START})
print("ready", hex(addr), flush=True)
sys.stdin.read()
`;

/** The bytes the target holds at [off, off+n) of its mapping (zeros in the hole, as read reports them). */
function expected(off: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    const o = off + i;
    b[i] = o >= HOLE_START && o < HOLE_END ? 0 : ((o % 251) * 7 + 3) % 251;
  }
  return b;
}

let proc: ChildProcess;
let base: bigint;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pidscope-read-big-'));
  proc = spawn('python3', ['-c', TARGET], { stdio: ['pipe', 'pipe', 'inherit'] });
  base = await new Promise<bigint>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (0x[0-9a-f]+)/.exec(out);
      if (m) resolve(BigInt(m[1]));
    });
    proc.on('exit', (c) => reject(new Error(`the target exited (${c})`)));
  });
}, 120_000);
afterAll(() => {
  proc?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** Runs the CLI with V8's heap capped, stdout into a file; returns the exit code, the file and stderr. */
function readToFile(args: string[], name: string): Promise<{ code: number | null; file: string; stderr: string }> {
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('exit', (code) => {
      closeSync(fd);
      resolve({ code, file, stderr });
    });
  });
}

function sha256(file: string): string {
  return execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
}

describe('pidscope read: big ranges in bounded memory', () => {
  it('64 MiB prints exactly what xxd prints', async () => {
    const off = 32 * MiB;
    const r = await readToFile(['read', '--pid', String(proc.pid), hex(base + BigInt(off)), String(64 * MiB)], 'dump.txt');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const bin = join(dir, 'expected.bin');
    writeFileSync(bin, expected(off, 64 * MiB));
    const want = execFileSync('sh', ['-c', `xxd -o ${hex(base + BigInt(off))} ${bin} | sha256sum`], { encoding: 'utf8' }).split(' ')[0];
    rmSync(bin);
    expect(sha256(r.file)).toBe(want);
    rmSync(r.file);
  });

  it('a hole that spans the pieces is one marker line, as in a dump made whole', async () => {
    const off = 18 * MiB + 5;
    const n = 4 * MiB;
    const r = await readToFile(['read', '--pid', String(proc.pid), hex(base + BigInt(off)), String(n)], 'hole.txt');
    expect(r.code).toBe(0);
    const a = base + BigInt(off);
    const holes = [{ start: base + BigInt(HOLE_START), end: base + BigInt(HOLE_END) }];
    expect(
      createHash('sha256')
        .update(hexdump(a, expected(off, n), holes))
        .digest('hex'),
    ).toBe(sha256(r.file));
    expect(r.stderr).toBe(
      `pidscope read: note: ${HOLE_END - HOLE_START} of ${n} bytes could not be read (shown as ??): ${hex(holes[0].start)}..${hex(holes[0].end)}\n`,
    );
  });

  it('--json of 256 MiB (the limit) streams hex and base64 of one snapshot', async () => {
    const r = await readToFile(['read', '--pid', String(proc.pid), hex(base), String(SIZE), '--json'], 'dump.json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const head = `{"pid":${proc.pid},"address":"${hex(base)}","length":${SIZE},"backend":"vm-readv","hex":"`;
    const mid = '","base64":"';
    const tail = `","unreadable":[{"start":"${hex(base + BigInt(HOLE_START))}","end":"${hex(base + BigInt(HOLE_END))}"}]}\n`;
    const b64 = Math.ceil(SIZE / 3) * 4;
    expect(statSync(r.file).size).toBe(head.length + 2 * SIZE + mid.length + b64 + tail.length);
    const at = (pos: number, n: number) => {
      const fd = openSync(r.file, 'r');
      const b = Buffer.alloc(n);
      readSync(fd, b, 0, n, pos);
      closeSync(fd);
      return b.toString('latin1');
    };
    expect(at(0, head.length)).toBe(head);
    expect(at(head.length + 2 * SIZE, mid.length)).toBe(mid);
    expect(at(head.length + 2 * SIZE + mid.length + b64, tail.length)).toBe(tail);
    // Samples of both encodings, across pieces and the hole.
    for (const off of [0, 3 * MiB - 7, HOLE_START - 2, HOLE_START + 100, HOLE_END - 1, 200 * MiB + 1, SIZE - 64]) {
      expect(at(head.length + 2 * off, 128), `hex at ${off}`).toBe(expected(off, 64).toString('hex'));
      const o3 = off - (off % 3);
      expect(Buffer.from(at(head.length + 2 * SIZE + mid.length + (o3 / 3) * 4, 64), 'base64'), `base64 at ${o3}`).toEqual(expected(o3, 48));
    }
    rmSync(r.file);
  });
});
