/** Parsing addresses and lengths typed by users (CLI, DAP): 0x hex or decimal, nothing else. */
import { PidscopeError } from '../errors';

const MAX_U64 = (1n << 64n) - 1n;

/** '0x7ffd1234', '140737488347136' → bigint. Throws PidscopeError('USAGE'). */
export function parseAddress(text: string, what = 'address'): bigint {
  const t = text.trim();
  let v: bigint | undefined;
  if (/^0x[0-9a-f]+$/i.test(t)) v = BigInt(t);
  else if (/^[0-9]+$/.test(t)) v = BigInt(t);
  if (v === undefined) {
    throw new PidscopeError('USAGE', `'${text}' is not a valid ${what}`, `Write the ${what} in hex (0x7ffd1234) or decimal`, 'user');
  }
  if (v > MAX_U64) {
    throw new PidscopeError('USAGE', `${what} ${text} does not fit in 64 bits`, `Give a ${what} below 0x10000000000000000`, 'user');
  }
  return v;
}

/** A byte count: hex or decimal, at most Number.MAX_SAFE_INTEGER (readers apply their own cap). */
export function parseLength(text: string): number {
  const v = parseAddress(text, 'length');
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PidscopeError('TOO_LONG', `length ${text} is far too large`, 'Read a smaller range', 'user');
  }
  return Number(v);
}
