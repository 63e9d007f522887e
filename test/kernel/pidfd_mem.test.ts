// Builds the pidfd_mem kernel (normal and --debug), boots each under QEMU and runs the
// kselftest-harness selftests inside; a test fails on any failed selftest or any warning,
// BUG, KASAN or lockdep report in the guest's kernel log (kernel/run.sh exits 86 then), or
// when fewer vCPUs came up than asked for (87).
//
// Matrix: every selftest (the race and stress tests included) on 1, 2 and 4 vCPUs, on the normal
// and on the debug kernel (KASAN, lockdep, PROVE_RCU), multi-threaded TCG (one host thread per
// vCPU), so the races run in parallel, not only interleaved (the race selftests pin the target to the
// first vCPU and the readers to the others). The guest enumerates its CPUs from ACPI; run.sh
// exits 87 when fewer than asked come up. No selftest may skip: the guest has Yama, KSM, THP and
// root, so every skip would hide a missing kernel feature.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildKernel, kernelDir, runGuest, strict, summary, unexpectedSkips, warnSkipping } from './harness';

/** What build.sh and run.sh need; null when everything is there. */
function missingToolchain(): string | null {
  const probe = spawnSync(join(kernelDir, 'build.sh'), ['--key'], { encoding: 'utf8' });
  const problems: string[] = [];
  if (probe.status !== 0) problems.push(probe.stderr.trim() || `build.sh --key exited ${probe.status}`);
  if (spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).status !== 0) {
    problems.push('qemu-system-x86_64 missing: apt-get install -y qemu-system-x86');
  }
  return problems.length ? problems.join('\n') : null;
}

const missing = missingToolchain();
if (missing && !strict) warnSkipping('the kernel tests (pidfd_mem build + QEMU selftests)', missing);

const suite = missing && !strict ? describe.skip : describe;

suite.each(['normal', 'debug'] as const)('pidfd_mem on the %s kernel', (variant) => {
  let built: { image: string; test: string };

  it('has the toolchain', () => {
    expect(missing, `kernel toolchain missing:\n${missing}`).toBeNull();
  });

  it('builds the kernel and the selftests', () => {
    built = buildKernel('x86_64', variant);
    expect(existsSync(built.image)).toBe(true);
    expect(existsSync(built.test)).toBe(true);
  });

  const cpus = [1, 2, 4];
  it.each(cpus)('passes every selftest as root on %i vCPU(s) with a clean kernel log', (smp) => {
    const r = runGuest('x86_64', ['--kernel', built.image, '--smp', String(smp), '--', built.test]);
    const s = summary(r.stdout);
    expect({ status: r.status, fail: s.fail, unexpectedSkips: unexpectedSkips(r.stdout) }, `${r.stdout}\n${r.stderr}`).toEqual({
      status: 0,
      fail: 0,
      unexpectedSkips: [],
    });
    expect(s.pass + s.skip).toBeGreaterThanOrEqual(28);
    expect(r.stdout).not.toMatch(/^not ok/m);
  });

  it('lets an unprivileged user inspect its own processes', () => {
    const r = runGuest('x86_64', [
      '--kernel', built.image, '--user', '1000', '--',
      built.test, '-t', 'discovery', '-t', 'map_read_matches', '-t', 'write_access', '-t', 'nosigbus',
      '-t', 'exec_no_new_image',
    ]);
    const s = summary(r.stdout);
    expect({ status: r.status, fail: s.fail, pass: s.pass }, `${r.stdout}\n${r.stderr}`).toEqual({
      status: 0,
      fail: 0,
      pass: 5,
    });
  });
});
