/**
 * Watchpoints that never stop the target. The engine (engine.ts) turns hardware breakpoint
 * samples (hardware.ts) and polled snapshots (polling.ts) into typed events; the front ends
 * (cli/watch.ts, dap/watchpoints.ts) turn those into lines and DAP events.
 */
import type { Type } from '../symbols/types';

/** hw: CPU debug registers through perf (writer known); poll: compare snapshots; auto: hw, else poll. */
export type WatchMode = 'hw' | 'poll' | 'auto';
/** x86 debug registers watch writes, or reads and writes together; never reads alone. */
export type WatchAccess = 'write' | 'readwrite' | 'read';

/** What to watch: an object in the target's memory. */
export interface WatchTarget {
  /** The expression the user typed (shown in every line). */
  expression: string;
  address: bigint;
  size: number;
  /** Known when the expression came from DWARF; raw addresses have none (bytes shown in hex). */
  type?: Type;
}

export interface WatchSpec extends WatchTarget {
  mode?: WatchMode;
  access?: WatchAccess;
  /** C expression over `value`, `old` and globals; a change is reported only when it is true. */
  condition?: string;
  /** VS Code style: `10` (from the 10th on), `>= 10`, `> 3`, `== 5`, `< 4`, `% 5`. */
  hitCondition?: string;
  /** Report this text (with `{expr}` interpolated) instead of the standard line. */
  logMessage?: string;
}

/** Where a write came from (hardware watchpoints only). */
export interface Writer {
  /** Instruction address after the write (x86 data breakpoints trap after the instruction). */
  ip: bigint;
  tid: number;
  /** Thread name (/proc/PID/task/TID/comm), when it could be read. */
  threadName?: string;
  function?: string;
  file?: string;
  line?: number;
}

/**
 * One observed change (or access) of a watched object. In hw mode one hit is one access; when
 * several accesses land between two reads of the memory, the earlier ones carry no `value`
 * (overwritten before anyone could read it: `valueSeen` false) and only the last has the value.
 */
export interface WatchHit {
  watchId: number;
  expression: string;
  /** 1-based number of this access/change for the watch (hit count), before any filtering. */
  seq: number;
  /** Wall-clock time (ms since the epoch) when pidscope saw it. */
  time: number;
  /** perf clock of the access in ns (hw mode). */
  perfTime?: bigint;
  source: 'hw' | 'poll';
  writer?: Writer;
  /** Bytes before; undefined when not known. */
  old?: Buffer;
  /** Bytes read right after the access; undefined when overwritten before it could be read. */
  value?: Buffer;
  /**
   * True when `value` is certainly what this access left: no other access came between it and
   * our read. False for earlier accesses of a burst, and for the last one of a hot variable's
   * burst (its value was read right after, but another store may have slipped in).
   */
  valueSeen: boolean;
  /**
   * hw: 'store' when the value was recovered from the writing instruction and the registers at
   * the trap (exact for every write of a burst); 'memory' when it was read afterwards.
   */
  valueFrom?: 'store' | 'memory';
  /** Display text of old/new (gdb's print format through the Program when types are known). */
  oldText?: string;
  valueText?: string;
  /** Size of the watched object in bytes. */
  size?: number;
  /** The bytes that differ between old and value, [offset, offset + length) within the object. */
  changed?: { offset: number; length: number };
  /**
   * When the change lies inside one element or member of a big object: its path (`[6]`,
   * `.config.workers`), and oldText/valueText are that part's values only.
   */
  part?: string;
  /** The logMessage with its `{…}` parts evaluated, when the watch has one. */
  message?: string;
}

export interface WatchInfo {
  id: number;
  spec: WatchSpec;
  /** The mode in effect (auto resolved). */
  mode: 'hw' | 'poll';
  /** Why polling is used although hardware was possible or asked (perf refused, registers full). */
  fallbackReason?: string;
  /** Debug-register ranges used per thread in hw mode. */
  ranges?: { address: bigint; length: number }[];
  /** Accesses/changes seen so far (the honest total, also when coalesced or filtered). */
  hits: number;
  /** Hits that passed condition and hit condition (reported). */
  reported: number;
  /** Samples the kernel could not record (ring full, throttling). */
  lost: number;
  /** Current state in plain words ("watching 5 threads", "target exited", ...). */
  status: string;
  /** False once the watch cannot report any more (target exited or exec'd, error). */
  active: boolean;
}

export type WatchEvent =
  | { kind: 'hit'; hit: WatchHit }
  /** The watch changed state: mode fallback, thread count, lost samples, errors. */
  | { kind: 'status'; watchId: number; message: string; level: 'info' | 'warning' | 'error' }
  /** Target exited or exec'd: every watch ended. */
  | { kind: 'ended'; reason: string };
