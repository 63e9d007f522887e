import { PidscopeError } from '../errors';

export function writeDisabledError(): PidscopeError {
  return new PidscopeError(
    'WRITE_DISABLED',
    'writing target memory is disabled (pidscope is read-only by default)',
    'Opt in explicitly (allowWrites / --allow-writes) if you really mean to change the running process',
    'user',
  );
}

export function writeFailedError(address: bigint, length: number, written: number): PidscopeError {
  return new PidscopeError(
    'EFAULT',
    `Cannot access memory at address 0x${(address + BigInt(written)).toString(16)} (wrote ${written} of ${length} bytes)`,
    'The range is not mapped writable in the target',
    'user',
  );
}
