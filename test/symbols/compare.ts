/**
 * Compares what the symbols engine says about static-storage variables with gdb on the same live
 * process: address (`print &x`), `whatis` and `ptype`. Statics of functions that gdb cannot name
 * (inlined everywhere, or declared in a nested block: `fn::x` only searches the function's
 * outermost block) are checked against the ELF symbol at their address instead.
 */
import type { VariableSymbol } from '../../adapter/src/symbols/provider';
import { ptypeText, typeName } from '../../adapter/src/lang/c/typeName';
import { gdbBatch, type GdbRequest } from '../support/gdb';

export function gdbName(v: VariableSymbol): string {
  if (v.scope === 'function-static') return `${v.function}::${v.name}`;
  const cu = v.compileUnit ?? '';
  return `'${cu.slice(cu.lastIndexOf('/') + 1)}'::${v.name}`;
}

export interface Comparison {
  checked: number;
  /** Checked through the ELF symbol because gdb cannot name them. */
  viaSymbol: number;
  mismatches: string[];
}

export async function compareWithGdb(pid: number, binary: string, vars: VariableSymbol[]): Promise<Comparison> {
  const reqs: GdbRequest[] = [];
  for (const v of vars) {
    const n = gdbName(v);
    reqs.push(
      { kind: 'whatis', expr: n },
      { kind: 'ptype', expr: n },
      { kind: 'print', expr: `&${n}` },
      { kind: 'command', command: v.address !== undefined ? `info symbol 0x${v.address.toString(16)}` : 'echo' },
    );
  }
  const out = await gdbBatch(pid, reqs, { binary, timeoutMs: 300_000 });
  const text = (i: number) => (out[i].ok ? (out[i] as { text: string }).text : `error: ${(out[i] as { error: string }).error}`);
  const result: Comparison = { checked: 0, viaSymbol: 0, mismatches: [] };
  vars.forEach((v, i) => {
    const [whatis, ptype, addr, symbol] = [text(4 * i), text(4 * i + 1), text(4 * i + 2), text(4 * i + 3)];
    const n = gdbName(v);
    if (v.scope === 'function-static' && /No symbol "\w+" in (current|specified) context/.test(whatis)) {
      result.viaSymbol++;
      if (v.address !== undefined && !new RegExp(`^${v.name}(\\.\\d+)? in section`).test(symbol)) result.mismatches.push(`${n}: info symbol says ${symbol}`);
      return;
    }
    result.checked++;
    if (v.absentReason?.startsWith('thread-local')) {
      if (!/^error:|0x/.test(addr)) result.mismatches.push(`${n}: TLS, gdb says ${addr}`);
    } else if (v.address === undefined) {
      if (/0x[0-9a-f]+/.test(addr) && !/optimized out|Can't take address/.test(addr))
        result.mismatches.push(`${n}: gdb ${addr}, we: absent (${v.absentReason})`);
    } else {
      const m = /(0x[0-9a-f]+)/.exec(addr);
      if (!m || BigInt(m[1]) !== v.address) result.mismatches.push(`${n}: gdb ${addr}, we 0x${v.address.toString(16)}`);
    }
    if (!v.type) {
      result.mismatches.push(`${n}: no type`);
      return;
    }
    const w = typeName(v.type);
    const p = ptypeText(v.type);
    if (w !== whatis) result.mismatches.push(`whatis ${n}: gdb «${whatis}» we «${w}»`);
    if (p !== ptype) result.mismatches.push(`ptype ${n}: gdb «${ptype}» we «${p}»`);
  });
  return result;
}
