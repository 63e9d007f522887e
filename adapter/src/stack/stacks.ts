/**
 * Call stacks of a running process's threads, never stopping them: snapshot (snapshot.ts) →
 * unwind (unwind.ts) → frames with functions, inline levels, sources, arguments and locals
 * (scopes.ts, variables.ts) → verified (a thread seen through /proc that ran in between is
 * taken again, and marked if it keeps moving).
 */
import { PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import type { MemoryReader } from '../memory/reader';
import type { ProcessSymbols } from '../symbols/index';
import type { Module } from '../symbols/module';
import { findThreadDescriptor } from '../symbols/tls';
import { lookupLine, type LineRow, type LineTable } from '../symbols/dwarf/line';
import type { Die } from '../symbols/dwarf/reader';
import { ByteSource, type TargetObject, type ValueContext } from '../value/object';
import { cfiOf } from './moduleCfi';
import { CachedReader, StackOverlayReader } from './overlay';
import { RSP, type RegSet } from './regs';
import { gdbOrder, scopeAt, type ScopeLevel } from './scopes';
import { snapshotThreads, type SnapshotFailure, type ThreadSnapshot } from './snapshot';
import { contextSwitches, readSyscall, threadIds, threadName } from './threadState';
import { unwind, type FrameHow, type UnwoundFrame } from './unwind';
import { entryObject, variableObject, type FrameContext } from './variables';
import { callSites, entryPc, entryRegister, originAddress } from './entryValues';
import { frameFunctionEntry, functionByName, tailCallChain, type TailCallFrame } from './tailCalls';

export interface NamedObject {
  name: string;
  obj: TargetObject;
  /** Arguments: the value on entry to the function (gdb's `@entry`), when a call site gives it. */
  entry?: TargetObject;
}

export interface StackFrame {
  level: number;
  pc: bigint;
  /** gdb prints the address unless pc is the first address of its line (or an inline caller). */
  showAddress: boolean;
  function?: string;
  /** Frames with debug info: arguments and locals (innermost block first, gdb's order). */
  args?: NamedObject[];
  locals?: NamedObject[];
  file?: string;
  line?: number;
  /** Compilation directory of the frame's unit (a relative `file` is relative to it). */
  compDir?: string;
  /** The module's path, for `from LIB` when there is no source line. */
  module?: string;
  moduleIsMain?: boolean;
  /** gdb's `<signal handler called>`. */
  signalTrampoline: boolean;
  how: FrameHow;
  inline: boolean;
  /** Evaluation context of this frame (memory as of the snapshot where a copy exists). */
  ctx: ValueContext;
  frame?: FrameContext;
}

export interface ThreadStack {
  tid: number;
  /** gdb's thread number (main thread 1, then by tid). */
  number: number;
  name: string;
  /** struct pthread address: gdb's `Thread 0x…`. */
  pthread?: bigint;
  source: ThreadSnapshot['source'];
  frames: StackFrame[];
  truncated: boolean;
  stopReason?: string;
  /** Set when the thread kept moving while it was read: the stack may mix two moments. */
  moved?: boolean;
  takenAt: number;
}

export interface StacksOptions {
  tids?: number[];
  maxDepth?: number;
  /** Called inside the verification window of each thread (e.g. format it to text). */
  onThread?: (t: ThreadStack) => void;
}

export interface StacksResult {
  threads: ThreadStack[];
  failures: SnapshotFailure[];
  perfError?: string;
}

const DEFAULT_DEPTH = 10_000;

function symbolsOf(p: Program): ProcessSymbols {
  const s = p.symbols as ProcessSymbols;
  if (!s.modules || !s.moduleAt) throw new PidscopeError('NO_MODULES', 'call stacks need the symbols of a live process', '', 'internal');
  return s;
}

/** Thread numbers as gdb gives them after attaching: by tid, main thread first. */
export function gdbThreadNumbers(pid: number): Map<number, number> {
  const tids = threadIds(pid);
  const m = new Map<number, number>();
  tids.forEach((t, i) => m.set(t, i + 1));
  return m;
}

export function takeStacks(program: Program, opts: StacksOptions = {}): StacksResult {
  const pid = program.pid;
  const syms = symbolsOf(program);
  let all: number[];
  try {
    all = threadIds(pid);
  } catch {
    throw new PidscopeError('ESRCH', `No process with pid ${pid}`, 'Check the pid (ps, pgrep) and that the process is still running', 'user');
  }
  const numbers = new Map(all.map((t, i) => [t, i + 1]));
  const wanted = opts.tids ?? all;
  for (const t of wanted) {
    if (!numbers.has(t))
      throw new PidscopeError('NO_THREAD', `Thread ${t} is not a thread of process ${pid}`, `Its threads are ${all.join(', ')} (ls /proc/${pid}/task)`, 'user');
  }
  const failures: SnapshotFailure[] = [];
  const threads: ThreadStack[] = [];
  let perfError: string | undefined;
  let todo = [...wanted];
  for (let attempt = 0; attempt < 3 && todo.length; attempt++) {
    const snap = snapshotThreads(pid, todo);
    perfError ??= snap.perfError;
    const retry: number[] = [];
    for (const f of snap.failures) failures.push(f);
    for (const s of snap.snapshots) {
      const t = buildStack(program, syms, s, numbers.get(s.tid) ?? 0, opts.maxDepth ?? DEFAULT_DEPTH);
      opts.onThread?.(t);
      if (s.source === 'proc-syscall') {
        // The stack was read live: valid only if the thread did not run meanwhile.
        const after = readSyscall(pid, s.tid);
        const sw = contextSwitches(pid, s.tid);
        const same =
          after.kind === s.syscallState.kind &&
          'sp' in after &&
          'sp' in s.syscallState &&
          after.sp === s.syscallState.sp &&
          after.pc === s.syscallState.pc &&
          sw === s.switches;
        if (after.kind === 'gone' || sw === undefined) {
          failures.push({ tid: s.tid, reason: `thread ${s.tid} exited while its stack was read` });
          continue;
        }
        if (!same && attempt < 2) {
          retry.push(s.tid);
          continue;
        }
        if (!same) t.moved = true;
      }
      threads.push(t);
    }
    todo = retry;
  }
  threads.sort((a, b) => b.number - a.number);
  return { threads, failures, perfError };
}

/** Code bytes (sigreturn and call checks) are the same for every thread: one cache per process. */
const codeSources = new WeakMap<Program, ByteSource>();

function buildStack(program: Program, syms: ProcessSymbols, s: ThreadSnapshot, number: number, maxDepth: number): ThreadStack {
  let code = codeSources.get(program);
  if (!code) codeSources.set(program, (code = new ByteSource(program.memory)));
  const codeSrc = code;
  const memory: MemoryReader = new CachedReader(
    s.stack && s.regs[RSP] !== undefined ? new StackOverlayReader(program.memory, s.regs[RSP]!, s.stack) : program.memory,
  );
  const src = new ByteSource(memory);
  const codeCache = new Map<Module, Array<[bigint, bigint]>>();
  const isCode = (a: bigint) => {
    const m = syms.moduleAt(a);
    if (!m) return false;
    let segs = codeCache.get(m);
    if (!segs) {
      segs = m.elf.segments.filter((p) => p.type === 1 && p.flags & 1).map((p) => [p.vaddr + m.bias, p.vaddr + m.bias + p.memsz] as [bigint, bigint]);
      codeCache.set(m, segs);
    }
    return segs.some(([lo, hi]) => a >= lo && a < hi);
  };
  const read = (address: bigint, size: number): bigint | undefined => {
    const r = (isCode(address) ? codeSrc : src).readPartial(address, size);
    if (r.firstBad !== undefined) return undefined;
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.data[i]);
    return v;
  };
  const ctx: ValueContext = { memory, symbols: program.symbols, pointerSize: program.symbols.pointerSize };
  const res = unwind(
    s.regs,
    {
      read,
      isCode,
      cfiRow: (pc) => {
        const m = syms.moduleAt(pc);
        if (!m) return undefined;
        return cfiOf(m.elf, m.debugElf).rowAt(pc - m.bias);
      },
      callCanReach: (target, pc) => {
        const m = syms.moduleAt(pc);
        const sym = m?.symbolize(pc);
        if (!m || !sym) return true;
        const entry = sym.symbol.value + m.bias;
        if (target === entry) return true;
        const tm = syms.moduleAt(target);
        if (!tm) return false;
        if (isPlt(tm, target)) return true;
        const fe = frameFunctionEntry(syms, pc);
        try {
          return fe !== undefined && tailCallChain(syms, target, fe).length > 0;
        } catch {
          return false;
        }
      },
      isOutermost: (f) => {
        const m = syms.moduleAt(f.pc);
        if (!m || !m.isMain) return false;
        return functionName(m, f.lookupPc) === 'main';
      },
    },
    maxDepth,
  );
  const frames: StackFrame[] = [];
  // Caller contexts for entry values, made on demand (most frames never need one).
  const callerCtx = new Map<number, FrameContext | null>();
  const callerOf = (j: number): FrameContext | undefined => {
    if (!callerCtx.has(j)) callerCtx.set(j, physicalContext(res.frames[j + 1], syms, read) ?? null);
    return callerCtx.get(j) ?? undefined;
  };
  const byName = (name: string) => functionByName(syms, name);
  // Functions that tail-called between physical frame j and its caller (gdb's tail-call frames).
  const tailFrames = (j: number): TailCallFrame[] => {
    const uf = res.frames[j];
    const up = res.frames[j + 1];
    if (!up || uf.signalTrampoline || up.signalTrampoline) return [];
    try {
      const caller = callerOf(j);
      if (!caller) return [];
      const site = callSites(caller.dwarf, caller.subprogram).get(caller.linkPc + 1n);
      if (!site?.origin) return [];
      const first = originAddress(site.origin, caller.dwarf, caller.bias, byName);
      const callee = frameFunctionEntry(syms, uf.lookupPc);
      if (first === undefined || callee === undefined || first === callee) return [];
      return tailCallChain(syms, first, callee).reverse();
    } catch {
      return [];
    }
  };
  res.frames.forEach((uf, j) => {
    const entryReg = (calleeEntry: bigint) => (reg: number) => {
      const caller = callerOf(j);
      if (!caller || res.frames[j + 1]?.signalTrampoline || uf.signalTrampoline) return undefined;
      return entryRegister(reg, calleeEntry, { frame: caller, resolveOrigin: (o, d, b) => originAddress(o, d, b, byName) });
    };
    for (const f of displayFrames(uf, syms, ctx, read, entryReg)) frames.push({ ...f, level: frames.length });
    for (const tc of tailFrames(j)) {
      const pseudo: UnwoundFrame = { pc: tc.pc, regs: res.frames[j + 1].regs, how: 'tailcall', signalTrampoline: false, lookupPc: tc.pc - 1n };
      for (const f of displayFrames(pseudo, syms, ctx, read, () => () => undefined)) frames.push({ ...f, level: frames.length });
    }
  });
  const pthread = pthreadOf(program, syms, s.tid);
  // The depth counts frames as shown (gdb's `bt N`), inline and tail-call frames included.
  const truncated = res.truncated || frames.length > maxDepth;
  if (frames.length > maxDepth) frames.length = maxDepth;
  return {
    tid: s.tid,
    number,
    name: threadName(program.pid, s.tid) ?? '',
    pthread,
    source: s.source,
    frames,
    truncated,
    stopReason: truncated ? undefined : res.stopReason,
    takenAt: s.takenAt,
  };
}

