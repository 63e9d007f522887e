/**
 * What authority a DAP session gets, decided by whoever started the SERVER, never by the client.
 *
 * On stdio the client launched the adapter as itself (VS Code, `ssh host pidscope dap`): it
 * already holds the user's authority, so its attach configuration decides (read-only unless it
 * says "allowWrites": true). Over `--listen` a client is someone else who knew the secret (or
 * shares the uid): writes need the server's `--allow-writes` (the client can only narrow), debug
 * files are searched only in directories the server names, and naming a process by
 * "processName" only considers processes the server user may read, answered without their
 * command lines.
 */
import { accessSync, constants } from 'node:fs';
import { isAbsolute, normalize, sep } from 'node:path';
import { PidscopeError } from '../errors';
import { findProcessesByName, type AttachConfig, type ProcessEntry } from './attachArgs';

export interface ServerPolicy {
  /** 'client': stdio, the client's allowWrites decides. 'listener': a network/socket client. */
  origin: 'client' | 'listener';
  /** Listener only: the server was started with --allow-writes. */
  allowWrites: boolean;
  /** Directories the server was told to search for separate debug files (--debug-dir). */
  debugDirs: string[];
}

export const STDIO_POLICY: ServerPolicy = { origin: 'client', allowWrites: true, debugDirs: [] };

export interface PolicyOutcome {
  cfg: AttachConfig;
  /** Lines for the Debug Console: what the server changed about the client's request. */
  notes: string[];
  /** When writes are off because of the server, the error a write request gets. */
  writeRefusal?: (what: string) => PidscopeError;
}

function within(path: string, dir: string): boolean {
  const normalPath = normalize(path);
  const normalDir = normalize(dir).replace(/\/+$/, '');
  return normalPath === normalDir || normalPath.startsWith(normalDir + sep);
}

/** Narrows the client's attach configuration to the server's authority. Throws for paths outside it. */
export function applyPolicy(cfg: AttachConfig, policy: ServerPolicy): PolicyOutcome {
  const notes: string[] = [];
  if (policy.origin === 'client') {
    return { cfg: { ...cfg, debugSearchPaths: [...cfg.debugSearchPaths, ...policy.debugDirs] }, notes };
  }
  const outside = cfg.debugSearchPaths.filter((p) => !isAbsolute(p) || p.split('/').includes('..') || !policy.debugDirs.some((d) => within(p, d)));
  if (outside.length) {
    throw new PidscopeError(
      'NOT_PERMITTED',
      `"debugSearchPaths" names ${outside.map((p) => JSON.stringify(p)).join(', ')}, outside the directories this pidscope dap --listen server searches (${policy.debugDirs.length ? policy.debugDirs.join(', ') : 'none'})`,
      'Leave "debugSearchPaths" out (the server searches its own --debug-dir directories), or start the server with --debug-dir DIR',
      'user',
    );
  }
  let writeRefusal: PolicyOutcome['writeRefusal'];
  if (!policy.allowWrites) {
    writeRefusal = (what) =>
      new PidscopeError(
        'WRITES_DISABLED',
        `${what} would change the target's memory, and this pidscope dap --listen server was started without --allow-writes (a client's "allowWrites" can only narrow what the server allows)`,
        'Ask whoever runs the server to restart it with `pidscope dap --listen … --allow-writes`, or run `pidscope dap` yourself on stdio',
        'user',
      );
    if (cfg.allowWrites) notes.push('the server was started without --allow-writes: this session is read-only, whatever "allowWrites" says');
  }
  return {
    cfg: {
      ...cfg,
      allowWrites: cfg.allowWrites && policy.allowWrites,
      debugSearchPaths: [...policy.debugDirs, ...cfg.debugSearchPaths.filter((p) => !policy.debugDirs.includes(p))],
    },
    notes,
    writeRefusal,
  };
}

/** Whether this process may read /proc/PID/mem's owner-only file (root: every process). */
function serverMayRead(pid: number): boolean {
  try {
    accessSync(`/proc/${pid}/mem`, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** processName → candidates, as the policy lets a client learn them. */
export function processLookup(policy: ServerPolicy, find: (name: string) => ProcessEntry[] = findProcessesByName): (name: string) => ProcessEntry[] {
  if (policy.origin === 'client') return find;
  return (name) =>
    find(name)
      .filter((p) => serverMayRead(p.pid))
      .map((p) => ({ pid: p.pid, comm: p.comm, cmdline: '' }));
}
