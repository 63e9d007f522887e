/**
 * A real C program nobody here wrote (Lua 5.4 from Debian's source package, built with -g at -O0
 * and -O2 by test/eval/realProgram.ts, cached outside the clone): every static-storage variable
 * of the program has gdb's address, `whatis` and `ptype` on the same live process.
 * Skipped, with the reason, only when the source package cannot be fetched on this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSymbols, type ProcessSymbols } from '../../adapter/src/symbols/index';
import type { VariableSymbol } from '../../adapter/src/symbols/provider';
import { startLua, tryBuildLua, type RunningLua } from '../eval/realProgram';
import { tracerPid } from '../support/proc';
import { compareWithGdb } from './compare';

for (const flags of ['-g -O0', '-g -O2']) {
  const lua = tryBuildLua(flags);
  describe.skipIf(!lua.binary)(`lua 5.4 (${flags}) vs gdb${lua.reason ? ` — skipped: ${lua.reason}` : ''}`, () => {
    let run: RunningLua;
    let syms: ProcessSymbols;
    let vars: VariableSymbol[];
    beforeAll(async () => {
      run = await startLua(lua.binary!);
      syms = await loadSymbols(run.pid);
      expect(tracerPid(run.pid)).toBe(0);
      vars = [...syms.allVariables()].filter((v) => v.module === syms.modules[0].path);
    });
    afterAll(async () => {
      await run?.stop();
    });

    it('indexes the program without DWARF errors', () => {
      expect(syms.modules[0].path).toBe(lua.binary);
      expect(syms.dwarfErrors()).toEqual([]);
      expect(vars.length).toBeGreaterThan(20);
      for (const n of ['luaP_opmodes', 'luai_ctype_', 'luaT_typenames_']) expect(vars.map((v) => v.name)).toContain(n);
    });

    it('every global and static: address, whatis and ptype as gdb', async () => {
      const r = await compareWithGdb(run.pid, lua.binary!, vars);
      expect(r.mismatches).toEqual([]);
      expect(r.checked).toBeGreaterThan(20);
    });

    it('types by name: struct lua_State, union GCUnion, typedefs', () => {
      expect(syms.findType('struct lua_State')?.kind).toBe('struct');
      expect(syms.findType('union GCUnion')?.kind).toBe('union');
      expect(syms.findType('lua_Number')?.kind).toBe('typedef');
      expect(syms.findFunctions('luaV_execute')[0]?.type?.kind).toBe('function');
    });
  });
}
