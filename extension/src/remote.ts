/**
 * Remote attach: the adapter runs where the process is, reached through a transport that
 * already exists — `ssh` (the adapter speaks DAP over the ssh channel's stdio), or a command
 * prefix such as `docker exec -i CONTAINER` / `kubectl exec -i POD --`. pidscope adds no network
 * protocol of its own. No `vscode` import: unit-tested directly.
 *
 *   "ssh": "user@host"  or  { "host": "user@host", "options": ["Port=2222"] }
 *   "exec": ["docker", "exec", "-i", "my-container"]
 *   "remotePidscope": "pidscope"   the pidscope command on the other side
 */
import { execFile } from 'node:child_process';
import type { AdapterCommand } from './adapterLaunch';
import { ConfigProblem } from './config';
import type { ProcessInfo } from './processes';

export type RemoteSpec = { kind: 'ssh'; host: string; options: string[]; pidscope: string } | { kind: 'exec'; command: string[]; pidscope: string };

const HOST = /^[A-Za-z0-9._@%+:\[\]-]+$/;

/** The remote transport a configuration names, or undefined for a local attach. Throws ConfigProblem. */
export function remoteOf(cfg: Record<string, unknown>): RemoteSpec | undefined {
  const pidscope = cfg.remotePidscope ?? 'pidscope';
  if (typeof pidscope !== 'string' || pidscope.trim() === '') {
    throw new ConfigProblem(
      `"remotePidscope" is ${JSON.stringify(cfg.remotePidscope)}`,
      'Give the pidscope command on the remote side, e.g. "pidscope" or "node /opt/pidscope/adapter/bin/pidscope.js"',
    );
  }
  if (cfg.ssh !== undefined && cfg.exec !== undefined) throw new ConfigProblem('the configuration gives both "ssh" and "exec"', 'Keep one of them');
  if (cfg.ssh !== undefined) {
    const s = cfg.ssh as unknown;
    const host = typeof s === 'string' ? s : s && typeof s === 'object' ? (s as { host?: unknown }).host : undefined;
    const options = s && typeof s === 'object' ? ((s as { options?: unknown }).options ?? []) : [];
    if (typeof host !== 'string' || !HOST.test(host) || host.startsWith('-')) {
      throw new ConfigProblem(
        `"ssh" is ${JSON.stringify(s)}`,
        'Give "ssh": "user@host" (or {"host": "user@host", "options": ["Port=2222"]}); the host must accept your key (ssh runs in batch mode)',
      );
    }
    if (!Array.isArray(options) || options.some((o) => typeof o !== 'string' || !/^[A-Za-z]+[= ]/.test(o))) {
      throw new ConfigProblem(
        `"ssh.options" is ${JSON.stringify(options)}`,
        'Give ssh -o options as strings, e.g. ["Port=2222", "IdentityFile=~/.ssh/id_ed25519"]',
      );
    }
    return { kind: 'ssh', host, options: options as string[], pidscope: pidscope.trim() };
  }
  if (cfg.exec !== undefined) {
    const e = cfg.exec;
    if (!Array.isArray(e) || e.length === 0 || e.some((w) => typeof w !== 'string' || w === '')) {
      throw new ConfigProblem(
        `"exec" is ${JSON.stringify(e)}`,
        'Give the command prefix as a list, e.g. ["docker", "exec", "-i", "my-container"] or ["kubectl", "exec", "-i", "my-pod", "--"]',
      );
    }
    return { kind: 'exec', command: e as string[], pidscope: pidscope.trim() };
  }
  return undefined;
}

/** How to run the adapter for a remote configuration, given how the local one runs. */
export function remoteAdapterCommand(local: AdapterCommand, r: RemoteSpec): AdapterCommand {
  if (r.kind === 'ssh') {
    // The local adapter relays (and turns an ssh failure into an error the Debug Console shows).
    return { ...local, args: [...local.args, '--ssh', r.host, ...r.options.flatMap((o) => ['--ssh-option', o]), '--remote-pidscope', r.pidscope] };
  }
  return { command: r.command[0], args: [...r.command.slice(1), ...r.pidscope.split(/\s+/), 'dap'], env: {} };
}

/** The command that lists the remote processes (`pidscope ps --json` on the other side). */
export function remoteListCommand(r: RemoteSpec): { command: string; args: string[] } {
  if (r.kind === 'ssh')
    return { command: 'ssh', args: ['-T', '-o', 'BatchMode=yes', ...r.options.flatMap((o) => ['-o', o]), r.host, '--', `${r.pidscope} ps --json`] };
  return { command: r.command[0], args: [...r.command.slice(1), ...r.pidscope.split(/\s+/), 'ps', '--json'] };
}

export function describeRemote(r: RemoteSpec): string {
  return r.kind === 'ssh' ? `ssh ${r.host}` : r.command.join(' ');
}

/** The processes on the other side, newest first. Rejects with the transport's own words. */
export function listRemoteProcesses(r: RemoteSpec, timeoutMs = 30_000): Promise<ProcessInfo[]> {
  const { command, args } = remoteListCommand(r);
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || err.message).trim().split('\n').slice(-3).join(' ');
        reject(
          new Error(
            `listing the processes through ${describeRemote(r)} failed: ${why}. Check that \`${command} ${args.join(' ')}\` works in a terminal (pidscope must be installed on the other side)`,
          ),
        );
        return;
      }
      try {
        const list = JSON.parse(stdout) as ProcessInfo[];
        if (!Array.isArray(list)) throw new Error('not a list');
        resolve(list);
      } catch {
        reject(new Error(`${describeRemote(r)}: \`pidscope ps --json\` printed something else (${stdout.slice(0, 120)}); is the remote pidscope current?`));
      }
    });
  });
}
