/**
 * Debug configuration resolution for `type: "pidscope"`, without the `vscode` module so the unit
 * tests cover it. The adapter validates the attach arguments again (adapter/src/dap/attachArgs.ts);
 * here we only fill defaults and catch what the user can fix before a process is started.
 */
import { readFileSync } from 'node:fs';
import { readPtraceScope } from '../../adapter/src/proc/kernel';

export const PICK_PROCESS = '${command:pickProcess}';
export const BACKENDS = ['auto', 'pidfd-mem', 'vm-readv', 'proc-mem'] as const;

export interface PidscopeConfig {
  type: string;
  request: string;
  name: string;
  pid?: number | string;
  processName?: string;
  backend?: string;
  allowWrites?: boolean;
  refreshIntervalMs?: number;
  debugSearchPaths?: string[];
  [key: string]: unknown;
}

/** A problem the user can fix; `actions` name the buttons the notification offers. */
export class ConfigProblem extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
    readonly actions: ProblemAction[] = ['openLaunchJson'],
  ) {
    super(`${problem}. ${fix}`);
    this.name = 'ConfigProblem';
  }
}

export type ProblemAction = 'openLaunchJson' | 'pickProcess' | 'permissionHelp' | 'addDebugSearchPath' | 'showLog';

export function defaultConfig(): PidscopeConfig {
  return { type: 'pidscope', request: 'attach', name: 'pidscope: attach to a running process', pid: PICK_PROCESS };
}

/**
 * First pass (before `${…}` variables are substituted): an empty configuration (F5 without a
 * launch.json) becomes the attach-with-picker one; a missing target asks the picker; a launch
 * request is refused with the reason.
 */
export function resolveConfig(input: Record<string, unknown>): PidscopeConfig {
  if (!input.type && !input.request && !input.name) return defaultConfig();
  const cfg = { ...input } as PidscopeConfig;
  cfg.type = 'pidscope';
  if (cfg.request === 'launch') {
    throw new ConfigProblem(
      'pidscope does not launch programs: it attaches to processes that are already running and never stops them',
      'Start your program as usual, then change "request" to "attach" and give its "pid" (or "${command:pickProcess}") or "processName"',
    );
  }
  if (cfg.request !== undefined && cfg.request !== 'attach') {
    throw new ConfigProblem(`"request" is ${JSON.stringify(cfg.request)}`, 'Use "request": "attach"');
  }
  cfg.request = 'attach';
  cfg.name = typeof cfg.name === 'string' && cfg.name ? cfg.name : 'pidscope: attach';
  const hasPid = cfg.pid !== undefined && cfg.pid !== null && cfg.pid !== '';
  const hasName = cfg.processName !== undefined && cfg.processName !== null && cfg.processName !== '';
  if (hasPid && hasName) {
    throw new ConfigProblem('the configuration gives both "pid" and "processName"', 'Keep one of them');
  }
  if (!hasPid && !hasName) cfg.pid = PICK_PROCESS;
  if (cfg.backend !== undefined && !(BACKENDS as readonly unknown[]).includes(cfg.backend)) {
    throw new ConfigProblem(`"backend" is ${JSON.stringify(cfg.backend)}`, `Use one of ${BACKENDS.map((b) => `"${b}"`).join(', ')}`);
  }
  if (cfg.allowWrites !== undefined && typeof cfg.allowWrites !== 'boolean') {
    throw new ConfigProblem(`"allowWrites" is ${JSON.stringify(cfg.allowWrites)}`, 'Use true or false');
  }
  if (cfg.debugSearchPaths !== undefined && (!Array.isArray(cfg.debugSearchPaths) || cfg.debugSearchPaths.some((p) => typeof p !== 'string'))) {
    throw new ConfigProblem(`"debugSearchPaths" is ${JSON.stringify(cfg.debugSearchPaths)}`, 'Give a list of directories, e.g. ["/opt/app/debug"]');
  }
  return cfg;
}

export interface ProcFacts {
  /** Our uid (the adapter runs as the extension host's user). */
  uid: number;
  /** /proc/sys/kernel/yama/ptrace_scope, when Yama is there. */
  ptraceScope?: number;
  procRoot: string;
}

