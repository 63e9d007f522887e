/**
 * An AttachedProcess for the DAP session, asked of the engine: openProgramParts wires the Target
 * (pidfd: identity, threads, memory map, exit/exec) and the Program (memory backend + symbols +
 * C language). Neither stops the target.
 *
 * Exit and exec are decided by the Target (engine/target.ts state(): one rule for the watch
 * engine, the memory readers and this session); here they only become the messages the client
 * sees. An exec ENDS the session: the symbols loaded at attach describe a program that is no
 * longer there, and silently showing the new program under the old configuration (allowWrites,
 * watchpoints on old addresses) would be worse than asking for a new attach. After the parent
 * reaps an exited process its status is gone for anyone but the parent: "exit code unknown".
 */
import { openProgramParts } from '../engine/openParts';
import { Program } from '../engine/program';
import { stateName } from '../proc/threads';
import type { AttachConfig } from './attachArgs';
import type { AttachedProcess, GoneInfo, MappingInfo, OpenProgress, ThreadInfo } from './attached';

export async function openAttached(cfg: AttachConfig, progress: OpenProgress): Promise<AttachedProcess> {
  const parts = await openProgramParts(cfg.pid, {
    backend: cfg.backend === 'auto' ? undefined : cfg.backend,
    allowWrites: cfg.allowWrites,
    debugDirs: cfg.debugSearchPaths,
    progress: (message) => progress.report(message),
  });
  const { target, symbols } = parts;
  const program = new Program(parts);
  try {
    const name = target.name();
    const exe = target.exe()?.replace(/ \(deleted\)$/, '');
    const prog = program;
    let gone: GoneInfo | undefined;

    const checkGone = (): GoneInfo | undefined => {
      if (gone) return gone;
      const st = target.state();
      if (st.kind === 'exited') {
        gone =
          st.exitCode === undefined
            ? { reason: 'exited', detail: `pid ${cfg.pid} (${name}) exited; exit code unknown (only its parent can read it once reaped)` }
            : st.signal
              ? { reason: 'exited', exitCode: st.exitCode, signal: st.signal, detail: `pid ${cfg.pid} (${name}) was killed by signal ${st.signal}` }
              : { reason: 'exited', exitCode: st.exitCode, detail: `pid ${cfg.pid} (${name}) exited with code ${st.exitCode}` };
      } else if (st.kind === 'exec') {
        gone = {
          reason: 'exec',
          detail: `pid ${cfg.pid} executed a new program (${st.exe ?? 'unknown'}); the symbols of ${exe ?? name} no longer apply, so this session ends. The process keeps running: attach again to see the new program`,
        };
      }
      return gone;
    };

    return {
      pid: cfg.pid,
      name,
      exe,
      backend: prog.memory.kind,
      backendReasons: parts.backendReasons,
      warnings: symbols.warnings,
      program: prog,
      modules: symbols.modules.map((m) => m.path),
      threads: (): ThreadInfo[] => target.threads().map((t) => ({ tid: t.tid, name: t.name, state: `${t.state} (${stateName(t.state)})` })),
      mappings: (): MappingInfo[] =>
        target.maps().map((m) => ({ start: m.start, end: m.end, perms: m.perms, offset: m.offset, path: m.path === '' ? undefined : m.path })),
      checkGone,
      close: () => prog.close(),
    };
  } catch (e) {
    program.close();
    throw e;
  }
}
