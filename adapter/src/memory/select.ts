/**
 * Choosing a memory backend. Candidates are listed fastest first, each with a probe that either
 * opens a working reader or says, in one line, why it cannot. `auto` takes the first that works;
 * a named backend is used or its failure is reported (never silently replaced).
 *
 * Adding a backend (pidfd-mem): export a `BackendCandidate` from its module and put it in
 * CANDIDATES at its rank. Nothing else changes for callers.
 */
import { PidscopeError, isPidscopeError } from '../errors';
import { EACCES, ENOSYS, EPERM, ESRCH, errnoError, errnoName, permissionError, processGoneError } from '../linux/errno';
import type { TargetHandle } from './handle';
import type { BackendKind, MemoryReader } from './reader';
import { pidfdMemCandidate } from './pidfdMem';
import { ProcMemReader } from './procMem';
import { probeVmReadv, VmReadvReader, type VerifyPolicy } from './vmReadv';

export interface BackendOptions {
  allowWrites: boolean;
  /** vm-readv only: when to re-check the pidfd (see vmReadv.ts). */
  verify?: VerifyPolicy;
}

export type ProbeResult = { ok: true; reader: MemoryReader } | { ok: false; reason: string; error?: PidscopeError };

export interface BackendCandidate {
  kind: BackendKind;
  /** Why this backend ranks where it does, for `pidscope info`. */
  strength: string;
  probe(target: TargetHandle, opts: BackendOptions): ProbeResult;
}

export const vmReadvCandidate: BackendCandidate = {
  kind: 'vm-readv',
  strength: 'one system call per batch of up to 1024 scattered ranges, no copy through the kernel page cache',
  probe(target, opts) {
    const errno = probeVmReadv(target.pid);
    if (errno === 0) {
      // The probe named a pid; make sure it was ours.
      if (!target.isAlive()) throw processGoneError(target.pid, 'probe process_vm_readv');
      return { ok: true, reader: new VmReadvReader(target, { allowWrites: opts.allowWrites, verify: opts.verify }) };
    }
    if (errno === ESRCH) {
      target.isAlive();
      throw processGoneError(target.pid, 'probe process_vm_readv');
    }
    if (errno === EPERM || errno === EACCES) {
      const error = permissionError(target.pid, 'read the memory (process_vm_readv)');
      return { ok: false, reason: `process_vm_readv is not permitted (${errnoName(errno)})`, error };
    }
    if (errno === ENOSYS) {
      return { ok: false, reason: 'process_vm_readv is not available (ENOSYS: kernel without CONFIG_CROSS_MEMORY_ATTACH, or blocked by a seccomp filter)' };
    }
    return { ok: false, reason: `process_vm_readv failed with ${errnoName(errno)}`, error: errnoError(errno, target.pid, 'process_vm_readv') };
  },
};

export const procMemCandidate: BackendCandidate = {
  kind: 'proc-mem',
  strength: 'works wherever /proc is mounted; one pread per range, bound to the address space it was opened on',
  probe(target, opts) {
    try {
      return { ok: true, reader: new ProcMemReader(target, { allowWrites: opts.allowWrites }) };
    } catch (e) {
      if (isPidscopeError(e) && e.code === 'ESRCH') throw e;
      if (isPidscopeError(e)) return { ok: false, reason: `cannot open /proc/${target.pid}/mem (${e.code})`, error: e };
      throw e;
    }
  },
};

/** Fastest first. */
export const CANDIDATES: BackendCandidate[] = [pidfdMemCandidate, vmReadvCandidate, procMemCandidate];

export const BACKEND_KINDS: readonly BackendKind[] = ['pidfd-mem', 'vm-readv', 'proc-mem'];

export interface OpenMemoryOptions {
  backend?: 'auto' | BackendKind;
  allowWrites?: boolean;
  /** Backends to skip in `auto` (also from PIDSCOPE_DISABLE_BACKENDS=vm-readv,…), e.g. to test fallback. */
  exclude?: readonly BackendKind[];
  /** Probe the slower backends too, so `info` can say which ones would also work. */
  probeAll?: boolean;
  verify?: VerifyPolicy;
  /** Override the candidate list (tests). */
  candidates?: readonly BackendCandidate[];
}

export interface OpenedMemory {
  reader: MemoryReader;
  chosen: BackendKind;
  /** One line per backend: `<kind>: chosen|not chosen|unavailable: why`. */
  reasons: string[];
}

