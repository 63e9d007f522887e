/**
 * Frames of functions that tail-called (gdb's TAILCALL_FRAME): a function that ends in a jump
 * to another leaves no frame, so the callee's return address points into the function that
 * called the first one. The caller's DW_TAG_call_site at that return address names the
 * function it called; if that is not the callee, the chain of DW_AT_call_tail_call sites from
 * it to the callee, when it is unique, gives the missing frames (innermost last here).
 */
import type { ProcessSymbols } from '../symbols/index';
import type { Module } from '../symbols/module';
import type { Die } from '../symbols/dwarf/reader';
import { callSites, entryPc, originAddress } from './entryValues';
import { scopeAt } from './scopes';

export interface TailCallFrame {
  /** Absolute address just past the tail-call jump (gdb shows it as the frame's pc). */
  pc: bigint;
  module: Module;
  subprogram: Die;
}

const MAX_CHAIN = 8;

function functionAt(syms: ProcessSymbols, address: bigint): { m: Module; sub: Die } | undefined {
  const m = syms.moduleAt(address);
  const d = m?.dwarf;
  if (!m || !d) return undefined;
  try {
    const sc = scopeAt(d, address - m.bias);
    return sc ? { m, sub: sc.levels[0].subprogram } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tail-call frames between a callee (entered at `calleeEntry`) and the function `first`
 * (absolute entry) that its caller's call site names; outermost first. [] when the chain is
 * not unique or not found (gdb then shows none either).
 */
export function tailCallChain(syms: ProcessSymbols, first: bigint, calleeEntry: bigint): TailCallFrame[] {
  const byName = (n: string) => functionByName(syms, n);
  const paths: TailCallFrame[][] = [];
  const walk = (fn: bigint, path: TailCallFrame[], seen: Set<bigint>) => {
    if (paths.length > 1 || path.length >= MAX_CHAIN) return;
    const f = functionAt(syms, fn);
    if (!f) return;
    const d = f.m.dwarf!;
    for (const site of callSites(d, f.sub).values()) {
      if (!site.tail || !site.origin) continue;
      const t = originAddress(site.origin, d, f.m.bias, byName);
      if (t === undefined) continue;
      const frame = { pc: site.returnPc + f.m.bias, module: f.m, subprogram: f.sub };
      if (t === calleeEntry) paths.push([...path, frame]);
      else if (!seen.has(t)) walk(t, [...path, frame], new Set([...seen, t]));
    }
  };
  walk(first, [], new Set([first]));
  return paths.length === 1 ? paths[0] : [];
}

/** Absolute entry of the function a physical frame is in (for comparing with call sites). */
export function frameFunctionEntry(syms: ProcessSymbols, pc: bigint): bigint | undefined {
  const f = functionAt(syms, pc);
  if (!f) return undefined;
  const e = entryPc(f.m.dwarf!, f.sub);
  return e === undefined ? undefined : e + f.m.bias;
}

/** A function's absolute address by name: debug info first, then any module's ELF symbols (statics too). */
export function functionByName(syms: ProcessSymbols, name: string): bigint | undefined {
  const f = syms.findFunctions(name)[0]?.address;
  if (f !== undefined) return f;
  for (const m of syms.modules) {
    if (m.mayDefine(name) === false) continue;
    const s = m.symbolsNamed(name).find((x) => x.type === 'func' || x.type === 'ifunc');
    if (s) return s.value + m.bias;
  }
  return undefined;
}
