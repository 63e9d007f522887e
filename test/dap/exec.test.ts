/**
 * The extension's "exec" transport (docker exec -i / kubectl exec -i in real use; neither is
 * installed here): the command prefix runs `pidscope dap` as the adapter and `pidscope ps --json`
 * for the picker. `setpriv` to user nobody stands in for the container runtime: a prefix that
 * runs the command elsewhere, with another identity, stdin/stdout attached.
 */
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRemoteProcesses, remoteAdapterCommand, remoteOf } from '../../extension/src/remote';
import { fixturePath, REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { remoteUserBlocked } from '../support/sshd';
import { CLIENT_CAPS } from './harness';

const blocked = remoteUserBlocked(REPO_ROOT, [fixturePath('globals')]);
if (blocked) console.warn(`SKIP test/dap/exec.test.ts: ${blocked}`);

const NOBODY = 65534;
const config = {
  exec: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'],
  remotePidscope: `${process.execPath} --import tsx ${join(REPO_ROOT, 'adapter', 'src', 'main.ts')}`,
};

let theirs: RunningFixture;
let ours: RunningFixture;
let adapter: ChildProcess | undefined;
beforeAll(async () => {
  if (blocked) return;
  theirs = await startFixture('globals', { uid: NOBODY, gid: NOBODY });
  ours = await startFixture('globals');
});
afterAll(async () => {
  adapter?.kill();
  await theirs?.stop();
  await ours?.stop();
});

describe.skipIf(!!blocked)('attach configuration "exec" (a command prefix as transport)', () => {
  it("runs PREFIX pidscope dap as the adapter: live values of the other identity's process", async () => {
    const remote = remoteOf(config)!;
    const cmd = remoteAdapterCommand({ command: 'unused', args: [], env: {} }, remote);
    expect(cmd.command).toBe('setpriv');
    adapter = spawn(cmd.command, cmd.args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const dc = new DebugClient('unused', 'unused', 'pidscope');
    dc.defaultTimeout = 60_000;
    (dc as unknown as { connect(r: NodeJS.ReadableStream, w: NodeJS.WritableStream): void }).connect(adapter.stdout!, adapter.stdin!);
    await dc.initializeRequest(CLIENT_CAPS);
    const initialized = dc.waitForEvent('initialized', 60_000);
    await dc.attachRequest({ pid: theirs.pid, refreshIntervalMs: 0 } as DebugProtocol.AttachRequestArguments);
    await initialized;
    await dc.configurationDoneRequest();
    expect((await dc.evaluateRequest({ expression: 'g_int', context: 'repl' })).body.result).toBe('123456789');
    expect(tracerPid(theirs.pid)).toBe(0);
    await dc.disconnectRequest({});
  });

  it('lists the processes on the other side with PREFIX pidscope ps --json', async () => {
    const list = await listRemoteProcesses(remoteOf(config)!);
    expect(list.find((p) => p.pid === theirs.pid)).toMatchObject({ name: 'globals', uid: NOBODY });
    expect(list.some((p) => p.pid === ours.pid)).toBe(false);
  });
});
