/**
 * A fast non-cryptographic 64-bit hash (two FNV-1a lanes) for cache keys (the index file itself
 * is checked with zlib's native CRC-32, codec.ts).
 * node:crypto would cost more to load (~20 ms at start-up) than the whole warm lookup it
 * serves; nothing here defends against a forger, only against stale, truncated or garbage files.
 */
export function hash64(...parts: Array<Uint8Array | string>): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    for (let i = 0; i < bytes.length; i++) {
      const x = bytes[i];
      a = Math.imul(a ^ x, 0x01000193);
      b = Math.imul(b ^ x, 0x5bd1e995) ^ (b >>> 15);
    }
    a = Math.imul(a ^ 0xff, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
