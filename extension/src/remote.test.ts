import { describe, expect, it } from 'vitest';
import { listRemoteProcesses, remoteAdapterCommand, remoteListCommand, remoteOf } from './remote';

const local = { command: '/usr/bin/node', args: ['/ext/dist/adapter/pidscope-dap.js'], env: { ELECTRON_RUN_AS_NODE: '1' } };

describe('remote attach configuration', () => {
  it('local configurations stay local', () => {
    expect(remoteOf({ pid: 1 })).toBeUndefined();
  });

  it('ssh runs the local adapter as a relay to the remote pidscope', () => {
    const r = remoteOf({ ssh: { host: 'alice@box', options: ['Port=2222'] }, remotePidscope: 'node /opt/p/adapter/bin/pidscope.js' })!;
    expect(remoteAdapterCommand(local, r).args).toEqual([
      '/ext/dist/adapter/pidscope-dap.js',
      '--ssh',
      'alice@box',
      '--ssh-option',
      'Port=2222',
      '--remote-pidscope',
      'node /opt/p/adapter/bin/pidscope.js',
    ]);
    expect(remoteListCommand(r)).toEqual({
      command: 'ssh',
      args: ['-T', '-o', 'BatchMode=yes', '-o', 'Port=2222', 'alice@box', '--', 'node /opt/p/adapter/bin/pidscope.js ps --json'],
    });
  });

  it('exec prefixes run pidscope dap inside the container', () => {
    const r = remoteOf({ exec: ['kubectl', 'exec', '-i', 'pod', '--'] })!;
    expect(remoteAdapterCommand(local, r)).toEqual({ command: 'kubectl', args: ['exec', '-i', 'pod', '--', 'pidscope', 'dap'], env: {} });
    expect(remoteListCommand(r).args).toEqual(['exec', '-i', 'pod', '--', 'pidscope', 'ps', '--json']);
  });

  it('bad shapes are refused with a fix', () => {
    expect(() => remoteOf({ ssh: '-oProxyCommand=x' })).toThrow(/"ssh" is/);
    expect(() => remoteOf({ ssh: 'h', exec: ['docker'] })).toThrow(/both "ssh" and "exec"/);
    expect(() => remoteOf({ exec: [] })).toThrow(/"exec" is \[\]/);
    expect(() => remoteOf({ ssh: { host: 'h', options: ['-v'] } })).toThrow(/ssh.options/);
  });

  it('lists remote processes through the transport (here a local command), and reports its failure', async () => {
    const ok = await listRemoteProcesses({
      kind: 'exec',
      command: ['sh', '-c', 'echo \'[{"pid":7,"ppid":1,"name":"x","commandLine":"x","uid":0,"user":"root","startTicks":1}]\'', 'sh'],
      pidscope: 'ignored',
    });
    expect(ok.map((p) => p.pid)).toEqual([7]);
    await expect(listRemoteProcesses({ kind: 'exec', command: ['sh', '-c', 'echo nope >&2; exit 3', 'sh'], pidscope: 'x' })).rejects.toThrow(/failed: nope/);
  });
});