/**
 * glibc's struct pthread of a thread (gdb's `Thread 0x…`), remembered per process: a thread keeps
 * it for life, and finding it walks glibc's thread list (a few reads per thread).
 */
const pthreads = new WeakMap<Program, Map<number, bigint | null>>();
function pthreadOf(program: Program, syms: ProcessSymbols, tid: number): bigint | undefined {
  let m = pthreads.get(program);
  if (!m) pthreads.set(program, (m = new Map()));
  if (m.has(tid)) return m.get(tid) ?? undefined;
  let out: bigint | null = null;
  try {
    const src = new ByteSource(program.memory);
    const readBuf = (a: bigint, n: number) => {
      const r = src.readPartial(a, n);
      return r.firstBad !== undefined ? undefined : r.data;
    };
    const d = findThreadDescriptor(syms, readBuf, tid);
    if ('pthread' in d) out = d.pthread;
  } catch {
    /* no glibc thread list: the header shows the LWP only */
  }
  m.set(tid, out);
  return out ?? undefined;
}

/** Whether an absolute address is in one of the module's PLT sections (calls through them reach anything). */
function isPlt(m: Module, a: bigint): boolean {
  const link = a - m.bias;
  return m.elf.sections.some((s) => (s.name === '.plt' || s.name === '.plt.sec' || s.name === '.plt.got') && link >= s.addr && link < s.addr + BigInt(s.size));
}

