/** Binary search shared by the symbol tables and the DWARF address index. */

/**
 * Index of the last element whose key is <= `key` in `list` sorted by key, or -1 when every key
 * is greater ("which symbol / range starts at or before this address").
 */
export function lastAtOrBefore<T, K extends bigint | number>(list: readonly T[], key: K, keyOf: (item: T) => K): number {
  let lo = 0;
  let hi = list.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyOf(list[mid]) <= key) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}
