/**
 * variablesReference ↔ what it stands for, and memoryReference ↔ address.
 *
 * References live for one *generation* of the live view. A generation ends when the adapter
 * sends `invalidated` (values changed), when the view is frozen or resumed, or when the program
 * is reloaded: the client then re-requests scopes and gets fresh references, and an old one is
 * answered with a clear "stale reference" error instead of a wrong value. Numbers are never
 * reused within a session, so a stale reference cannot alias a new object.
 */
import { PidscopeError } from '../errors';
import { badArgs, staleReference } from './errors';

const MAX_REF = 0x7fffffff; // int32: some clients keep references in 32-bit integers

export class RefTable<T> {
  private nextRef = 1;
  private readonly entries = new Map<number, T>();
  private readonly byKey = new Map<string, number>();
  private gen = 0;

  get generation(): number {
    return this.gen;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A reference for `value`; the same `key` within one generation returns the same reference. */
  add(value: T, key?: string): number {
    if (key !== undefined) {
      const known = this.byKey.get(key);
      if (known !== undefined) return known;
    }
    if (this.nextRef >= MAX_REF) this.nextRef = 1; // after 2^31 references: the table was reset many times since
    const ref = this.nextRef++;
    this.entries.set(ref, value);
    if (key !== undefined) this.byKey.set(key, ref);
    return ref;
  }

  /** Looks a reference up; throws a user error for malformed, unknown or stale references. */
  get(ref: unknown, what = 'variablesReference'): T {
    if (typeof ref !== 'number' || !Number.isInteger(ref) || ref <= 0) {
      throw badArgs(`${what} is ${JSON.stringify(ref)}, not a positive integer`, `Pass a ${what} from an earlier response of this session`);
    }
    const v = this.entries.get(ref);
    if (v === undefined) throw staleReference(what, ref);
    return v;
  }

  has(ref: number): boolean {
    return this.entries.has(ref);
  }

  /** Starts a new generation: every reference handed out so far becomes stale. */
  reset(): void {
    this.entries.clear();
    this.byKey.clear();
    this.gen++;
  }
}

const U64 = (1n << 64n) - 1n;

export function encodeMemoryReference(address: bigint): string {
  return `0x${address.toString(16)}`;
}

/** memoryReference (+ optional byte offset) → absolute address. Throws a user error if malformed. */
export function decodeMemoryReference(ref: unknown, offset: unknown = 0): bigint {
  if (typeof ref !== 'string' || !/^(0x[0-9a-fA-F]{1,16}|\d{1,20})$/.test(ref.trim())) {
    throw memRefError(`memoryReference ${JSON.stringify(ref)} is not an address`);
  }
  const base = BigInt(ref.trim());
  if (base > U64) throw memRefError(`memoryReference ${ref} is beyond the 64-bit address space`);
  if (offset === undefined || offset === null) offset = 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
    throw badArgs(`offset is ${JSON.stringify(offset)}, not an integer`, 'Pass the byte offset from memoryReference as an integer');
  }
  const addr = base + BigInt(offset);
  if (addr < 0n || addr > U64) throw memRefError(`memoryReference ${ref} with offset ${offset} falls outside the address space`);
  return addr;
}

function memRefError(cause: string): PidscopeError {
  return new PidscopeError(
    'BAD_MEMORY_REFERENCE',
    cause,
    'Use a memoryReference from a variable or evaluate response (a hex address such as 0x55d0c0de1000)',
    'user',
  );
}
