// Issue 7 end to end: boots the pidfd_mem kernel (normal build) under QEMU and runs pidscope's
// own tests inside it with the pidfd-mem backend (test/pidfdmem/: memory readers, racing munmap,
// exec, the CLI). The guest sees this repo through the host root shared over 9p, read-only.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');
const kernelDir = join(root, 'kernel');
const strict = process.env.CI === 'true' || process.env.PIDSCOPE_CI === '1';
const probe = spawnSync(join(kernelDir, 'build.sh'), ['--key'], { encoding: 'utf8' });
const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).status === 0;
const missing = probe.status !== 0 || !qemu ? `${probe.stderr.trim()}${qemu ? '' : '\nqemu-system-x86_64 missing: apt-get install -y qemu-system-x86'}` : null;
if (missing && !strict) {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING pidscope-in-QEMU tests (pidfd-mem backend):\n!!   ${missing.replace(/\n/g, '\n!!   ')}\n!! (with CI=true or PIDSCOPE_CI=1 this is a failure)\n${'!'.repeat(78)}\n`);
}
const suite = missing && !strict ? describe.skip : describe;

suite('pidscope inside QEMU on the pidfd_mem kernel', () => {
  it('passes the pidfd-mem end-to-end tests (readers, racing munmap, exec, CLI) in the guest', () => {
    expect(missing, missing ?? '').toBeNull();
    const image = execFileSync(join(kernelDir, 'build.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 3_300_000 }).trim();
    // Fixtures and the compiled CLI must exist on the host side: the guest's view of the repo is
    // read-only, and the guest runs the CLI from out/ (compiling TypeScript under TCG is slow).
    execFileSync('make', ['-s', '-C', join(root, 'fixtures')], { stdio: 'inherit' });
    execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    const r = spawnSync(
      join(kernelDir, 'run.sh'),
      [
        '--kernel', image, '--timeout', '1500', '--mem', '3072', '--',
        'env', 'PIDSCOPE_EXPECT_PIDFD_MEM=1',
        process.execPath, join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run',
        '--project', 'guest', '--reporter', 'verbose',
      ],
      { cwd: root, encoding: 'utf8', timeout: 1_800_000, maxBuffer: 64 << 20 },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(0);
    // eslint-disable-next-line no-control-regex
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/Tests\s+\d+ passed/);
    expect(plain).not.toMatch(/skipped|failed/);
  });
});
