/**
 * Addresses of thread-local variables without stopping the target, the way libthread_db does it
 * (glibc nptl_db: td_ta_map_lwp2thr + td_thr_tlsbase), from memory reads alone:
 *
 *   1. glibc describes its private structures for debuggers in libc.so.6's .dynsym:
 *      `_thread_db_<struct>_<field>` = uint32[3] {bits, count, offset}. We read them from the
 *      file, so no debug info is needed.
 *   2. Threads: `_rtld_global._dl_stack_user` and `._dl_stack_used` are lists of struct pthread
 *      (linked through pthread.list); the one whose `tid` matches is the thread.
 *   3. Its DTV (`pthread.header.dtv`) holds each module's TLS block: dtv[modid].pointer.val,
 *      with modid from the module's link_map (`_r_debug.r_map` list, matched by l_addr = bias).
 *   4. address = block + the variable's offset in the block (VariableSymbol.tls.offset).
 *
 * Every step can fail (static binary, musl, a thread that has not touched a dlopen'ed module's
 * TLS yet): the result then says why, and the variable stays absent.
 */
import type { ProcessSymbols } from './index';
import type { Module } from './module';
import type { VariableSymbol } from './provider';

/** Reads target memory; undefined when any byte is unreadable. */
export type ReadMemory = (address: bigint, length: number) => Buffer | undefined;

export type TlsResult = { address: bigint } | { reason: string };

interface Desc {
  bits: number;
  count: number;
  offset: number;
}

const LIST_LIMIT = 100_000;

function findSymbol(syms: ProcessSymbols, name: string): { m: Module; value: bigint; size: number } | undefined {
  for (const m of syms.modules) {
    if (m.mayDefine(name) === false) continue;
    const s = m.symbolsNamed(name)[0];
    if (s) return { m, value: s.value, size: s.size };
  }
  return undefined;
}

const descCache = new WeakMap<ProcessSymbols, Map<string, Desc | undefined>>();

/** A `_thread_db_*` descriptor, read from the file that defines it (cached per process). */
function descriptor(syms: ProcessSymbols, name: string): Desc | undefined {
  let cache = descCache.get(syms);
  if (!cache) descCache.set(syms, (cache = new Map()));
  if (cache.has(name)) return cache.get(name);
  const d = readDescriptor(syms, name);
  cache.set(name, d);
  return d;
}

function readDescriptor(syms: ProcessSymbols, name: string): Desc | undefined {
  const hit = findSymbol(syms, `_thread_db_${name}`);
  if (!hit) return undefined;
  const elf = hit.m.elf;
  const sym = elf.symbols('dynsym').find((s) => s.name === `_thread_db_${name}`) ?? elf.symbols('symtab').find((s) => s.name === `_thread_db_${name}`);
  if (!sym) return undefined;
  const sec = elf.sections[sym.shndx];
  if (!sec) return undefined;
  const data = elf.sectionData(sec);
  const at = Number(sym.value - sec.addr);
  if (at < 0 || at + 12 > data.length) return undefined;
  const rd = (o: number) => (elf.littleEndian ? data.readUInt32LE(at + o) : data.readUInt32BE(at + o));
  return { bits: rd(0), count: rd(4), offset: rd(8) };
}

function ptr(read: ReadMemory, addr: bigint, size: number, le: boolean): bigint | undefined {
  const b = read(addr, size);
  if (!b) return undefined;
  if (size === 8) return le ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0);
  return BigInt(le ? b.readUInt32LE(0) : b.readUInt32BE(0));
}

