// The series on arm64: cross-builds the normal and the debug kernel (KASAN, lockdep, DEBUG_VM;
// kernel/build.sh --arch arm64 [--debug], Debian's gcc-aarch64-linux-gnu), boots each on
// qemu-system-aarch64 -M virt (TCG, -cpu max) and runs the selftests, cross-compiled statically
// for aarch64, inside; fails on any failed selftest, on any
// warning, BUG or lockdep report in the guest's kernel log (run.sh exits 86), or when fewer vCPUs
// came up than asked for (87). `discovery` checks that /sys/kernel/pidfd_mem/syscall_nr equals
// the __NR_pidfd_mem of the generic syscall table (scripts/syscall.tbl) arm64 builds from.
//
// The arm64 guest brings up secondary CPUs through PSCI (no ACPI needed), so the selftests also
// run on 2 and 4 vCPUs (multi-threaded TCG), in parallel on a weakly ordered CPU. The stress
// tests are bounded in wall time (2-3 s each), so a slow TCG run does fewer iterations, not a
// longer one.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildKernel, kernelDir, runGuest, strict, summary, unexpectedSkips, warnSkipping, type Run } from './harness';

/** What the arm64 build and boot need; null when everything is there. */
function missingToolchain(): string | null {
  const problems: string[] = [];
  const probe = spawnSync(join(kernelDir, 'build.sh'), ['--arch', 'arm64', '--key'], { encoding: 'utf8' });
  if (probe.status !== 0) problems.push(probe.stderr.trim() || `build.sh --arch arm64 --key exited ${probe.status}`);
  if (spawnSync('sh', ['-c', 'command -v qemu-system-aarch64'], { encoding: 'utf8' }).status !== 0) {
    problems.push('qemu-system-aarch64 missing: apt-get install -y qemu-system-arm');
  }
  if (!existsSync('/usr/aarch64-linux-gnu/lib/libc.a')) {
    problems.push('no static aarch64 libc (/usr/aarch64-linux-gnu/lib/libc.a): apt-get install -y libc6-dev-arm64-cross');
  }
  return problems.length ? problems.join('\n') : null;
}

const missing = missingToolchain();
if (missing && !strict) warnSkipping('the arm64 kernel tests (cross build + qemu-system-aarch64 selftests)', missing);

const suite = missing && !strict ? describe.skip : describe;

/** vCPU counts per kernel: the debug kernel (KASAN, lockdep) is slower under TCG. */
const matrix = { normal: [1, 2, 4], debug: [1, 4] } as const;

suite.each(['normal', 'debug'] as const)('pidfd_mem on the arm64 %s kernel (qemu-system-aarch64 -M virt)', (variant) => {
  let built: { image: string; test: string };

  it('has the toolchain', () => {
    expect(missing, `arm64 toolchain missing:\n${missing}`).toBeNull();
  });

  it('cross-builds the kernel and the static aarch64 selftests', () => {
    built = buildKernel('arm64', variant);
    expect(existsSync(built.image)).toBe(true);
    expect(existsSync(built.test)).toBe(true);
    // an aarch64 executable, not the host's
    const elf = execFileSync('readelf', ['-h', built.test], { encoding: 'utf8' });
    expect(elf).toMatch(/Machine:\s+AArch64/);
  });

  it.each([...matrix[variant]])('passes every selftest as root on %i vCPU(s) with a clean kernel log', (smp) => {
    const r = runGuest('arm64', ['--kernel', built.image, '--smp', String(smp), '--', built.test]);
    const s = summary(r.stdout);
    expect({ status: r.status, fail: s.fail, unexpectedSkips: unexpectedSkips(r.stdout) }, `${r.stdout}\n${r.stderr}`).toEqual({
      status: 0,
      fail: 0,
      unexpectedSkips: [],
    });
    expect(s.pass + s.skip).toBeGreaterThanOrEqual(28);
    expect(r.stdout).not.toMatch(/^not ok/m);
    // the syscall was found through sysfs and equals the generic table's number
    expect(r.stdout).toMatch(/^ok \d+ global\.discovery$/m);
  });

  it('lets an unprivileged user inspect its own processes', () => {
    // uid 1000 cannot reach the cache under a 0700 $HOME (/root): run a copy from /var/tmp,
    // which the guest sees (its /tmp is a tmpfs of its own)
    const dir = mkdtempSync('/var/tmp/pidscope-arm64-');
    chmodSync(dir, 0o755);
    const test = join(dir, 'pidfd_mem_test');
    copyFileSync(built.test, test);
    chmodSync(test, 0o755);
    let r: Run;
    try {
      r = runGuest('arm64', [
        '--kernel', built.image, '--user', '1000', '--',
        test, '-t', 'discovery', '-t', 'map_read_matches', '-t', 'write_access', '-t', 'nosigbus',
        '-t', 'exec_no_new_image',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const s = summary(r.stdout);
    expect({ status: r.status, fail: s.fail, pass: s.pass }, `${r.stdout}\n${r.stderr}`).toEqual({
      status: 0,
      fail: 0,
      pass: 5,
    });
  });
});
