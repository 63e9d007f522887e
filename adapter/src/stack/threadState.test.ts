import { describe, expect, it } from 'vitest';
import { contextSwitches, parseSyscall, readSyscall } from './threadState';

describe('/proc/PID/task/TID/syscall', () => {
  it('a thread blocked in read(): number, six arguments, sp and pc', () => {
    expect(parseSyscall('0 0x3 0x7f00000d50 0x8 0x0 0x0 0x0 0x7f00000d10 0x7f000552ec\n')).toEqual({
      kind: 'syscall',
      nr: 0,
      args: [3n, 0x7f00000d50n, 8n, 0n, 0n, 0n],
      sp: 0x7f00000d10n,
      pc: 0x7f000552ecn,
    });
  });

  it('running, and blocked outside a system call', () => {
    expect(parseSyscall('running\n')).toEqual({ kind: 'running' });
    expect(parseSyscall('-1 0x7ffd0000 0x401000')).toEqual({ kind: 'blocked', sp: 0x7ffd0000n, pc: 0x401000n });
  });

  it('our own thread is in the read() of its own syscall file; a missing thread is gone', () => {
    const self = readSyscall(process.pid, process.pid);
    expect(self.kind === 'syscall' ? self.nr : -1).toBe(0);
    expect(readSyscall(process.pid, 0x7fffffff).kind).toBe('gone');
    expect(contextSwitches(process.pid, process.pid)).toBeGreaterThan(0);
    expect(contextSwitches(process.pid, 0x7fffffff)).toBeUndefined();
  });
});
