/**
 * A private sshd on a loopback port, for remote-attach tests: its own host key, one local user
 * (created when missing; we are root in CI) who may log in with one generated key, nothing else.
 * Nothing of the machine's own ssh setup is used or changed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './wait';

export const SSH_USER = 'pidscope-ssh';
const SSHD = '/usr/sbin/sshd';

/** A package the ssh tests need is missing (a failure in CI), or undefined. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install openssh-server)`;
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'no ssh client (apt-get install openssh-client)';
  }
  return undefined;
}

/**
 * Why this host cannot run the remote side as another user (not a missing package: a skip), or
 * undefined. The remote user runs pidscope from this checkout and the fixture binaries, so other
 * users must be able to read them (a clone under a 0700 home cannot be).
 */
export function remoteUserBlocked(repo: string, binaries: string[]): string | undefined {
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()}): sshd must switch users and the test creates user ${SSH_USER}`;
  const files = [
    join(repo, 'adapter', 'src', 'main.ts'),
    join(repo, 'node_modules', 'tsx', 'package.json'),
    join(repo, 'node_modules', 'koffi', 'package.json'),
  ];
  try {
    execFileSync(
      'setpriv',
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        'sh',
        '-c',
        'for f in "$@"; do test -r "$f" || { echo "$f"; exit 1; }; done',
        'sh',
        ...files,
        ...binaries,
      ],
      { stdio: 'pipe' },
    );
  } catch (e) {
    const which = String((e as { stdout?: Buffer }).stdout ?? '').trim();
    return `other users cannot read ${which || 'this checkout'} (a parent directory is not world-readable), so the remote user cannot run pidscope from it`;
  }
  return undefined;
}

export interface Sshd {
  port: number;
  user: string;
  uid: number;
  gid: number;
  /** ssh -o options that reach it with the generated key and known host key. */
  sshOptions: string[];
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function ensureUser(): { uid: number; gid: number } {
  const read = () => {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${SSH_USER}:`));
    return line ? { uid: Number(line.split(':')[2]), gid: Number(line.split(':')[3]) } : undefined;
  };
  if (!read()) {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--create-home', '--home-dir', `/var/lib/${SSH_USER}`, '--shell', '/bin/sh', SSH_USER], {
        stdio: 'pipe',
      });
    } catch (e) {
      // Test files run in parallel: another one may have created the user meanwhile.
      if (!read()) throw e;
    }
  }
  // useradd leaves the account locked ('!'), and sshd refuses a locked account even with a key:
  // '*' means no password can ever match, but the account is not locked.
  execFileSync('usermod', ['-p', '*', SSH_USER]);
  return read()!;
}

export async function startSshd(): Promise<Sshd> {
  const { uid, gid } = ensureUser();
  const dir = mkdtempSync(join(tmpdir(), 'pidscope-sshd-'));
  // sshd reads authorized_keys as the user logging in: the directory must let it in (the
  // private keys inside stay 0600).
  chmodSync(dir, 0o755);
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pidscope-test', '-f', file]);
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), { mode: 0o644 });
  const port = await freePort();
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8')}`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      // The key files live under /tmp (world-writable): StrictModes would refuse them.
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      `AllowUsers ${SSH_USER}`,
      'PermitRootLogin no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const proc: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await until(
    'sshd to listen',
    () => {
      if (proc.exitCode !== null) throw new Error(`sshd exited (${proc.exitCode})`);
      return /Server listening on 127\.0\.0\.1/.test(err);
    },
    15_000,
    25,
  ).catch((e: Error) => {
    throw new Error(`sshd did not start (${e.message}): ${err}`);
  });
  return {
    port,
    user: SSH_USER,
    uid,
    gid,
    sshOptions: [
      `Port=${port}`,
      `IdentityFile=${join(dir, 'client_key')}`,
      'IdentitiesOnly=yes',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      'GlobalKnownHostsFile=/dev/null',
      'StrictHostKeyChecking=yes',
    ],
    stop: () => {
      proc.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