/** Kernel threads have no user memory; Target knows, a bare TargetHandle may not. */
interface MaybeUserProcess {
  assertUserProcess?(): void;
}

export function parseBackend(name: string): 'auto' | BackendKind {
  if (name === 'auto' || (BACKEND_KINDS as readonly string[]).includes(name)) return name as 'auto' | BackendKind;
  throw new PidscopeError('USAGE', `unknown backend '${name}'`, `Use one of: auto, ${BACKEND_KINDS.join(', ')}`, 'user');
}

function excludedByEnv(): BackendKind[] {
  const v = process.env.PIDSCOPE_DISABLE_BACKENDS;
  if (!v) return [];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is BackendKind => (BACKEND_KINDS as readonly string[]).includes(s));
}

/**
 * In `auto`, one backend's unexpected failure must not stop the others from being tried; only
 * "the process is gone" ends the search (every backend would say the same).
 */
function safeProbe(c: BackendCandidate, target: TargetHandle, opts: BackendOptions): ProbeResult {
  try {
    return c.probe(target, opts);
  } catch (e) {
    if (isPidscopeError(e) && (e.code === 'ESRCH' || e.code === 'KERNEL_THREAD')) throw e;
    const error = isPidscopeError(e) ? e : undefined;
    return { ok: false, reason: `its probe failed: ${e instanceof Error ? e.message : String(e)}`, error };
  }
}

export function openMemory(target: TargetHandle & MaybeUserProcess, opts: OpenMemoryOptions = {}): OpenedMemory {
  target.assertUserProcess?.();
  const backend = opts.backend ?? 'auto';
  const candidates = opts.candidates ?? CANDIDATES;
  const bopts: BackendOptions = { allowWrites: opts.allowWrites === true, verify: opts.verify };
  const reasons: string[] = [];

  if (backend !== 'auto') {
    const c = candidates.find((x) => x.kind === backend);
    if (!c) throw new PidscopeError('USAGE', `unknown backend '${backend}'`, `Use one of: auto, ${BACKEND_KINDS.join(', ')}`, 'user');
    const r = c.probe(target, bopts);
    if (r.ok) {
      for (const other of candidates) {
        if (other.kind !== backend) reasons.push(`${other.kind}: not tried (--backend ${backend} was requested)`);
      }
      reasons.unshift(`${backend}: chosen (requested; ${c.strength})`);
      return { reader: r.reader, chosen: backend, reasons };
    }
    throw (
      r.error ??
      new PidscopeError('BACKEND_UNAVAILABLE', `memory backend ${backend} cannot be used: ${r.reason}`, 'Use --backend auto to pick one that works', 'user')
    );
  }

  const excluded = new Set<BackendKind>([...(opts.exclude ?? []), ...excludedByEnv()]);
  let chosen: { kind: BackendKind; reader: MemoryReader } | undefined;
  const failures: { kind: BackendKind; reason: string; error?: PidscopeError }[] = [];
  for (const c of candidates) {
    if (excluded.has(c.kind)) {
      reasons.push(`${c.kind}: skipped (disabled by ${opts.exclude?.includes(c.kind) ? 'the caller' : 'PIDSCOPE_DISABLE_BACKENDS'})`);
      continue;
    }
    if (chosen && !opts.probeAll) {
      reasons.push(`${c.kind}: not tried (${chosen.kind} works and is faster)`);
      continue;
    }
    const r = safeProbe(c, target, bopts);
    if (r.ok) {
      if (chosen) {
        r.reader.close();
        reasons.push(`${c.kind}: works too, not chosen (${chosen.kind} is faster)`);
      } else {
        chosen = { kind: c.kind, reader: r.reader };
        reasons.push(`${c.kind}: chosen (fastest that works: ${c.strength})`);
      }
    } else {
      failures.push({ kind: c.kind, reason: r.reason, error: r.error });
      reasons.push(`${c.kind}: unavailable (${r.reason})`);
    }
  }
  if (chosen) return { reader: chosen.reader, chosen: chosen.kind, reasons };

  // Nothing works. A permission failure is the one the user can act on; report it as such.
  const perm = failures.find((f) => f.error?.code === 'EPERM');
  if (perm?.error) throw perm.error;
  throw new PidscopeError(
    'NO_BACKEND',
    `no memory backend can read process ${target.pid}: ${failures.map((f) => `${f.kind}: ${f.reason}`).join('; ') || 'all were disabled'}`,
    'Check that /proc is mounted and that pidscope may read the process (same user or CAP_SYS_PTRACE)',
    'user',
  );
}
