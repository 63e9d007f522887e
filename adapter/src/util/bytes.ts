/** Little-endian byte helpers shared by every layer (values, DWARF locations, the x86 decoder). */

/** Little-endian two's complement bytes of `v` in `size` bytes (higher bits dropped). */
export function leBytes(v: bigint, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
}
