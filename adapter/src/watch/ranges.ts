/**
 * Which x86 debug-register ranges cover a watched object. Pure arithmetic (no perf, no koffi):
 * the watch engine and the DAP front end both ask it how many registers an object needs.
 */
import type { BreakpointLength } from '../linux/perf';

/**
 * Covers [address, address+size) with the fewest aligned x86 debug-register ranges
 * (greedy: largest aligned chunk that fits at each step). Callers check the count against the
 * 4 registers per thread.
 */
export function splitIntoBreakpoints(address: bigint, size: number): { address: bigint; length: BreakpointLength }[] {
  const out: { address: bigint; length: BreakpointLength }[] = [];
  let a = address;
  let left = size;
  while (left > 0) {
    let len: BreakpointLength = 8;
    while (len > 1 && (a % BigInt(len) !== 0n || len > left)) len = (len / 2) as BreakpointLength;
    out.push({ address: a, length: len });
    a += BigInt(len);
    left -= len;
  }
  return out;
}
