/**
 * Thread-local variables located without stopping the target (libthread_db's method, from
 * glibc's _thread_db descriptors and its thread lists): the main thread's address equals gdb's
 * `print &g_tls_int`, and each thread sees its own value (main 0x7157, globals-aux 0x7158).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSymbols, type ProcessSymbols } from '../../adapter/src/symbols/index';
import { threadLocalAddress, type ReadMemory } from '../../adapter/src/symbols/tls';
import { startFixture, type RunningFixture, type Variant } from '../support/fixtures';
import { gdbBatch } from '../support/gdb';
import { readProcMem, threadNames, tracerPid } from '../support/proc';

const reader =
  (pid: number): ReadMemory =>
  (address, length) => {
    try {
      const b = readProcMem(pid, address, length);
      return b.length === length ? b : undefined;
    } catch {
      return undefined;
    }
  };

for (const variant of ['O0-dwarf5-pie', 'O2-dwarf4-nopie', 'symtab-only'] as Variant[]) {
  describe(`thread-locals (${variant})`, () => {
    let fx: RunningFixture;
    let syms: ProcessSymbols;
    beforeAll(async () => {
      fx = await startFixture('globals', { variant });
      syms = await loadSymbols(fx.pid);
    });
    afterAll(async () => {
      await fx?.stop();
    });

    it('main thread: gdb’s address and value; the aux thread: its own value', async () => {
      const [v] = syms.findVariables('g_tls_int');
      expect(v.absentReason).toBe('thread-local: needs the thread pointer');
      expect(v.tls).toBeDefined();
      const read = reader(fx.pid);
      const main = threadLocalAddress(syms, v, read);
      expect('address' in main).toBe(true);
      const addr = (main as { address: bigint }).address;
      expect(readProcMem(fx.pid, addr, 4).readInt32LE(0)).toBe(0x7157);

      const aux = [...threadNames(fx.pid)].find(([, name]) => name === 'globals-aux');
      expect(aux).toBeDefined();
      const other = threadLocalAddress(syms, v, read, aux![0]);
      expect('address' in other && readProcMem(fx.pid, other.address, 4).readInt32LE(0)).toBe(0x7158);
      expect(tracerPid(fx.pid)).toBe(0);

      const [g] = await gdbBatch(fx.pid, [{ kind: 'print', expr: '&g_tls_int' }], { binary: fx.binary });
      expect(g.ok && g.text).toContain(`0x${addr.toString(16)}`);
    });

    it('a thread that does not exist gives a reason, not an address', () => {
      const [v] = syms.findVariables('g_tls_int');
      const r = threadLocalAddress(syms, v, reader(fx.pid), 0x3ffffff0);
      expect(r).toEqual({ reason: `thread ${0x3ffffff0} is not in glibc's thread lists` });
    });
  });
}
