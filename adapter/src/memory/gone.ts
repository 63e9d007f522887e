/**
 * "The address space we were reading is gone" has two causes that look alike from a reader bound
 * to one mm (/proc/PID/mem, a pidfd_mem mirror): the process exec'd a new program, or it is
 * exiting. The kernel drops the mm (exit_mm) well before the pidfd says "exited", so a reader
 * racing an exit sees the mm vanish first. Tell them apart by the process's current mappings: an
 * exec'd process has a new, non-empty /proc/PID/maps; an exiting one has none.
 */
import { readFileSync } from 'node:fs';
import { PidscopeError } from '../errors';
import { processGoneError } from '../linux/errno';
import type { TargetHandle } from './handle';

export function addressSpaceGone(target: TargetHandle, during: string): never {
  target.assertAlive(during);
  let maps = '';
  try {
    maps = readFileSync(`/proc/${target.pid}/maps`, 'utf8');
  } catch {
    /* the process is being torn down */
  }
  if (maps.trim() === '') throw processGoneError(target.pid, during);
  // /proc/PID was opened by pid: trust what it said only while the pidfd still says "alive".
  target.assertAlive(during);
  throw new PidscopeError(
    'EXEC',
    `process ${target.pid} replaced its program (exec) or dropped its address space`,
    'Attach again to read the new program',
    'target',
  );
}
