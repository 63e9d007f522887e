/**
 * "The address space we were reading is gone" has two causes that look alike from a reader bound
 * to one mm (/proc/PID/mem, a pidfd_mem mirror): the process exec'd a new program, or it is
 * exiting. The kernel drops the mm (exit_mm) well before the pidfd says "exited", so a reader
 * racing an exit sees the mm vanish first. The target decides which (TargetHandle.state(), one
 * rule in engine/target.ts); while it cannot tell yet (the mm is being torn down), the process is
 * treated as gone, since an exec'd process has a new image as soon as the exec completes.
 */
import { PidscopeError } from '../errors';
import { processGoneError } from '../linux/errno';
import type { TargetHandle } from './handle';

export function addressSpaceGone(target: TargetHandle, during: string): never {
  if (target.state().kind !== 'exec') throw processGoneError(target.pid, during);
  throw new PidscopeError(
    'EXEC',
    `process ${target.pid} replaced its program (exec) or dropped its address space`,
    'Attach again to read the new program',
    'target',
  );
}