function functionName(m: Module, pc: bigint): string | undefined {
  const d = m.dwarf;
  if (d) {
    try {
      const sc = scopeAt(d, pc - m.bias);
      if (sc?.levels[0]?.name) return sc.levels[0].name;
    } catch {
      /* fall back to ELF symbols */
    }
  }
  return m.symbolize(pc)?.symbol.name;
}

/**
 * The line-table row gdb reports for an address (find_pc_sect_line): the last row at or below
 * it, but when that row is not a statement, an is_stmt row at the same address before it wins.
 */
export function gdbLineAt(t: LineTable, addr: bigint): LineRow | undefined {
  const row = lookupLine(t, addr);
  if (!row || row.isStmt) return row;
  let i = t.rows.indexOf(row);
  while (i > 0 && t.rows[i - 1].address === t.rows[i].address && t.rows[i - 1].line !== 0 && !t.rows[i - 1].endSequence && !t.rows[i].isStmt) i--;
  return t.rows[i].isStmt ? t.rows[i] : row;
}

/**
 * gdb's name for a line-table file (dwarf2_start_subfile + buildsym's subfile matching): the
 * entry's directory joined to a relative name, except when that names the same file as the
 * unit's own DW_AT_name (joined to the compilation directory), which keeps the unit's spelling.
 */
