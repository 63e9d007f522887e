/**
 * The option layer every CLI command shares: `--pid`, `--backend`, usage errors (exit 2), a
 * closed stdout (`| head`: EPIPE is not an error) and opening the Program through the engine.
 *
 *   const args = withUsage(CLI, () => {
 *     const p = parseArgs({ args: argv, strict: true, options: { ...TARGET_OPTIONS, json: { type: 'boolean' } } });
 *     return { ...p, ...targetArgs(p.values) };
 *   });
 *   if (typeof args === 'number') return args; // usage error, already printed
 */
import { isPidscopeError, PidscopeError } from '../errors';
import { Program, type ProgramOptions } from '../engine/program';
import type { BackendKind } from '../memory/reader';
import { parseBackend } from '../memory/select';

/** `--pid N` and `--backend B`, for parseArgs's `options`. */
export const TARGET_OPTIONS = {
  pid: { type: 'string', short: 'p' },
  backend: { type: 'string' },
} as const;

export interface CliSpec {
  name: string;
  /** Printed after a usage error; without it the message points at `pidscope NAME --help`. */
  usage?: string;
}

/** Prints a usage error for the command and returns its exit status, 2. */
export function usageError(spec: CliSpec, message: string): number {
  if (spec.usage !== undefined) process.stderr.write(`pidscope ${spec.name}: ${message}\n\n${spec.usage}`);
  else process.stderr.write(`pidscope ${spec.name}: ${message.replace(/\.?$/, '')}. Run \`pidscope ${spec.name} --help\` for usage.\n`);
  return 2;
}

/**
 * Runs `parse` (parseArgs and the command's own checks); a parseArgs error or a USAGE
 * PidscopeError becomes a usage error (printed; the result is the exit status 2).
 */
export function withUsage<T>(spec: CliSpec, parse: () => T): T | number {
  try {
    return parse();
  } catch (e) {
    if (isPidscopeError(e)) {
      if (e.code === 'USAGE') return usageError(spec, e.message);
      throw e;
    }
    if (String((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS')) return usageError(spec, (e as Error).message);
    throw e;
  }
}

/** A process id: decimal, 1 … 2^22 (pid_max's ceiling). */
export function parsePid(text: string | undefined): number {
  if (text === undefined) {
    throw new PidscopeError('USAGE', 'no process given', 'Pass --pid N (find it with `pgrep NAME`)', 'user');
  }
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) <= 0 || Number(text) > 0x400000) {
    throw new PidscopeError('USAGE', `'${text}' is not a valid pid`, 'Pass a positive process id, e.g. --pid 1234', 'user');
  }
  return Number(text);
}

/** A numeric option (`--interval 100`): `fallback` when absent; a usage error below `min` or not a number. */
export function numberOption(name: string, text: string | undefined, fallback: number, min: number, fix = ''): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new PidscopeError('USAGE', `--${name} must be a number >= ${min} (got '${text}')`, fix, 'user');
  return n;
}

/** The checked values of TARGET_OPTIONS. Throws PidscopeError USAGE. */
export function targetArgs(values: { pid?: string; backend?: string }): { pid: number; backend: 'auto' | BackendKind } {
  return { pid: parsePid(values.pid), backend: parseBackend(values.backend ?? 'auto') };
}

/** `pidscope … | head` closes stdout early: exit quietly with `status()` instead of failing. */
export function exitOnEpipe(status: () => number = () => 0): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(status());
    throw e;
  });
}

/** The Program for the command's target, opened by the engine. */
export function openProgram(pid: number, backend: 'auto' | BackendKind, opts: Omit<ProgramOptions, 'backend'> = {}): Promise<Program> {
  return Program.open(pid, { ...opts, backend: backend === 'auto' ? undefined : backend });
}

/** `--no-index-cache`, accepted by every command (main.ts strips it before dispatch). */
export { disableIndexCache } from '../symbols/indexCache/store';
