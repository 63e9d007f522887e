/**
 * Polling a fixed set of ranges again and again (watch polls, the DAP live view's refresh)
 * without a result object per range: the ranges are laid out back to back in one caller-owned
 * byte array, and a second array marks the ranges that could not be read completely.
 *
 *   const set = createPollSet([{ address: 0x601040n, length: 8 }, …]);   // once
 *   const bytes = new Uint8Array(set.totalLength), bad = new Uint8Array(set.count);
 *   const n = pollInto(reader, set, bytes, bad);   // every tick: n ranges incomplete
 *   bytes.subarray(set.offsets[i], set.offsets[i] + set.lengths[i])   // range i
 *
 * A backend that can do better than readMany implements MemoryReader.pollInto (pidfd-mem: plain
 * loads from its windows, planned once per set); the others go through readMany.
 */
import type { MemoryReader, ReadRequest } from './reader';
import { checkRequests } from './scatter';

export interface PollSet {
  readonly count: number;
  /** The ranges as given (bigint addresses). */
  readonly requests: readonly ReadRequest[];
  readonly lengths: Uint32Array;
  /** Where range i starts in the caller's byte array. */
  readonly offsets: Uint32Array;
  readonly totalLength: number;
}

/** Validates the ranges (same limits as readMany) and lays them out back to back. */
export function createPollSet(requests: readonly ReadRequest[]): PollSet {
  const totalLength = checkRequests(requests);
  const count = requests.length;
  const lengths = new Uint32Array(count);
  const offsets = new Uint32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    offsets[i] = at;
    lengths[i] = requests[i].length;
    at += requests[i].length;
  }
  return { count, requests: requests.map((r) => ({ address: r.address, length: r.length })), lengths, offsets, totalLength };
}

/**
 * Reads every range of `set` into `into` (at set.offsets), sets bad[i] to 1 for a range with
 * any unreadable byte (its unreadable bytes are zero) and 0 otherwise; returns how many are bad.
 * Throws like readMany when the process is gone.
 */
export function pollInto(reader: MemoryReader, set: PollSet, into: Uint8Array, bad: Uint8Array): number {
  if (into.length < set.totalLength) throw new RangeError(`pollInto: the byte array holds ${into.length} bytes, the set needs ${set.totalLength}`);
  if (bad.length < set.count) throw new RangeError(`pollInto: the mark array holds ${bad.length} entries, the set has ${set.count} ranges`);
  if (reader.pollInto) return reader.pollInto(set, into, bad);
  return pollViaReadMany(reader, set, into, bad);
}

/** The general path: one readMany, copied into the caller's arrays. */
export function pollViaReadMany(reader: Pick<MemoryReader, 'readMany'>, set: PollSet, into: Uint8Array, bad: Uint8Array): number {
  const results = reader.readMany(set.requests as ReadRequest[]);
  let n = 0;
  for (let i = 0; i < set.count; i++) {
    const r = results[i];
    into.set(r.data, set.offsets[i]);
    const b = r.unreadable.length > 0 ? 1 : 0;
    bad[i] = b;
    n += b;
  }
  return n;
}
