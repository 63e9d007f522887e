/**
 * The oracle on a real C program nobody here wrote: Lua 5.4 from Debian's source package, built
 * with -g at -O0 and -O2 (cached outside the clone, test/eval/realProgram.ts). Every global and
 * static of the interpreter (luaL_Reg tables of function pointers, opcode name tables, statics in
 * many compile units, function statics) plus expressions that walk its live state through
 * `globalL` (lua_State, global_State, the string hash table, call info, the registry) must print
 * exactly as gdb prints them. Skipped, with the reason, where the source cannot be fetched
 * (needs deb-src in apt sources: ../shared/ENVIRONMENT.md).
 */
import { realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Program } from '../../adapter/src/engine/program';
import { gdbMessage } from '../../adapter/src/eval/evaluate';
import { gdbPrintResults } from '../support/gdb';
import { tracerPid } from '../support/proc';
import { expressionsFor } from './generate';
import { startLua, tryBuildLua, type RunningLua } from './realProgram';

const WALK = [
  '*globalL',
  '*globalL->l_G',
  'globalL->l_G->strt',
  'globalL->l_G->strt.hash[0]',
  '*globalL->l_G->strt.hash[1]',
  '*globalL->ci',
  'globalL->ci->func',
  'globalL->stack[0]',
  'globalL->stack.p[1]',
  '*globalL->l_G->mainthread',
  'globalL->l_G->l_registry',
  'globalL->l_G->l_registry.value_.gc->tt',
  '*globalL->l_G->tmname[0]',
  'globalL->l_G->tmname',
  'globalL->l_G->mt',
  'globalL->top.p - globalL->stack.p',
  'globalL->l_G->GCdebt + 1',
  'globalL->l_G->seed ^ 0xff',
  '(char *)globalL->l_G->tmname[0]->contents',
  'sizeof(*globalL)',
  'sizeof(struct global_State)',
  '&globalL->l_G->strt.hash[3]',
];

for (const cflags of ['-g -O0', '-g -O2']) {
  const built = tryBuildLua(cflags);
  describe.skipIf(!built.binary)(`oracle: lua 5.4 (${cflags}) pidscope print == gdb print${built.reason ? ` [skipped: ${built.reason}]` : ''}`, () => {
    let lua: RunningLua;
    let exprs: string[] = [];
    let ours: string[] = [];
    let theirs: string[] = [];
    let nvars = 0;

    beforeAll(async () => {
      lua = await startLua(built.binary!);
      const program = await Program.open(lua.pid);
      try {
        const real = realpathSync(built.binary!);
        const vars = program.globals().filter((v) => v.module === real);
        nvars = vars.length;
        exprs = [...expressionsFor(vars), ...WALK];
        ours = exprs.map((e) => {
          try {
            return program.print(e, { charset: 'ascii' });
          } catch (x) {
            return gdbMessage(x);
          }
        });
        expect(tracerPid(lua.pid)).toBe(0);
      } finally {
        program.close();
      }
      theirs = (await gdbPrintResults(lua.pid, exprs, { locale: 'C', timeoutMs: 240_000 })).map((r) => (r.ok ? r.text : r.error));
    });
    afterAll(async () => {
      await lua?.stop();
    });

    it('finds the interpreter globals and statics of many compile units', () => {
      expect(nvars).toBeGreaterThan(40);
      expect(exprs.length).toBeGreaterThan(1000);
    });

    it('prints every expression exactly as gdb', () => {
      const diff = exprs
        .map((e, i) => (ours[i] === theirs[i] ? undefined : `print ${e}\n    gdb:      ${theirs[i]}\n    pidscope: ${ours[i]}`))
        .filter((x): x is string => x !== undefined);
      expect(diff, `${diff.length} of ${exprs.length} differ`).toEqual([]);
      // Not vacuous: the walk through the live interpreter state produced values.
      const i = exprs.indexOf('*globalL->l_G');
      expect(ours[i]).toMatch(/^\{.*mainthread = 0x/);
    });
  });
}
