import { notYet, type ProgramOptions, type ProgramParts } from './program';

/** Wires Target + memory backend + symbols for a pid. Kept apart so Program stays testable. */
export async function openProgramParts(_pid: number, _opts: ProgramOptions): Promise<ProgramParts> {
  return notYet('Program.open (waiting for memory/select.ts and symbols loadSymbols)');
}
