/**
 * Wires an AttachedProcess from the engine: a Target (pidfd: identity, threads, memory map,
 * exit) and the Program (memory backend + symbols + C language). Neither stops the target.
 *
 * Exit: the pidfd turns readable when the process exits. Its exit status is read from
 * /proc/PID/stat (field 52, exit_code) while the process is still a zombie, i.e. before its
 * parent reaps it; the start time (field 22) proves that the zombie is still our process. After
 * the reap the status is gone for anyone but the parent, and pidscope says "unknown".
 *
 * Exec: a process that execs keeps its pid but gets a new address space. pidscope notices it
 * by the executable link or the start of its code or stack changing (stat fields 26 and 28: a
 * new mm) and ENDS the session with a message: the symbols loaded at attach describe a program
 * that is no longer there, and silently showing the new program under the old configuration
 * (allowWrites, watchpoints on old addresses) would be worse than asking for a new attach.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { Program } from '../engine/program';
import { Target } from '../engine/target';
import { stateName } from '../engine/threads';
import { openMemory } from '../memory/select';
import type { MemoryReader } from '../memory/reader';
import { loadSymbols } from '../symbols/index';
import type { AttachConfig } from './attachArgs';
import type { AttachedProcess, GoneInfo, MappingInfo, OpenProgress, ThreadInfo } from './attached';

interface StatFields {
  state: string;
  startTime: string;
  startCode: string;
  startStack: string;
  exitCode?: number;
}

/** Fields after "(comm) ": index 0 is field 3 (state). */
function readStatFields(pid: number): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
  const field = (n: number) => rest[n - 3];
  const out: StatFields = { state: field(3), startTime: field(22), startCode: field(26), startStack: field(28) };
  const exit = field(52);
  if (exit !== undefined && /^\d+$/.test(exit)) out.exitCode = Number(exit);
  return out;
}

/** The executable's path; " (deleted)" is dropped, so rebuilding the binary on disk is not an exec. */
function readExeLink(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

export async function openAttached(cfg: AttachConfig, progress: OpenProgress): Promise<AttachedProcess> {
  const target = Target.attach(cfg.pid);
  let program: Program | undefined;
  let memory: MemoryReader | undefined;
  try {
    target.assertUserProcess();
    const name = target.name();
    const exe = target.exe()?.replace(/ \(deleted\)$/, '');
    const identity = readStatFields(cfg.pid);
    progress.report('choosing a memory backend');
    const opened = openMemory(target, { backend: cfg.backend, allowWrites: cfg.allowWrites });
    memory = opened.reader;
    progress.report(`reading the symbol tables of ${name}`);
    // Memory for the symbols engine too: thread-locals get the main thread's address (gdb's
    // default thread) through glibc's thread lists, no ptrace (as engine/openParts.ts does).
    const reader = memory;
    const readMemory = (address: bigint, length: number): Buffer | undefined => {
      const r = reader.read(address, length);
      return r.unreadable.length ? undefined : r.data;
    };
    const symbols = await loadSymbols(cfg.pid, { debugDirs: cfg.debugSearchPaths, readMemory });
    program = new Program({ pid: cfg.pid, memory, symbols });
    const prog = program;
    let gone: GoneInfo | undefined;

    const checkGone = (): GoneInfo | undefined => {
      if (gone) return gone;
      if (!target.isAlive()) {
        const st = readStatFields(cfg.pid);
        const ours = st && identity && st.startTime === identity.startTime && st.state === 'Z';
        const code = ours ? st.exitCode : undefined;
        if (code !== undefined) {
          const sig = code & 0x7f;
          gone = sig
            ? { reason: 'exited', exitCode: 128 + sig, signal: sig, detail: `pid ${cfg.pid} (${name}) was killed by signal ${sig}` }
            : { reason: 'exited', exitCode: (code >> 8) & 0xff, detail: `pid ${cfg.pid} (${name}) exited with code ${(code >> 8) & 0xff}` };
        } else {
          gone = { reason: 'exited', detail: `pid ${cfg.pid} (${name}) exited; exit code unknown (only its parent can read it once reaped)` };
        }
        return gone;
      }
      const st = readStatFields(cfg.pid);
      const nowExe = readExeLink(cfg.pid);
      if (st && identity && target.isAlive()) {
        const execed = (exe !== undefined && nowExe !== undefined && nowExe !== exe) || st.startCode !== identity.startCode || st.startStack !== identity.startStack;
        if (execed) {
          gone = {
            reason: 'exec',
            detail: `pid ${cfg.pid} executed a new program (${nowExe ?? 'unknown'}); the symbols of ${exe ?? name} no longer apply, so this session ends. The process keeps running: attach again to see the new program`,
          };
        }
      }
      return gone;
    };

    return {
      pid: cfg.pid,
      name,
      exe,
      backend: prog.memory.kind,
      backendReasons: opened.reasons,
      warnings: symbols.warnings,
      program: prog,
      modules: symbols.modules.map((m) => m.path),
      threads: (): ThreadInfo[] => target.threads().map((t) => ({ tid: t.tid, name: t.name, state: `${t.state} (${stateName(t.state)})` })),
      mappings: (): MappingInfo[] =>
        target.maps().map((m) => ({ start: m.start, end: m.end, perms: m.perms, offset: m.offset, path: m.path === '' ? undefined : m.path })),
      checkGone,
      close: () => {
        try {
          prog.close();
        } finally {
          target.close();
        }
      },
    };
  } catch (e) {
    try {
      if (program) program.close();
      else memory?.close();
    } finally {
      target.close();
    }
    throw e;
  }
}
