/**
 * Entry values (DW_OP_entry_value, gdb's `x=x@entry=5`): the value a parameter register had
 * when the function was entered, recovered from the caller's DW_TAG_call_site at the return
 * address: its DW_TAG_call_site_parameter for that register carries DW_AT_call_value, an
 * expression evaluated in the caller's frame. As in gdb (dwarf_expr_reg_to_entry_parameter),
 * the call site must call exactly this function; otherwise there is no entry value.
 */
import type { DwarfInfo } from '../symbols/dwarf/info';
import { attr, toBig, type Die } from '../symbols/dwarf/reader';
import { evalExpr } from './expr';
import { functionDisplayName } from './scopes';
import { expressionAt, type FrameContext } from './variables';

const TAG_call_site = 0x48;
const TAG_GNU_call_site = 0x4109;
const TAG_call_site_parameter = 0x49;
const TAG_GNU_call_site_parameter = 0x410a;
const AT_low_pc = 0x11;
const AT_entry_pc = 0x52;
const AT_location = 0x02;
const AT_abstract_origin = 0x31;
const AT_call_return_pc = 0x7d;
const AT_call_value = 0x7e;
const AT_call_origin = 0x7f;
const AT_GNU_call_site_value = 0x2111;
const AT_declaration = 0x3c;

export interface CallSite {
  /** Link-time return address. */
  returnPc: bigint;
  /** The callee's DIE (definition or declaration), when known. */
  origin?: Die;
  /** DWARF register → DW_AT_call_value expression. */
  params: Map<number, Buffer>;
  /** DW_AT_call_tail_call: a jump that leaves no frame of the caller behind. */
  tail: boolean;
}

const sitesCache = new WeakMap<Die, Map<bigint, CallSite>>();

/** Every call site inside a subprogram (inlined bodies and blocks included), by return pc. */
export function callSites(dwarf: DwarfInfo, subprogram: Die): Map<bigint, CallSite> {
  const hit = sitesCache.get(subprogram);
  if (hit) return hit;
  const r = dwarf.reader;
  const out = new Map<bigint, CallSite>();
  const visit = (d: Die, depth: number) => {
    if (depth > 32) return;
    for (const k of r.children(d)) {
      if (k.tag === TAG_call_site || k.tag === TAG_GNU_call_site) {
        const rp = attr(k, AT_call_return_pc) ?? attr(k, AT_low_pc);
        if (!rp) continue;
        const returnPc = r.address(k.unit, rp);
        const o = r.refTarget(attr(k, AT_call_origin) ?? attr(k, AT_abstract_origin));
        const params = new Map<number, Buffer>();
        for (const p of r.children(k)) {
          if (p.tag !== TAG_call_site_parameter && p.tag !== TAG_GNU_call_site_parameter) continue;
          const loc = attr(p, AT_location)?.value;
          const val = (attr(p, AT_call_value) ?? attr(p, AT_GNU_call_site_value))?.value;
          if (!Buffer.isBuffer(loc) || !Buffer.isBuffer(val) || loc.length !== 1) continue;
          if (loc[0] >= 0x50 && loc[0] <= 0x6f) params.set(loc[0] - 0x50, val);
        }
        const tail = !!(attr(k, 0x82) ?? attr(k, 0x2115));
        out.set(returnPc, { returnPc, origin: o !== undefined ? r.dieAt(o) : undefined, params, tail });
      } else if (k.hasChildren) visit(k, depth + 1);
    }
  };
  try {
    visit(subprogram, 0);
  } catch {
    /* a broken subtree: the sites found so far */
  }
  sitesCache.set(subprogram, out);
  return out;
}

/** Entry address (link-time) of a subprogram or inlined subroutine DIE. */
export function entryPc(dwarf: DwarfInfo, d: Die): bigint | undefined {
  const r = dwarf.reader;
  const e = attr(d, AT_entry_pc);
  if (e) {
    // DWARF 5 allows entry_pc as an offset from low_pc (constant class).
    if (typeof e.value === 'bigint' && e.form === 0x01) return e.value;
    const lo = attr(d, AT_low_pc);
    if (typeof e.value !== 'bigint' && lo) return r.address(d.unit, lo) + toBig(e.value);
    return r.address(d.unit, e);
  }
  const lo = attr(d, AT_low_pc);
  if (lo) return r.address(d.unit, lo);
  try {
    return r.dieRanges(d)[0]?.[0];
  } catch {
    return undefined;
  }
}

export interface CallerInfo {
  /** The caller's frame (registers, CFA, DWARF) at the return address. */
  frame: FrameContext;
  /** Absolute address of the callee the call site names, resolved by the owner. */
  resolveOrigin(origin: Die, dwarf: DwarfInfo, bias: bigint): bigint | undefined;
}

/**
 * The entry value of DWARF register `reg` for the physical frame whose function starts at
 * `calleeEntry` (absolute), given its caller. Undefined when no call site vouches for it.
 */
export function entryRegister(reg: number, calleeEntry: bigint, caller: CallerInfo): bigint | undefined {
  const f = caller.frame;
  const site = callSites(f.dwarf, f.subprogram).get(f.linkPc + 1n) ?? findSite(f);
  if (!site || !site.origin) return undefined;
  const target = caller.resolveOrigin(site.origin, f.dwarf, f.bias);
  if (target === undefined || target !== calleeEntry) return undefined;
  const expr = site.params.get(reg);
  if (!expr) return undefined;
  // DW_AT_call_value is a value, not a location (gdb appends DW_OP_stack_value).
  const l = evalExpr(Buffer.concat([expr, Buffer.from([0x9f])]), {
    reg: (n) => f.regs[n],
    read: (a, s) => f.read(a, s),
    cfa: () => f.cfa,
    bias: f.bias,
    addrIndex: (i) => f.dwarf.reader.addrIndex(f.subprogram.unit, i),
    frameBase: () => {
      const fb = attr(f.subprogram, 0x40);
      const e = fb ? expressionAt(f.dwarf, f.subprogram.unit, fb, f.linkPc) : undefined;
      if (!e) return undefined;
      const b = evalExpr(e, { reg: (n) => f.regs[n], read: (a, s) => f.read(a, s), cfa: () => f.cfa });
      return b.kind === 'memory' ? b.address : b.kind === 'value' ? b.value : undefined;
    },
  });
  return l.kind === 'value' ? l.value : undefined;
}

function findSite(f: FrameContext): CallSite | undefined {
  // The frame's linkPc is the return address minus one; call sites key on the return address.
  return callSites(f.dwarf, f.subprogram).get(f.linkPc + 1n);
}

/** Resolution of a call site's callee DIE to an absolute address (definitions and declarations). */
export function originAddress(origin: Die, dwarf: DwarfInfo, bias: bigint, byName: (name: string) => bigint | undefined): bigint | undefined {
  if (!attr(origin, AT_declaration)) {
    const e = entryPc(dwarf, origin);
    if (e !== undefined) return e + bias;
  }
  const n = functionDisplayName(dwarf.reader, origin);
  return n ? byName(n) : undefined;
}

/** The register a location expression names when it is exactly DW_OP_regN (or bregN 0). */
export function plainRegister(expr: Buffer | undefined): number | undefined {
  if (!expr || expr.length === 0) return undefined;
  if (expr.length === 1 && expr[0] >= 0x50 && expr[0] <= 0x6f) return expr[0] - 0x50;
  if (expr.length === 2 && expr[0] === 0x90 && expr[1] < 0x80) return expr[1];
  return undefined;
}