export function readProcFacts(procRoot = '/proc'): ProcFacts {
  const scope = readPtraceScope(procRoot);
  const ptraceScope = scope === undefined ? undefined : Number(scope);
  return { uid: typeof process.getuid === 'function' ? process.getuid() : 0, ptraceScope, procRoot };
}

/**
 * Second pass (after substitution): when the picker was dismissed the session is cancelled
 * quietly (returns undefined); a pid that does not exist or belongs to another user is caught
 * here with a fix, before the adapter starts.
 */
export function checkTarget(cfg: PidscopeConfig, facts: ProcFacts): PidscopeConfig | undefined {
  if (cfg.pid === undefined || cfg.pid === null || cfg.pid === '') {
    if (cfg.processName) return cfg;
    return undefined; // the process picker was cancelled
  }
  const pidText = String(cfg.pid).trim();
  if (pidText.includes('${')) {
    throw new ConfigProblem(`"pid" is still the variable ${pidText}`, 'Use "${command:pickProcess}" (the pidscope extension resolves it) or a number', [
      'openLaunchJson',
    ]);
  }
  if (!/^\d+$/.test(pidText) || Number(pidText) <= 0) {
    throw new ConfigProblem(
      `"pid" is ${JSON.stringify(cfg.pid)}, not a process id`,
      'Give a positive integer, or "${command:pickProcess}" to choose from a list',
      ['pickProcess', 'openLaunchJson'],
    );
  }
  const pid = Number(pidText);
  let status: string;
  try {
    status = readFileSync(`${facts.procRoot}/${pid}/status`, 'utf8');
  } catch {
    throw new ConfigProblem(`no process has pid ${pid} (it may have exited)`, 'Start the program, then pick it from the list', [
      'pickProcess',
      'openLaunchJson',
    ]);
  }
  const m = /^Uid:\s+(\d+)/m.exec(status);
  const owner = m ? Number(m[1]) : undefined;
  if (facts.uid !== 0 && owner !== undefined && owner !== facts.uid) {
    throw new ConfigProblem(
      `process ${pid} belongs to uid ${owner}, and VS Code runs as uid ${facts.uid}: Linux lets a process read only the memory of its own user's processes (or needs CAP_SYS_PTRACE)`,
      'Attach to one of your own processes, or run VS Code (or the remote server) as that user',
      ['pickProcess', 'permissionHelp'],
    );
  }
  return { ...cfg, pid };
}

/**
 * An attach failure reported by the adapter, classified so the notification can offer the
 * button that fixes it. The adapter's messages name cause and fix already; we add actions.
 */
export function classifyAttachError(message: string): { title: string; actions: ProblemAction[] } {
  const m = message.toLowerCase();
  if (/\beperm\b|permission|not permitted|ptrace|cap_sys_ptrace|eacces/.test(m)) {
    return { title: 'pidscope cannot read that process', actions: ['permissionHelp', 'pickProcess'] };
  }
  if (/\besrch\b|no (running )?process|no such process|has exited|not running|no_process|ambiguous/.test(m)) {
    return { title: 'pidscope found no such process', actions: ['pickProcess', 'openLaunchJson'] };
  }
  if (/debug info|dwarf|debuginfo|no_debug|debug file|\.debug|stripped|no symbols/.test(m)) {
    return { title: 'pidscope found no debug information', actions: ['addDebugSearchPath', 'openLaunchJson'] };
  }
  if (/backend|pidfd_mem|pidfd-mem/.test(m)) {
    return { title: 'pidscope cannot use that memory backend', actions: ['openLaunchJson'] };
  }
  if (/bad_args|"pid"|"processname"|"backend"|"refreshintervalms"|"debugsearchpaths"|"allowwrites"/.test(m)) {
    return { title: 'pidscope: the attach configuration needs a fix', actions: ['openLaunchJson'] };
  }
  return { title: 'pidscope could not attach', actions: ['showLog', 'openLaunchJson'] };
}

export const ACTION_LABELS: Record<ProblemAction, string> = {
  openLaunchJson: 'Open launch.json',
  pickProcess: 'Pick Another Process',
  permissionHelp: 'How to Fix Permissions',
  addDebugSearchPath: 'Add Debug Search Path',
  showLog: 'Show Log',
};
