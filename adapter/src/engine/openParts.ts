/**
 * Wires the parts of a Program for a live pid: a pidfd Target (never stops the process), the best
 * (or requested) memory backend, and the symbols of every mapped module. Kept apart from
 * program.ts so Program itself stays testable with hand-built parts.
 */
import { processGoneError } from '../linux/errno';
import { openMemory } from '../memory/select';
import { loadSymbols, type ProcessSymbols } from '../symbols/index';
import type { ProgramOptions, ProgramParts } from './program';
import { Target } from './target';

export interface OpenedParts extends ProgramParts {
  target: Target;
  symbols: ProcessSymbols;
  /** Why this backend (one line per candidate), for `info` and --verbose. */
  backendReasons: string[];
}

export async function openProgramParts(pid: number, opts: ProgramOptions): Promise<OpenedParts> {
  const target = Target.attach(pid);
  try {
    target.assertUserProcess();
    const name = opts.progress ? target.name() : '';
    opts.progress?.('choosing a memory backend');
    const { reader, reasons } = openMemory(target, { backend: opts.backend ?? 'auto', allowWrites: opts.allowWrites === true });
    try {
      // Memory for the symbols engine too: thread-locals get the main thread's address (gdb's
      // default thread) through glibc's thread lists, no ptrace.
      const readMemory = (address: bigint, length: number): Buffer | undefined => {
        const r = reader.read(address, length);
        return r.unreadable.length ? undefined : r.data;
      };
      opts.progress?.(`reading the symbol tables of ${name}`);
      // The regions come from the Target, whose /proc reads are checked against the pidfd (a
      // recycled pid must not give another process's modules).
      const symbols = await loadSymbols(pid, { debugDirs: opts.debugDirs, readMemory, regions: target.maps() });
      return { pid, memory: reader, symbols, target, backendReasons: reasons, onClose: () => target.close() };
    } catch (e) {
      reader.close();
      // A process that exits while its modules are read makes the symbol loader fail on whatever
      // it met first (no ELF mapped, a vanished file): the Target says what really happened.
      if (!target.isAlive()) throw processGoneError(pid, 'read the symbols');
      throw e;
    }
  } catch (e) {
    target.close();
    throw e;
  }
}
