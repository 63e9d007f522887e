/**
 * `pidscope stack` on a real program nobody here wrote (Lua 5.4 from Debian's source, built -O0
 * and -O2; see test/eval/realProgram.ts), blocked in io.read() deep in its interpreter loop,
 * against gdb's `bt` on the same process: the same frames (inline and tail-call ones included),
 * functions, source files, lines and addresses. Argument values are not compared: a thread
 * blocked in a system call has only sp, pc and the argument registers known without stopping it
 * (PROC_SYSCALL_REGISTERS in oracle.test.ts), and frame 0 differs by gdb's own stop
 * (GDB_STOP_RESTARTS_SYSCALL).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { gdbCommands } from '../support/gdb';
import { tracerPid } from '../support/proc';
import { pidscope } from '../cli/run';
import { startLua, tryBuildLua, type RunningLua } from '../eval/realProgram';

const frames = (text: string) =>
  text
    .split('\n')
    .filter((l) => /^#\d+ /.test(l))
    .map((l) => l.replace(/ \(.*\) (at|from) /, ' () $1 ').replace(/ \(.*\)$/, ' ()'));

const running: RunningLua[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

for (const cflags of ['-g -O0', '-g -O2']) {
  const built = tryBuildLua(cflags);
  describe.skipIf(!built.binary)(`stack of lua 5.4 (${cflags}) == gdb bt${built.reason ? ` [skipped: ${built.reason}]` : ''}`, () => {
    it('same frames, functions, files, lines and addresses (frame 0 by function)', async () => {
      const lua = await startLua(built.binary!);
      running.push(lua);
      const ours = await pidscope(['stack', '--pid', String(lua.pid)]);
      expect(ours.stderr).toBe('');
      expect(tracerPid(lua.pid)).toBe(0);
      const gdb = (await gdbCommands(lua.pid, ['bt']))[0];
      const a = frames(ours.stdout);
      const g = frames(gdb);
      expect(a.length).toBe(g.length);
      expect(a.length).toBeGreaterThan(8);
      expect(a[0].replace(/0x[0-9a-f]+ in /, '')).toBe(g[0].replace(/0x[0-9a-f]+ in /, ''));
      expect(a.slice(1)).toEqual(g.slice(1));
    }, 120_000);
  });
}
