import koffi from 'koffi';
import { hwProbe } from '../../../test/support/capabilities';
import { describe, expect, it } from 'vitest';
import { closeFd, enableEvent, isValidBreakpoint, openBreakpoint, PerfRing, probeBreakpointFires, readCount, type PerfRecord } from './perf';

describe('x86 debug register ranges', () => {
  it('accepts 1/2/4/8 bytes aligned to their length only', () => {
    expect(isValidBreakpoint(0x1000n, 8)).toBe(true);
    expect(isValidBreakpoint(0x1004n, 8)).toBe(false);
    expect(isValidBreakpoint(0x1002n, 2)).toBe(true);
    expect(isValidBreakpoint(0x1001n, 1)).toBe(true);
    expect(isValidBreakpoint(0x1000n, 3)).toBe(false);
    expect(isValidBreakpoint(0x1000n, 16)).toBe(false);
  });
});

describe('perf breakpoint on this very thread', () => {
  // The same probe pidscope uses: a breakpoint that perf accepts may still never fire.
  const probe = hwProbe;
  it.skipIf(!probe.ok)('counts and samples every write into a watched buffer, through the mmap ring', () => {
    const buf = Buffer.alloc(64);
    const address = koffi.address(buf) + 8n - (koffi.address(buf) % 8n);
    const offset = Number(address - koffi.address(buf));
    const fd = openBreakpoint({ tid: process.pid, cpu: -1, address, length: 8, access: 'write', inherit: false });
    const ring = new PerfRing(fd, { dataPages: 8 });
    try {
      enableEvent(fd);
      // One 8-byte store per write (Buffer.writeBigUInt64LE would store byte by byte).
      const word = new BigUint64Array(buf.buffer, buf.byteOffset + offset, 1);
      for (let i = 0; i < 100; i++) word[0] = BigInt(i);
      buf.writeUInt8(1, offset + 8); // next to it: not watched
      const records: PerfRecord[] = [];
      ring.drain((r) => records.push(r));
      const samples = records.filter((r) => r.kind === 'sample');
      expect(readCount(fd)).toBe(100n);
      expect(samples).toHaveLength(100);
      for (const s of samples) {
        expect(s).toMatchObject({ kind: 'sample', pid: process.pid, tid: process.pid });
        expect(s.kind === 'sample' && s.ip > 0n).toBe(true);
      }
      // Times increase; the ring is empty after the drain.
      const times = samples.map((s) => (s.kind === 'sample' ? s.time : 0n));
      for (let i = 1; i < times.length; i++) expect(times[i]! >= times[i - 1]!).toBe(true);
      expect(ring.pending()).toBe(0);
    } finally {
      ring.close();
      closeFd(fd);
    }
  });

  it.skipIf(!probe.ok)('keeps reading across the ring wrapping around many times', () => {
    const buf = Buffer.alloc(16);
    const address = koffi.address(buf) + 8n - (koffi.address(buf) % 8n);
    const offset = Number(address - koffi.address(buf));
    const fd = openBreakpoint({ tid: process.pid, cpu: -1, address, length: 8, access: 'write', inherit: false });
    const ring = new PerfRing(fd, { dataPages: 1 }); // 4 KiB: ~128 samples
    const word = new BigUint64Array(buf.buffer, buf.byteOffset + offset, 1);
    try {
      enableEvent(fd);
      let samples = 0;
      let lost = 0n;
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < 37; i++) word[0] = BigInt(i);
        ring.drain((r) => {
          if (r.kind === 'sample') samples++;
          else if (r.kind === 'lost') lost += r.lost;
        });
      }
      expect(lost).toBe(0n);
      expect(samples).toBe(50 * 37);
    } finally {
      ring.close();
      closeFd(fd);
    }
  });

  it('explains a refusal (simulated) with the fix', () => {
    const before = process.env.PIDSCOPE_PERF;
    process.env.PIDSCOPE_PERF = 'deny';
    try {
      expect(probeBreakpointFires()).toMatchObject({ ok: false, result: 'refused', reason: expect.stringMatching(/refused.*perf_event_paranoid/) });
    } finally {
      if (before === undefined) delete process.env.PIDSCOPE_PERF;
      else process.env.PIDSCOPE_PERF = before;
    }
  });
});