function displayFile(t: LineTable, index: number, unitName?: string, compDir?: string): string | undefined {
  const f = t.files[index];
  if (!f) return undefined;
  const join = (d: string, n: string) => (n.startsWith('/') || !d ? n : `${d}/${n}`);
  const display = join(f.dir, f.name);
  if (unitName) {
    const id = display.startsWith('/') ? display : join(compDir ?? '', display);
    const id0 = join(compDir ?? '', unitName);
    if (id === id0) return unitName;
  }
  return display;
}

type Partial_ = Omit<StackFrame, 'level'>;

/** One unwound frame → one display frame per inline level (innermost first). */
/** The DWARF context of a physical frame (for evaluating a caller's call-site values). */
function physicalContext(uf: UnwoundFrame | undefined, syms: ProcessSymbols, read: (a: bigint, n: number) => bigint | undefined): FrameContext | undefined {
  if (!uf) return undefined;
  const m = syms.moduleAt(uf.pc);
  const dwarf = m?.dwarf;
  if (!m || !dwarf) return undefined;
  const linkPc = uf.lookupPc - m.bias;
  let scope;
  try {
    scope = scopeAt(dwarf, linkPc);
  } catch {
    return undefined;
  }
  if (!scope) return undefined;
  return { dwarf, bias: m.bias, regs: uf.regs as RegSet, cfa: uf.cfa, linkPc, read, subprogram: scope.levels[0].subprogram };
}

