/**
 * Addresses of fixture symbols from `nm` (binutils), independent of pidscope's own ELF code, so
 * tests can check pidscope against it. Runtime address = nm address + load bias (PIE/ASLR).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';

export interface NmSymbol {
  name: string;
  address: bigint;
  /** nm's type letter: D/d data, B/b bss, R/r rodata, T/t text, ... */
  type: string;
  /** From `nm -S`; undefined when nm prints no size. */
  size?: number;
}

const nmCache = new Map<string, NmSymbol[]>();

/**
 * Every defined symbol of an ELF file. For a binary without .symtab (the `split` variant) it
 * falls back to the `.debug` file beside it, then to `.dynsym` (`nm -D`).
 */
export function nmSymbols(binary: string): NmSymbol[] {
  const cached = nmCache.get(binary);
  if (cached) return cached;
  let syms = runNm(binary, []);
  if (syms.length === 0 && existsSync(`${binary}.debug`)) syms = runNm(`${binary}.debug`, []);
  if (syms.length === 0) syms = runNm(binary, ['-D']);
  nmCache.set(binary, syms);
  return syms;
}

function runNm(file: string, extra: string[]): NmSymbol[] {
  let out: string;
  try {
    out = execFileSync('nm', ['-S', '--defined-only', ...extra, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '');
    if (/no symbols/.test(stderr)) return [];
    throw new Error(`nm ${file} failed: ${stderr || (e as Error).message}`);
  }
  const syms: NmSymbol[] = [];
  for (const line of out.split('\n')) {
    // "addr size type name" or "addr type name"
    const m = /^([0-9a-f]+)\s+(?:([0-9a-f]+)\s+)?(\S)\s+(\S+)$/.exec(line.trim());
    if (!m) continue;
    syms.push({ name: m[4], address: BigInt('0x' + m[1]), type: m[3], size: m[2] ? parseInt(m[2], 16) : undefined });
  }
  return syms;
}

/**
 * All link-time addresses of `symbol` (file statics with the same name in two units give two).
 * gcc renames function statics to e.g. `counter.0`; pass the exact nm name for those.
 */
export function nmAddresses(binary: string, symbol: string): bigint[] {
  return nmSymbols(binary)
    .filter((s) => s.name === symbol)
    .map((s) => s.address);
}

/** The link-time address of a unique symbol; throws if absent or ambiguous. */
export function nmAddress(binary: string, symbol: string): bigint {
  const all = nmSymbols(binary).filter((s) => s.name === symbol);
  if (all.length === 0) throw new Error(`symbol '${symbol}' not found by nm in ${binary} (stripped binary?)`);
  if (all.length > 1) throw new Error(`symbol '${symbol}' is defined ${all.length} times in ${binary}; use nmAddresses()`);
  return all[0].address;
}

/** The nm entry (address, type, size) of a unique symbol. */
export function nmSymbol(binary: string, symbol: string): NmSymbol {
  const address = nmAddress(binary, symbol);
  return nmSymbols(binary).find((s) => s.name === symbol && s.address === address)!;
}

export interface ElfLoadInfo {
  /** ET_DYN (PIE or shared object) vs ET_EXEC. */
  pie: boolean;
  /** p_vaddr and p_offset of the first PT_LOAD segment. */
  firstLoadVaddr: bigint;
  firstLoadOffset: bigint;
}

/** Reads just enough of a 64-bit little-endian ELF file to compute a load bias. */
export function elfLoadInfo(binary: string): ElfLoadInfo {
  const buf = readFileSync(binary);
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) {
    throw new Error(`${binary} is not a 64-bit little-endian ELF file`);
  }
  const type = buf.readUInt16LE(16);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (buf.readUInt32LE(ph) === 1 /* PT_LOAD */) {
      return { pie: type === 3, firstLoadOffset: buf.readBigUInt64LE(ph + 8), firstLoadVaddr: buf.readBigUInt64LE(ph + 16) };
    }
  }
  throw new Error(`${binary} has no PT_LOAD segment`);
}

export interface MapsEntry {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  path: string;
}

/** /proc/PID/maps, parsed (test-side, independent of pidscope's parser). */
export function readMaps(pid: number): MapsEntry[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+\d+\s*(.*)$/.exec(line);
      if (!m) throw new Error(`unparsable maps line: ${line}`);
      return { start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), perms: m[3], offset: BigInt('0x' + m[4]), path: m[5] };
    });
}

const PAGE_MASK = ~0xfffn;

/**
 * The executable of a live process as a readable path: the file it was started from, or
 * /proc/PID/exe when that file was replaced since (a rebuilt fixture shows as "(deleted)").
 */
export function exePath(pid: number): string {
  const target = readlinkSync(`/proc/${pid}/exe`);
  return target.endsWith(' (deleted)') ? `/proc/${pid}/exe` : target;
}

/**
 * Load bias of the main executable of `pid`: runtime address = link-time address + bias.
 * 0 for non-PIE executables.
 */
export function loadBias(pid: number, binary = exePath(pid)): bigint {
  const info = elfLoadInfo(binary);
  if (!info.pie) return 0n;
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const wantOffset = info.firstLoadOffset & PAGE_MASK;
  const entry = readMaps(pid).find((e) => e.path === exe && e.offset === wantOffset);
  if (!entry) throw new Error(`no mapping of ${exe} at file offset 0x${wantOffset.toString(16)} in /proc/${pid}/maps`);
  return entry.start - (info.firstLoadVaddr & PAGE_MASK);
}

/**
 * Runtime address of a global in the main executable of a live process. `binary` defaults to
 * /proc/PID/exe; pass it when symbols live elsewhere. Not for thread-locals (nm gives the TLS
 * offset, not an address).
 */
export function symbolAddress(pid: number, symbol: string, binary = exePath(pid)): bigint {
  return nmAddress(binary, symbol) + loadBias(pid, binary);
}
