/**
 * What the session holds once attached: the engine's Program plus the few facts about the
 * target process the views show (threads, memory map, exit). The session sees only this
 * interface; `open.ts` wires it from the engine.
 */
import type { Program } from '../engine/program';
import type { BackendKind } from '../memory/reader';
import type { AttachConfig } from './attachArgs';

export interface ThreadInfo {
  tid: number;
  /** /proc/PID/task/TID/comm */
  name: string;
  /** Scheduler state letter and word, e.g. 'S (sleeping)'. */
  state?: string;
}

export interface MappingInfo {
  start: bigint;
  end: bigint;
  /** 'r-xp' */
  perms: string;
  offset?: bigint;
  /** File path, '[heap]', '[stack]', or undefined for anonymous memory. */
  path?: string;
}

export interface GoneInfo {
  /** 'exited': the process is gone; 'exec': it runs a new program the symbols no longer match. */
  reason: 'exited' | 'exec';
  /** Exit status when knowable (see open.ts for when that is). */
  exitCode?: number;
  signal?: number;
  detail: string;
}

export interface AttachedProcess {
  readonly pid: number;
  /** comm of the process. */
  readonly name: string;
  /** Path of the main executable. */
  readonly exe?: string;
  readonly backend: BackendKind;
  /** Why this backend was chosen (and why better ones were not), one line each. */
  readonly backendReasons: string[];
  /** Symbol-loading notes (missing debug files…): shown once in the Debug Console. */
  readonly warnings: string[];
  readonly program: Program;
  /** Paths of the modules (ELF files) whose symbols were loaded, main program first. */
  readonly modules: string[];
  threads(): ThreadInfo[];
  mappings(): MappingInfo[];
  /** Undefined while the target still runs the program we attached to. Cheap: called every tick. */
  checkGone(): GoneInfo | undefined;
  close(): void;
}

export interface OpenProgress {
  /** 0..100 when known. */
  report(message: string, percentage?: number): void;
}

export type Opener = (cfg: AttachConfig, progress: OpenProgress) => Promise<AttachedProcess>;
