/**
 * Kernel settings under /proc/sys that decide what we may read or watch: messages quote them so a
 * user sees which rule the kernel applied. undefined when the setting does not exist here (no Yama,
 * no perf).
 */
import { readFileSync } from 'node:fs';

function readSetting(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** kernel.yama.ptrace_scope: 0 classic, 1 descendants only, 2 CAP_SYS_PTRACE only, 3 nobody. `procRoot`: for tests on a made-up /proc. */
export function readPtraceScope(procRoot = '/proc'): string | undefined {
  return readSetting(`${procRoot}/sys/kernel/yama/ptrace_scope`);
}

/** kernel.perf_event_paranoid: who may open which perf events (2: user space of own processes). */
export function readPerfEventParanoid(): string | undefined {
  return readSetting('/proc/sys/kernel/perf_event_paranoid');
}
