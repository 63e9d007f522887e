/**
 * The process list behind `${command:pickProcess}`: the adapter's /proc module lists the
 * attachable processes (the same list as `pidscope ps`; esbuild bundles it, it imports no
 * `vscode`); this file shapes them for the quick pick.
 */
import type { AttachableProcess } from '../../adapter/src/proc/attachable';

export type ProcessInfo = AttachableProcess;

export interface PickItem {
  label: string;
  description: string;
  detail: string;
  pid: number;
}

/** What the quick pick shows: name, then pid and user, then the command line (all searchable). */
export function toPickItem(p: ProcessInfo): PickItem {
  const cmd = p.commandLine.length > 300 ? `${p.commandLine.slice(0, 300)}…` : p.commandLine;
  return { label: p.name || `pid ${p.pid}`, description: `pid ${p.pid} · ${p.user}`, detail: cmd, pid: p.pid };
}
