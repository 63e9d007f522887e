/** Addresses and values as gdb prints them in hexadecimal: `0x` and lowercase digits. */

/** `0x` + lowercase hex digits of `v`, zero-padded to `digits` when given (`hex(16n, 4)` is `0x0010`). */
export function hex(v: bigint, digits = 0): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}
