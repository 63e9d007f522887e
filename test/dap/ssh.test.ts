/**
 * Remote attach over ssh: a DAP client runs `pidscope dap --ssh USER@HOST`, which runs
 * `pidscope dap` on the other side of a real sshd (Debian's openssh-server on a loopback port) as
 * another local user; live variables come back, the session has that user's authority only,
 * and the target is never stopped.
 */
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { remoteUserBlocked, sshdUnavailable, startSshd, type Sshd } from '../support/sshd';
import { listRemoteProcesses } from '../../extension/src/remote';
import { adapterClient, attachLive, CLIENT_CAPS, stopAdapter, waitFor } from './harness';

const missingPackage = sshdUnavailable();
if (missingPackage && process.env.PIDSCOPE_CI === '1') throw new Error(`ssh remote-attach tests need a local sshd, and: ${missingPackage}`);
const unavailable = missingPackage ?? remoteUserBlocked(REPO_ROOT, [fixturePath('globals')]);
if (unavailable) console.warn(`SKIP test/dap/ssh.test.ts: ${unavailable}`);

/** The remote `pidscope`: this checkout, run from the sources by the remote user. */
const REMOTE_PIDSCOPE = `cd ${REPO_ROOT} && exec ${process.execPath} --import tsx adapter/src/main.ts`;

let sshd: Sshd;
let theirs: RunningFixture;
let ours: RunningFixture;
beforeAll(async () => {
  if (unavailable) return;
  sshd = await startSshd();
  theirs = await startFixture('globals', { uid: sshd.uid, gid: sshd.gid });
  ours = await startFixture('globals');
});
afterAll(async () => {
  await theirs?.stop();
  await ours?.stop();
  sshd?.stop();
});

/** `firstOptions` win over the sshd's (ssh keeps the first value of each option). */
function sshClient(firstOptions: string[] = []): DebugClient {
  const args = [
    '--ssh',
    `${sshd?.user ?? 'nobody'}@127.0.0.1`,
    ...[...firstOptions, ...(sshd?.sshOptions ?? [])].flatMap((o) => ['--ssh-option', o]),
    '--remote-pidscope',
    REMOTE_PIDSCOPE,
  ];
  return adapterClient(args);
}

function failure(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: Error) => e.message,
  );
}

describe.skipIf(!!unavailable)('pidscope dap --ssh', () => {
  it("shows live variables of the remote user's process, never stopping it", async () => {
    const dc = sshClient();
    await dc.start();
    try {
      await dc.initializeRequest(CLIENT_CAPS);
      await attachLive(dc, { pid: theirs.pid, refreshIntervalMs: 100 });
      expect((await dc.evaluateRequest({ expression: 'g_int', context: 'repl' })).body.result).toBe('123456789');
      const first = (await dc.evaluateRequest({ expression: 'g_live_counter', context: 'repl' })).body.result;
      const later = await waitFor('g_live_counter to move', async () => {
        const v = (await dc.evaluateRequest({ expression: 'g_live_counter', context: 'repl' })).body.result;
        return v !== first ? v : undefined;
      });
      expect(Number(later)).toBeGreaterThan(Number(first));
      expect(tracerPid(theirs.pid)).toBe(0);
      await dc.disconnectRequest({});
    } finally {
      stopAdapter(dc);
    }
  });

  it("the remote session has the remote user's authority: a root-owned process is refused", async () => {
    const dc = sshClient();
    await dc.start();
    try {
      await dc.initializeRequest(CLIENT_CAPS);
      const msg = await failure(dc.attachRequest({ pid: ours.pid } as DebugProtocol.AttachRequestArguments));
      expect(msg).toMatch(/permission|EPERM|EACCES/i);
    } finally {
      stopAdapter(dc);
    }
  });

  it("the extension's remote process picker lists the remote user's processes (`pidscope ps --json` over ssh)", async () => {
    const list = await listRemoteProcesses({ kind: 'ssh', host: `${sshd.user}@127.0.0.1`, options: sshd.sshOptions, pidscope: REMOTE_PIDSCOPE });
    const mine = list.find((p) => p.pid === theirs.pid);
    expect(mine).toMatchObject({ name: 'globals', user: sshd.user, uid: sshd.uid });
    expect(list.some((p) => p.pid === ours.pid)).toBe(false); // root's: not attachable as that user
    expect(list.every((p) => p.uid === sshd.uid)).toBe(true);
  });

  it("an ssh that cannot connect answers the first request with ssh's reason", async () => {
    const dc = sshClient(['Port=1', 'ConnectTimeout=5']);
    await dc.start();
    try {
      const msg = await failure(dc.initializeRequest(CLIENT_CAPS));
      expect(msg).toMatch(/ssh pidscope-ssh@127\.0\.0\.1 failed before the adapter answered: ssh .* exited with code 255.*(refused|Connection)/);
    } finally {
      stopAdapter(dc);
    }
  });
});
