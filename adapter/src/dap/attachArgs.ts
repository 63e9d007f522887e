/**
 * The attach configuration: what a launch.json entry of `"type": "pidscope", "request":
 * "attach"` may say. Mirrors the schema in extension/package.json (keep them in step).
 *
 *   pid                 number | numeric string  the process to attach to
 *   processName         string                   or its name (comm, argv[0] or exe basename)
 *   backend             'auto' | 'pidfd-mem' | 'vm-readv' | 'proc-mem'   (default 'auto')
 *   allowWrites         boolean                  (default false) writeMemory/setVariable/setExpression
 *   refreshIntervalMs   number                   (default 500; 0 turns live refresh off; 50..60000)
 *   debugSearchPaths    string[]                 extra directories for separate debug files
 *
 * Clients add their own keys (type, request, name, __sessionId, ...): they are ignored.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { PidscopeError } from '../errors';
import type { BackendKind } from '../memory/reader';
import { basename } from 'node:path';
import { listProcesses, readExe } from '../proc/processes';

export interface ProcessEntry {
  pid: number;
  comm: string;
  cmdline: string;
}

/**
 * User processes whose comm, argv[0] basename or executable basename equals `name` (comm alone
 * is cut to 15 bytes by the kernel). Our own process is left out.
 */
export function findProcessesByName(name: string): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const p of listProcesses()) {
    if (p.pid === process.pid || p.cmdline.length === 0) continue;
    const exe = readExe(p.pid);
    const names = [p.name, basename(p.cmdline[0] ?? ''), exe ? basename(exe.replace(/ \(deleted\)$/, '')) : ''];
    if (names.includes(name)) out.push({ pid: p.pid, comm: p.name, cmdline: p.cmdline.join(' ') });
  }
  return out;
}

export type BackendChoice = 'auto' | BackendKind;

/** The attach request's arguments as launch.json writes them (the fields above), before parseAttachArgs checks them. */
export interface AttachArguments extends DebugProtocol.AttachRequestArguments {
  pid?: number | string;
  processName?: string;
  backend?: BackendChoice;
  allowWrites?: boolean;
  refreshIntervalMs?: number;
  debugSearchPaths?: string[];
}

export interface AttachConfig {
  pid: number;
  /** How the pid was found, for messages: 'pid' or the processName asked for. */
  resolvedFrom: 'pid' | { processName: string };
  backend: BackendChoice;
  allowWrites: boolean;
  refreshIntervalMs: number;
  debugSearchPaths: string[];
}

export const DEFAULT_REFRESH_MS = 500;
export const MIN_REFRESH_MS = 50;
export const MAX_REFRESH_MS = 60_000;
const BACKENDS: readonly BackendChoice[] = ['auto', 'pidfd-mem', 'vm-readv', 'proc-mem'];

function bad(cause: string, fix: string): PidscopeError {
  return new PidscopeError('BAD_ARGS', cause, fix, 'user');
}

/** Validates the attach arguments and resolves processName to a pid. Throws PidscopeError. */
export function parseAttachArgs(raw: unknown, lookup: (name: string) => ProcessEntry[] = findProcessesByName): AttachConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw bad('the attach arguments are not an object', 'Send an attach request whose arguments hold "pid" or "processName"');
  }
  const args = raw as { [K in keyof AttachArguments]?: unknown };

  const backend = args.backend ?? 'auto';
  if (typeof backend !== 'string' || !BACKENDS.includes(backend as BackendChoice)) {
    throw bad(`"backend" is ${JSON.stringify(backend)}`, `Use one of ${BACKENDS.map((b) => `"${b}"`).join(', ')} (or leave it out for "auto")`);
  }

  const allowWrites = args.allowWrites ?? false;
  if (typeof allowWrites !== 'boolean') {
    throw bad(
      `"allowWrites" is ${JSON.stringify(allowWrites)}, not true or false`,
      'Set "allowWrites" to true to allow writing target memory, or leave it out (read-only)',
    );
  }

  const refresh = args.refreshIntervalMs ?? DEFAULT_REFRESH_MS;
  if (typeof refresh !== 'number' || !Number.isFinite(refresh) || (refresh !== 0 && (refresh < MIN_REFRESH_MS || refresh > MAX_REFRESH_MS))) {
    throw bad(
      `"refreshIntervalMs" is ${JSON.stringify(refresh)}`,
      `Use a number of milliseconds from ${MIN_REFRESH_MS} to ${MAX_REFRESH_MS}, or 0 to turn the live refresh off (default ${DEFAULT_REFRESH_MS})`,
    );
  }

  const paths = args.debugSearchPaths ?? [];
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || p === '')) {
    throw bad(`"debugSearchPaths" is ${JSON.stringify(paths)}`, 'Give a list of directory paths, e.g. ["/opt/app/debug"]');
  }

  const common = { backend: backend as BackendChoice, allowWrites, refreshIntervalMs: Math.round(refresh), debugSearchPaths: paths as string[] };

  const hasPid = args.pid !== undefined && args.pid !== null && args.pid !== '';
  const hasName = args.processName !== undefined && args.processName !== null && args.processName !== '';
  if (hasPid && hasName) {
    throw bad('the attach arguments give both "pid" and "processName"', 'Keep one of them');
  }
  if (hasPid) return { pid: parsePid(args.pid), resolvedFrom: 'pid', ...common };
  if (hasName) {
    if (typeof args.processName !== 'string') {
      throw bad(`"processName" is ${JSON.stringify(args.processName)}, not a string`, 'Give the process name as a string, e.g. "nginx"');
    }
    return { pid: resolveProcessName(args.processName, lookup), resolvedFrom: { processName: args.processName }, ...common };
  }
  throw bad(
    'the attach arguments name no process',
    'Add "pid": 1234 (or "pid": "${command:pickProcess}" with the pidscope extension) or "processName": "name" to the attach configuration',
  );
}

export function parsePid(v: unknown): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) n = Number(v.trim());
  else if (typeof v === 'string' && v.includes('${')) {
    throw bad(
      `"pid" is the unresolved variable ${JSON.stringify(v)}`,
      'Start the session from VS Code with the pidscope extension installed (it resolves ${command:pickProcess}), or give the pid as a number',
    );
  } else {
    throw bad(`"pid" is ${JSON.stringify(v)}, not a process id`, 'Give the pid as a positive integer (number or string), e.g. "pid": 1234');
  }
  if (!Number.isSafeInteger(n) || n <= 0 || n > 0x3fffffff) {
    throw bad(`"pid" is ${JSON.stringify(v)}, not a valid process id`, 'Give the pid as a positive integer, e.g. "pid": 1234');
  }
  return n;
}

export function resolveProcessName(name: string, lookup: (name: string) => ProcessEntry[]): number {
  const found = lookup(name);
  if (found.length === 1) return found[0].pid;
  if (found.length === 0) {
    throw new PidscopeError(
      'NO_PROCESS',
      `no running process is named "${name}"`,
      'Check the name with `pgrep -a NAME` (pidscope matches the command name, argv[0] and the executable\'s file name), or attach by "pid"',
      'user',
    );
  }
  const list = found
    .slice(0, 20)
    .map((p) => `pid ${p.pid} (${p.cmdline || p.comm})`)
    .join('; ');
  throw new PidscopeError(
    'AMBIGUOUS_PROCESS',
    `${found.length} processes are named "${name}": ${list}${found.length > 20 ? '; …' : ''}`,
    'Attach by "pid" to pick one of them',
    'user',
  );
}