function displayFrames(
  uf: UnwoundFrame,
  syms: ProcessSymbols,
  ctx: ValueContext,
  read: (a: bigint, n: number) => bigint | undefined,
  entryReg: (calleeEntry: bigint) => (reg: number) => bigint | undefined,
): Partial_[] {
  const base = { pc: uf.pc, signalTrampoline: uf.signalTrampoline, how: uf.how, ctx, inline: false };
  if (uf.signalTrampoline) return [{ ...base, showAddress: false }];
  const m = syms.moduleAt(uf.pc);
  if (!m) return [{ ...base, showAddress: true }];
  const linkPc = uf.lookupPc - m.bias;
  const dwarf = m.dwarf;
  let scope;
  try {
    scope = dwarf ? scopeAt(dwarf, linkPc) : undefined;
  } catch {
    scope = undefined;
  }
  if (!dwarf || !scope) {
    return [{ ...base, showAddress: true, function: m.symbolize(uf.lookupPc)?.symbol.name, module: m.path, moduleIsMain: m.isMain }];
  }
  const table = dwarf.lineTable(scope.unit);
  const row = table ? gdbLineAt(table, linkPc) : undefined;
  const fnEntry = entryPc(dwarf, scope.levels[0].subprogram);
  const fctx: FrameContext = { dwarf, bias: m.bias, regs: uf.regs as RegSet, cfa: uf.cfa, linkPc, read, subprogram: scope.levels[0].subprogram };
  if (fnEntry !== undefined) fctx.entryReg = entryReg(fnEntry + m.bias);
  const out: Partial_[] = [];
  const levels = scope.levels;
  const asm = scope.unit.producer?.startsWith('GNU AS') === true;
  for (let i = levels.length - 1; i >= 0; i--) {
    const lv = levels[i];
    let file: string | undefined;
    let line: number | undefined;
    if (i === levels.length - 1) {
      if (row && table) {
        file = displayFile(table, row.file, scope.unit.name, scope.unit.compDir);
        line = row.line;
      }
    } else {
      const inner = levels[i + 1];
      if (table && inner.callFile !== undefined) file = displayFile(table, inner.callFile, scope.unit.name, scope.unit.compDir);
      line = inner.callLine;
    }
    const innermost = i === levels.length - 1;
    // The exact start of a line shows no address in frame 0 (gdb's frame_show_address).
    const showAddress = innermost ? !(row && row.address === linkPc && uf.lookupPc === uf.pc) : false;
    out.push({
      ...base,
      inline: i > 0,
      showAddress,
      // gdb names code assembled by gas (its DW_TAG_subprogram for `.type f,@function`) by the
      // ELF symbol, e.g. `clone3` rather than the DWARF `__clone3` alias.
      function: (asm ? m.symbolize(uf.lookupPc)?.symbol.name : undefined) ?? lv.name ?? m.symbolize(uf.lookupPc)?.symbol.name,
      // gdb gives entry values to a function's own frame, not to inlined levels.
      args: lv.params.map((p) => ({ name: p.name, obj: safeObject(fctx, p.die), entry: i === 0 ? safeEntry(fctx, p.die, lv.die) : undefined })),
      locals: localsOf(lv, fctx),
      file,
      line,
      compDir: scope.unit.compDir,
      module: m.path,
      moduleIsMain: m.isMain,
      frame: fctx,
    });
  }
  return out;
}

function localsOf(lv: ScopeLevel, f: FrameContext): NamedObject[] {
  const out: NamedObject[] = [];
  for (const b of lv.blocks) for (const v of gdbOrder(b)) out.push({ name: v.name, obj: safeObject(f, v.die) });
  return out;
}

function safeEntry(f: FrameContext, die: Die, levelDie: Die): TargetObject | undefined {
  try {
    return entryObject(f, die, levelDie);
  } catch {
    return undefined;
  }
}

function safeObject(f: FrameContext, die: Die): TargetObject {
  try {
    return variableObject(f, die);
  } catch (e) {
    return { kind: 'absent', reason: `error: ${(e as Error).message}` };
  }
}
