/**
 * `pidscope info`, backend choice and its reasons (including a real fallback: process_vm_readv
 * blocked by seccomp), and the permission case: a reader without ptrace rights over the target.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, startFixture, type RunningFixture } from '../support/fixtures';
import { readProcMem } from '../support/proc';
import { symbolAddress } from '../support/symbols';
import { expectOneLine, pidscope } from './run';

let fx: RunningFixture;
let dir: string;
let noVmReadv: string;
beforeAll(async () => {
  fx = await startFixture('globals');
  dir = mkdtempSync(join(tmpdir(), 'pidscope-info-'));
  noVmReadv = join(dir, 'no-vm-readv');
  execFileSync('gcc', ['-O1', '-o', noVmReadv, join(__dirname, 'no-vm-readv.c')]);
});
afterAll(async () => {
  await fx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('info', () => {
  it('shows process, backend and why, threads, modules and regions', async () => {
    const r = await pidscope(['info', '--pid', String(fx.pid)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`process ${fx.pid} (globals)\n`);
    expect(out).toContain(`  executable:   ${fx.binary}\n`);
    expect(out).toContain('memory backend: vm-readv\n');
    expect(out).toMatch(/^ {2}pidfd-mem: unavailable \(.+\)$/m);
    expect(out).toMatch(/^ {2}vm-readv: chosen \(fastest that works: .+\)$/m);
    expect(out).toMatch(/^ {2}proc-mem: works too, not chosen \(vm-readv is faster\)$/m);
    expect(out).toMatch(new RegExp(`^ +${fx.pid} {2}globals +[RS] \\(`, 'm'));
    expect(out).toMatch(/^ +\d+ {2}globals-aux +[RS] \(/m);
    expect(out).toMatch(/^threads \(2\):$/m);
    expect(out).toMatch(new RegExp(`^ +0x[0-9a-f]+-0x[0-9a-f]+ +${fx.binary.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    expect(out).toMatch(/libc\.so\.6$/m);
    expect(out).toMatch(/ rw-p 00000000 00:00 0 +\[heap\]$/m);
    expect(out).toMatch(/\[stack\]$/m);
  });

  it('lists every capability pidscope relies on with the probe result and reason; the switches fake them', async () => {
    const r = await pidscope(['info', '--pid', String(fx.pid)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^capabilities \(probed, not assumed\):$/m);
    expect(r.stdout).toMatch(new RegExp(`^ {2}/proc readable: +yes \\(readable\\) — maps, status and threads of process ${fx.pid}$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}perf_event_open permitted: +(yes \(permitted\)|no {2}\(refused\)) — \S/m);
    expect(r.stdout).toMatch(/^ {2}hardware breakpoints fire: +(yes \(fires\) — counted [1-9]\d* stores|no {2}\((nofire|not probed|unsupported)\) — \S)/m);
    expect(r.stdout).toMatch(/^ {2}pidfd_mem present: +(yes|no ) \((present|absent|disabled)\) — \S/m);
    const nofire = await pidscope(['info', '--pid', String(fx.pid), '--json'], { env: { PIDSCOPE_HWBP: 'nofire' } });
    const caps = (JSON.parse(nofire.stdout) as { capabilities: { name: string; ok: boolean; result: string; detail: string; fallback?: string }[] })
      .capabilities;
    expect(caps.find((c) => c.name === 'hw-breakpoints')).toMatchObject({
      ok: false,
      result: 'nofire',
      detail: expect.stringMatching(/do not fire on this host/),
      fallback: expect.stringMatching(/poll/),
    });
    const deny = await pidscope(['info', '--pid', String(fx.pid)], { env: { PIDSCOPE_PERF: 'deny' } });
    expect(deny.stdout).toMatch(
      /^ {2}perf_event_open permitted: +no {2}\(refused\) — perf_event_open was refused .*perf_event_paranoid.*; without it: watchpoints poll memory/m,
    );
  });

  it('--json is one object with the same facts', async () => {
    const r = await pidscope(['info', '--pid', String(fx.pid), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.pid).toBe(fx.pid);
    expect(j.name).toBe('globals');
    expect(j.exe).toBe(fx.binary);
    expect(j.cmdline).toEqual([fx.binary]);
    expect(j.backend.chosen).toBe('vm-readv');
    expect(j.backend.reasons).toHaveLength(3);
    expect(j.threads.map((t: { name: string }) => t.name)).toEqual(['globals', 'globals-aux']);
    expect(j.modules[0].path).toBe(fx.binary);
    const mapsLines = readFileSync(`/proc/${fx.pid}/maps`, 'utf8').trim().split('\n').length;
    expect(j.regions.length).toBe(mapsLines);
    expect(j.regions.find((g: { kind: string }) => g.kind === 'heap')).toBeTruthy();
  });

  it('--backend proc-mem is used as asked', async () => {
    const j = JSON.parse((await pidscope(['info', '--pid', String(fx.pid), '--json', '--backend', 'proc-mem'])).stdout);
    expect(j.backend.chosen).toBe('proc-mem');
    expect(j.backend.reasons[0]).toMatch(/^proc-mem: chosen \(requested/);
  });

  it('PIDSCOPE_DISABLE_BACKENDS forces the fallback', async () => {
    const j = JSON.parse((await pidscope(['info', '--pid', String(fx.pid), '--json'], { env: { PIDSCOPE_DISABLE_BACKENDS: 'vm-readv' } })).stdout);
    expect(j.backend.chosen).toBe('proc-mem');
    expect(j.backend.reasons).toContain('vm-readv: skipped (disabled by PIDSCOPE_DISABLE_BACKENDS)');
  });

  it('falls back to proc-mem when process_vm_readv fails with ENOSYS (seccomp), and read still works', async () => {
    const j = JSON.parse((await pidscope(['info', '--pid', String(fx.pid), '--json'], { prefix: [noVmReadv] })).stdout);
    expect(j.backend.chosen).toBe('proc-mem');
    expect(j.backend.reasons).toContainEqual(expect.stringMatching(/^vm-readv: unavailable \(process_vm_readv is not available \(ENOSYS/));
    const address = symbolAddress(fx.pid, 'g_int');
    const r = await pidscope(['read', '--pid', String(fx.pid), `0x${address.toString(16)}`, '4', '--json'], { prefix: [noVmReadv] });
    expect(JSON.parse(r.stdout)).toMatchObject({ backend: 'proc-mem', hex: '15cd5b07' });
    const forced = await pidscope(['read', '--pid', String(fx.pid), '0x1000', '4', '--backend', 'vm-readv'], { prefix: [noVmReadv] });
    expect(forced.code).toBe(1);
    expect(expectOneLine(forced.stderr)).toMatch(/memory backend vm-readv cannot be used: process_vm_readv is not available \(ENOSYS/);
  });

  it('errors: no such pid, usage', async () => {
    const none = await pidscope(['info', '--pid', '4194303']);
    expect(none.code).toBe(1);
    expect(expectOneLine(none.stderr)).toMatch(/^pidscope info: no process with pid 4194303/);
    const usage = await pidscope(['info']);
    expect(usage.code).toBe(2);
    expect(expectOneLine(usage.stderr)).toMatch(/no process given/);
  });
});

describe('permission: a reader without ptrace rights over the target', () => {
  // CAP_DAC_READ_SEARCH (ambient, kept across exec) lets nobody read the checkout wherever CI put
  // it (e.g. under a 0700 home); it grants nothing about ptrace, which is what these tests are about.
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search'];
  const root = process.getuid?.() === 0;

  it.runIf(root)('nobody reading a root process: EPERM explained (same user, ptrace, CAP_SYS_PTRACE), exit 1', async () => {
    const address = `0x${symbolAddress(fx.pid, 'g_int').toString(16)}`;
    for (const args of [
      ['read', '--pid', String(fx.pid), address, '4'],
      ['read', '--pid', String(fx.pid), address, '4', '--backend', 'proc-mem'],
      ['info', '--pid', String(fx.pid)],
    ]) {
      const r = await pidscope(args, { prefix: asNobody });
      expect(r.code, r.stderr).toBe(1);
      const line = expectOneLine(r.stderr);
      expect(line).toMatch(new RegExp(`not permitted to .* of process ${fx.pid}, owned by uid 0; we run as uid 65534`));
      expect(line).toMatch(/same user as the target/);
      expect(line).toMatch(/CAP_SYS_PTRACE/);
    }
  });

  it.runIf(root)('nobody reading a process of its own: works (and root can read it too)', async () => {
    const child: ChildProcess = spawn(asNobody[0], [...asNobody.slice(1), fixturePath('globals')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          const m = /^ready (\d+)$/m.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', () => reject(new Error(`fixture exited early: ${out}`)));
      });
      const address = symbolAddress(pid, 'g_int');
      const a = `0x${address.toString(16)}`;
      const mine = await pidscope(['read', '--pid', String(pid), a, '4', '--json'], { prefix: asNobody });
      expect(mine.stderr).toBe('');
      expect(JSON.parse(mine.stdout).hex).toBe('15cd5b07');
      const asRoot = await pidscope(['read', '--pid', String(pid), a, '4', '--json']);
      expect(JSON.parse(asRoot.stdout).hex).toBe(readProcMem(pid, address, 4).toString('hex'));
    } finally {
      child.kill('SIGTERM');
    }
  });

  it.runIf(!root)('not root: reading pid 1 is refused with the explanation', async () => {
    const r = await pidscope(['read', '--pid', '1', '0x1000', '4']);
    expect(r.code).toBe(1);
    expect(expectOneLine(r.stderr)).toMatch(/not permitted .*CAP_SYS_PTRACE/);
  });
});