/** struct pthread address of thread `tid`, found in glibc's thread lists. */
export function findThreadDescriptor(syms: ProcessSymbols, read: ReadMemory, tid: number): { pthread: bigint } | { reason: string } {
  const rtld = findSymbol(syms, '_rtld_global');
  if (!rtld) return { reason: 'no _rtld_global (not a dynamically linked glibc program)' };
  const pointer = syms.pointerSize;
  const le = rtld.m.elf.littleEndian;
  const next = descriptor(syms, 'list_t_next');
  const plist = descriptor(syms, 'pthread_list');
  const ptid = descriptor(syms, 'pthread_tid');
  if (!next || !plist || !ptid) return { reason: "glibc's _thread_db descriptors are missing from libc.so.6" };
  const base = rtld.value + rtld.m.bias;
  for (const listName of ['rtld_global__dl_stack_user', 'rtld_global__dl_stack_used']) {
    const head = descriptor(syms, listName);
    if (!head) continue;
    const headAddr = base + BigInt(head.offset);
    let cur = ptr(read, headAddr + BigInt(next.offset), pointer, le);
    for (let i = 0; cur !== undefined && cur !== headAddr && cur !== 0n && i < LIST_LIMIT; i++) {
      const pthread = cur - BigInt(plist.offset);
      const t = read(pthread + BigInt(ptid.offset), 4);
      if (t && (le ? t.readInt32LE(0) : t.readInt32BE(0)) === tid) return { pthread };
      cur = ptr(read, cur + BigInt(next.offset), pointer, le);
    }
  }
  return { reason: `thread ${tid} is not in glibc's thread lists` };
}

/** The TLS module id of a module, from the dynamic linker's link_map list. */
function moduleId(syms: ProcessSymbols, read: ReadMemory, m: Module): number | undefined {
  const rdebug = findSymbol(syms, '_r_debug');
  const modid = descriptor(syms, 'link_map_l_tls_modid');
  if (!rdebug || !modid) return undefined;
  const pointer = syms.pointerSize;
  const le = rdebug.m.elf.littleEndian;
  // struct r_debug { int r_version; struct link_map *r_map; ... }: r_map after the int, aligned.
  let lm = ptr(read, rdebug.value + rdebug.m.bias + BigInt(pointer), pointer, le);
  for (let i = 0; lm !== undefined && lm !== 0n && i < LIST_LIMIT; i++) {
    // struct link_map { ElfW(Addr) l_addr; char *l_name; ElfW(Dyn) *l_ld; struct link_map *l_next, *l_prev; }
    const lAddr = ptr(read, lm, pointer, le);
    if (lAddr === m.bias) {
      const b = read(lm + BigInt(modid.offset), modid.bits / 8);
      if (!b) return undefined;
      return Number(modid.bits === 64 ? (le ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0)) : BigInt(le ? b.readUInt32LE(0) : b.readUInt32BE(0)));
    }
    lm = ptr(read, lm + BigInt(3 * pointer), pointer, le);
  }
  return undefined;
}

/**
 * Address of a thread-local variable in thread `tid` (default: the main thread, as gdb selects
 * it after attaching). Reads a few words of the target through `read`; never stops it.
 */
export function threadLocalAddress(syms: ProcessSymbols, v: VariableSymbol, read: ReadMemory, tid?: number): TlsResult {
  if (!v.tls) return { reason: 'not a thread-local variable' };
  const m = syms.modules.find((x) => x.path === v.tls!.module);
  if (!m) return { reason: `module ${v.tls.module} is not loaded` };
  const th = findThreadDescriptor(syms, read, tid ?? pidOf(syms));
  if ('reason' in th) return th;
  const dtvp = descriptor(syms, 'pthread_dtvp');
  const dtvEntry = descriptor(syms, 'dtv_dtv');
  const val = descriptor(syms, 'dtv_t_pointer_val');
  if (!dtvp || !dtvEntry || !val) return { reason: "glibc's _thread_db DTV descriptors are missing" };
  const id = moduleId(syms, read, m);
  if (id === undefined) return { reason: `no TLS module id for ${m.path} in the link map` };
  const pointer = syms.pointerSize;
  const le = m.elf.littleEndian;
  const dtv = ptr(read, th.pthread + BigInt(dtvp.offset), pointer, le);
  if (dtv === undefined || dtv === 0n) return { reason: 'unreadable DTV' };
  const entrySize = BigInt(dtvEntry.bits / 8);
  const block = ptr(read, dtv + BigInt(id) * entrySize + BigInt(val.offset), pointer, le);
  if (block === undefined || block === 0n || block === (1n << BigInt(pointer * 8)) - 1n) {
    return { reason: "this thread has not allocated the module's TLS block yet" };
  }
  return { address: block + v.tls.offset };
}

function pidOf(syms: ProcessSymbols): number {
  return syms.pid ?? 0;
}
