/**
 * Bad input against real processes, through the library API: guard pages, unmapped pages,
 * addresses in no mapping, lengths 0 and huge, pids that do not exist, kernel threads, and the
 * fallback from vm-readv to proc-mem.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPidscopeError } from '../../adapter/src/errors';
import { Target } from '../../adapter/src/engine/target';
import type { MemoryReader } from '../../adapter/src/memory/reader';
import { openMemory } from '../../adapter/src/memory/select';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { symbolAddress } from '../support/symbols';

const PAGE = 4096n;
let fx: RunningFixture;
let target: Target;

beforeAll(async () => {
  fx = await startFixture('globals');
  target = Target.attach(fx.pid);
});
afterAll(async () => {
  target?.close();
  await fx?.stop();
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isPidscopeError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected a PidscopeError');
}

describe.each(['vm-readv', 'proc-mem'] as const)('%s', (backend) => {
  let reader: MemoryReader;
  const ptr = (name: string) => reader.read(symbolAddress(fx.pid, name), 8).data.readBigUInt64LE(0);

  beforeAll(() => {
    reader = openMemory(target, { backend }).reader;
  });
  afterAll(() => reader?.close());

  it('a PROT_NONE guard page: process_vm_readv cannot read it, /proc/PID/mem can (FOLL_FORCE, as gdb sees it)', () => {
    const guarded = ptr('g_guarded');
    const size = ptr('g_guarded_size');
    const guard = ptr('g_guard_page');
    expect(guard).toBe(guarded + size);
    expect(guard % PAGE).toBe(0n);
    const start = guard - 16n;
    const r = reader.read(start, 16 + Number(PAGE));
    for (let i = 0; i < 16; i++) expect(r.data[i]).toBe(((Number(size) - 16 + i) & 0xff) ^ 0x5a);
    // The kernel lets /proc/PID/mem (FOLL_FORCE) read a PROT_NONE page that may become readable
    // (VM_MAYREAD); process_vm_readv honours the protection.
    expect(r.unreadable).toEqual(backend === 'vm-readv' ? [{ start: guard, end: guard + PAGE }] : []);
    expect(r.data.subarray(16).every((b) => b === 0)).toBe(true);
  });

  it('a read running off the end of a mapping: the readable part, then a page-granular hole clipped to the request', () => {
    const regions = target.maps();
    const i = regions.findIndex((r, k) => r.read && k + 1 < regions.length && regions[k + 1].start >= r.end + 2n * PAGE);
    const end = regions[i].end;
    const expected = reader.read(end - 16n, 16).data;
    const r = reader.read(end - 16n, 16 + Number(PAGE) + 32);
    expect(r.unreadable).toEqual([{ start: end, end: end + PAGE + 32n }]);
    expect(r.data.subarray(0, 16).equals(expected)).toBe(true);
    expect(r.data.subarray(16).every((b) => b === 0)).toBe(true);
  });

  it('an unmapped page is all unreadable, and so is an address in no mapping', () => {
    const gone = ptr('g_unmapped_page');
    expect(reader.read(gone + 100n, 50).unreadable).toEqual([{ start: gone + 100n, end: gone + 150n }]);
    expect(reader.read(0x10n, 8).unreadable).toEqual([{ start: 0x10n, end: 0x18n }]);
  });

  it('readMany mixes readable and unreadable ranges without throwing', () => {
    const gint = symbolAddress(fx.pid, 'g_int');
    const [a, b, c] = reader.readMany([
      { address: gint, length: 4 },
      { address: ptr('g_unmapped_page'), length: 8 },
      { address: gint, length: 4 },
    ]);
    expect(a.data.readInt32LE(0)).toBe(123456789);
    expect(b.unreadable).toHaveLength(1);
    expect(c.data.readInt32LE(0)).toBe(123456789);
  });

  it('length 0 is empty; gigabytes are refused naming the cap', () => {
    const gint = symbolAddress(fx.pid, 'g_int');
    expect(reader.read(gint, 0).data.length).toBe(0);
    expect(code(() => reader.read(gint, 3 * 1024 ** 3))).toMatch(/^TOO_LONG: .*256 MiB/);
    expect(
      code(() =>
        reader.readMany([
          { address: gint, length: 200 << 20 },
          { address: gint, length: 100 << 20 },
        ]),
      ),
    ).toMatch(/^TOO_LONG/);
  });
});

describe('attach errors', () => {
  it('a pid that does not exist', () => {
    let pid = 4194000;
    while (readdirSafe(`/proc/${pid}`)) pid--;
    expect(code(() => Target.attach(pid))).toBe(`ESRCH: no process with pid ${pid}. Check the pid (e.g. \`pgrep NAME\` or \`ps -e\`)`);
  });

  it('a thread id that is not a process id', () => {
    const aux = target.threads().find((t) => t.name === 'globals-aux')!;
    expect(code(() => Target.attach(aux.tid))).toBe(
      `NOT_A_PROCESS: pid ${aux.tid} is a thread of process ${fx.pid}, not a process. Attach to the process: --pid ${fx.pid}`,
    );
  });

  it('a kernel thread has no user memory', () => {
    const kthread = findKernelThread();
    if (kthread === undefined) return; // no kernel threads visible in this pid namespace
    const t = Target.attach(kthread);
    try {
      expect(t.isKernelThread()).toBe(true);
      expect(code(() => openMemory(t))).toMatch(/^KERNEL_THREAD: process \d+ \(.*\) is a kernel thread: it has no user memory/);
    } finally {
      t.close();
    }
  });
});

describe('backend selection', () => {
  it('auto picks vm-readv and says why the others were not chosen', () => {
    const m = openMemory(target, { probeAll: true });
    m.reader.close();
    expect(m.chosen).toBe('vm-readv');
    expect(m.reasons).toEqual([
      expect.stringMatching(/^pidfd-mem: unavailable/),
      expect.stringMatching(/^vm-readv: chosen/),
      expect.stringMatching(/^proc-mem: works too, not chosen/),
    ]);
  });

  it('falls back to proc-mem when vm-readv is unavailable', () => {
    const m = openMemory(target, { exclude: ['vm-readv'] });
    try {
      expect(m.chosen).toBe('proc-mem');
      expect(m.reasons).toContain('vm-readv: skipped (disabled by the caller)');
      expect(m.reader.read(symbolAddress(fx.pid, 'g_int'), 4).data.readInt32LE(0)).toBe(123456789);
    } finally {
      m.reader.close();
    }
  });

  it('a requested backend that cannot work is an error, never silently replaced', () => {
    expect(code(() => openMemory(target, { backend: 'pidfd-mem' }))).toMatch(/^BACKEND_UNAVAILABLE: memory backend pidfd-mem cannot be used/);
  });
});

function readdirSafe(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

function findKernelThread(): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
      if (flags & 0x00200000) return Number(name);
    } catch {
      /* gone */
    }
  }
  return undefined;
}
