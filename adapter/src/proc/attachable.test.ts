import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ancestry, listAttachable, readUserNames } from './attachable';

describe('listAttachable on the real /proc', () => {
  let child: ChildProcess;
  beforeAll(async () => {
    child = spawn('sleep', ['300.4242'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    // 'spawn' fires as exec begins; the kernel fills /proc/PID/cmdline a moment later.
    for (let i = 0; i < 500 && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8') === ''; i++) await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(() => {
    child.kill('SIGKILL');
  });

  it('lists a process we started, with its name, command line and user, newest first', () => {
    const list = listAttachable();
    const me = list.find((p) => p.pid === child.pid);
    expect(me).toBeDefined();
    expect(me!.name).toBe('sleep');
    expect(me!.commandLine).toBe('sleep 300.4242');
    expect(me!.ppid).toBe(process.pid);
    expect(me!.uid).toBe(process.getuid!());
    expect(me!.user).toBe(readUserNames().get(process.getuid!()) ?? String(process.getuid!()));
    // The child started after its parent: it sorts before it (newest first).
    const parentIndex = list.findIndex((p) => p.pid === process.ppid);
    if (parentIndex >= 0) expect(list.indexOf(me!)).toBeLessThan(parentIndex);
  });

  it('leaves out our own process, excluded pids and kernel threads', () => {
    const list = listAttachable({ excludePids: [child.pid!] });
    expect(list.some((p) => p.pid === process.pid)).toBe(false);
    expect(list.some((p) => p.pid === child.pid)).toBe(false);
    expect(list.every((p) => p.commandLine !== '')).toBe(true);
    // kthreadd (pid 2) has no command line
    expect(list.some((p) => p.pid === 2)).toBe(false);
  });

  it('follows the parent chain', () => {
    const chain = ancestry(child.pid!);
    expect(chain[0]).toBe(child.pid);
    expect(chain[1]).toBe(process.pid);
    expect(chain).toContain(1);
  });
});

describe('listAttachable on a made-up /proc', () => {
  const root = mkdtempSync(join(tmpdir(), 'pidscope-proc-'));
  const passwd = join(root, 'passwd');
  const add = (pid: number, uid: number, comm: string, argv: string[], start: number) => {
    const d = join(root, String(pid));
    mkdirSync(d);
    writeFileSync(join(d, 'status'), `Name:\t${comm}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
    writeFileSync(join(d, 'comm'), `${comm}\n`);
    writeFileSync(join(d, 'cmdline'), argv.length ? argv.join('\0') + '\0' : '');
    const fields = ['S', '1', ...Array(17).fill('0'), String(start), '0'];
    writeFileSync(join(d, 'stat'), `${pid} (${comm}) ${fields.join(' ')}\n`);
  };
  beforeAll(() => {
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    add(100, 1000, 'worker (x) 1', ['./worker', '--n', '1'], 500);
    add(101, 1000, 'older', ['older'], 100);
    add(102, 1001, 'bobs', ['bobs'], 900);
    add(103, 1000, 'kthread', [], 950);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("shows only the user's own processes, newest first, names with spaces and parentheses intact", () => {
    const list = listAttachable({ procRoot: root, passwdPath: passwd, uid: 1000 });
    expect(list.map((p) => p.pid)).toEqual([100, 101]);
    expect(list[0]).toMatchObject({ name: 'worker (x) 1', commandLine: './worker --n 1', user: 'alice', startTicks: 500, ppid: 1 });
  });

  it("shows every user's processes to root, with the uid when the name is unknown", () => {
    const list = listAttachable({ procRoot: root, passwdPath: passwd, uid: 0 });
    expect(list.map((p) => p.pid)).toEqual([102, 100, 101]);
    expect(list[0].user).toBe('1001');
  });

  it('returns nothing for a missing /proc', () => {
    expect(listAttachable({ procRoot: join(root, 'nope') })).toEqual([]);
  });
});
