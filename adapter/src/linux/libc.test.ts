import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { koffi, koffiLoadedFrom, sys } from './libc';

const ROOT = join(__dirname, '..', '..', '..');

describe('koffi loading', () => {
  it('loads the prebuilt native module directly on glibc x86-64/arm64, and it works', () => {
    if (process.arch === 'x64' || process.arch === 'arm64') expect(koffiLoadedFrom).toBe('prebuilt');
    if (process.arch === 'x64') expect(Number(sys.syscall(39 /* getpid */))).toBe(process.pid);
    expect(koffi.address(Buffer.alloc(8))).toBeTypeOf('bigint');
  });

  it("is the same native module koffi's own loader gives (PIDSCOPE_KOFFI_LOADER=1 uses that loader)", () => {
    const script = `const l = require(${JSON.stringify(join(ROOT, 'adapter', 'src', 'linux', 'libc.ts'))}); console.log(l.koffiLoadedFrom, l.koffi.version, typeof l.sys.close)`;
    const run = (env: NodeJS.ProcessEnv) =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } }).trim();
    const viaLoader = run({ PIDSCOPE_KOFFI_LOADER: '1' });
    expect(viaLoader).toBe(`loader ${koffi.version} function`);
    expect((require('koffi') as { version: string }).version).toBe(koffi.version);
  });
});
