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

/**
 * The element whose half-open range [item[start], item[end]) contains `key`, in `list` sorted by
 * start with ranges that do not overlap ("which region / unit holds this address"), or undefined.
 * The bounds are named by property (`'start', 'end'`), so that no closure runs per step.
 */
export function findContaining<K extends bigint | number, S extends PropertyKey, E extends PropertyKey, T extends Record<S, K> & Record<E, K>>(
  list: readonly T[],
  key: NoInfer<K>,
  start: S,
  end: E,
): T | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const item = list[mid];
    if (key < item[start]) hi = mid - 1;
    else if (key >= item[end]) lo = mid + 1;
    else return item;
  }
  return undefined;
}
