/**
 * The symbols engine against gdb on live fixture processes, every variant: each static-storage
 * variable of the main program has gdb's address (`print &x`), gdb's `whatis` and gdb's `ptype`.
 * Thread-locals must be absent with the thread-pointer reason (gdb: "a thread-local variable").
 *
 * gdb stops the target while attached; these tests make no never-stopped claims. loadSymbols
 * runs before gdb attaches and reads /proc only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSymbols, type ProcessSymbols } from '../../adapter/src/symbols/index';
import type { VariableSymbol } from '../../adapter/src/symbols/provider';
import { ptypeText, typeName } from '../../adapter/src/lang/c/typeName';
import { startFixture, STRIPPED_VARIANTS, VARIANTS, type RunningFixture } from '../support/fixtures';
import { gdbBatch, type GdbRequest } from '../support/gdb';
import { tracerPid } from '../support/proc';

/** gdb's way to name the variable unambiguously. */
function gdbName(v: VariableSymbol): string {
  if (v.scope === 'function-static') return `${v.function}::${v.name}`;
  const cu = v.compileUnit ?? '';
  return `'${cu.slice(cu.lastIndexOf('/') + 1)}'::${v.name}`;
}

for (const variant of VARIANTS) {
  describe(`globals (${variant}) vs gdb`, () => {
    let fx: RunningFixture;
    let syms: ProcessSymbols;
    let vars: VariableSymbol[];
    let results: Map<string, { whatis: string; ptype: string; addr: string; info: string; symbol: string }>;

    beforeAll(async () => {
      fx = await startFixture('globals', { variant });
      syms = await loadSymbols(fx.pid);
      expect(tracerPid(fx.pid)).toBe(0);
      const main = syms.modules[0];
      vars = [...syms.allVariables()].filter((v) => v.module === main.path);
      const reqs: GdbRequest[] = [];
      for (const v of vars) {
        const n = gdbName(v);
        // `info address` takes a plain name (or function::name), not 'file.c'::name.
        const plain = v.scope === 'function-static' ? n : v.name;
        reqs.push(
          { kind: 'whatis', expr: n },
          { kind: 'ptype', expr: n },
          { kind: 'print', expr: `&${n}` },
          { kind: 'command', command: `info address ${plain}` },
          { kind: 'command', command: v.address !== undefined ? `info symbol 0x${v.address.toString(16)}` : 'echo' },
        );
      }
      const out = await gdbBatch(fx.pid, reqs, { binary: fx.binary });
      results = new Map();
      vars.forEach((v, i) => {
        const t = (r: (typeof out)[number]) => (r.ok ? r.text : `error: ${r.error}`);
        const k = 5 * i;
        results.set(gdbName(v), { whatis: t(out[k]), ptype: t(out[k + 1]), addr: t(out[k + 2]), info: t(out[k + 3]), symbol: t(out[k + 4]) });
      });
    });
    afterAll(async () => {
      await fx?.stop();
    });

    it('finds the main program with debug info, no warnings for it', () => {
      const main = syms.modules[0];
      expect(main.isMain).toBe(true);
      expect(main.path).toBe(fx.binary);
      expect(main.debugElf).toBeDefined();
      if (variant === 'split') expect(main.debugFile).toMatch(/globals\.debug$/);
      expect(syms.warnings.filter((w) => w.includes(fx.binary))).toEqual([]);
      expect(syms.dwarfErrors()).toEqual([]);
    });

    it('finds every global gdb knows, in both units', () => {
      const names = new Set(vars.map((v) => v.name));
      for (const n of ['g_int', 'g_rect', 'g_bits', 'g_other_config', 's_same_name', 'counter', 'g_tls_int', 'g_list_head', 'g_default_ops'])
        expect(names).toContain(n);
      expect(
        vars
          .filter((v) => v.name === 'counter')
          .map((v) => v.function)
          .sort(),
      ).toEqual(['first_scope', 'other_scope', 'second_scope']);
      expect(
        vars
          .filter((v) => v.name === 's_same_name')
          .map((v) => v.compileUnit?.replace(/.*\//, ''))
          .sort(),
      ).toEqual(['globals.c', 'globals_other.c']);
    });

    it('every address equals gdb print &x; thread-locals are absent with the reason', () => {
      const mismatches: string[] = [];
      for (const v of vars) {
        const r = results.get(gdbName(v))!;
        if (v.absentReason?.startsWith('thread-local') || /thread-local/.test(r.info)) {
          if (!/thread-local/.test(r.info)) mismatches.push(`${gdbName(v)}: we say TLS, gdb: ${r.info}`);
          if (v.address !== undefined || v.absentReason !== 'thread-local: needs the thread pointer')
            mismatches.push(`${gdbName(v)}: TLS but got ${v.address} / ${v.absentReason}`);
          continue;
        }
        if (v.scope === 'function-static' && /No symbol "\w+" in current context/.test(r.addr)) {
          // gdb cannot name statics of a function that was inlined everywhere (no out-of-line
          // copy, so no block for `fn::name`); check the ELF symbol gcc gave it (`name.N`).
          if (!new RegExp(`^${v.name}(\\.\\d+)? in section`).test(r.symbol)) mismatches.push(`${gdbName(v)}: info symbol says ${r.symbol}`);
          continue;
        }
        if (v.address === undefined) {
          // gdb has no address either (optimized out / constant) — both must agree.
          if (/0x[0-9a-f]+/.test(r.addr) && !/optimized out|Can't take address/.test(r.addr))
            mismatches.push(`${gdbName(v)}: gdb ${r.addr}, we: absent (${v.absentReason})`);
          continue;
        }
        // `(int *) 0x… <g_int>`, or for char: `0x… <g_char> "A…"`.
        const m = /(0x[0-9a-f]+)/.exec(r.addr);
        if (!m || BigInt(m[1]) !== v.address) mismatches.push(`${gdbName(v)}: gdb ${r.addr}, we 0x${v.address.toString(16)}`);
      }
      expect(mismatches).toEqual([]);
    });

    it('every type prints as gdb whatis and ptype', () => {
      const mismatches: string[] = [];
      for (const v of vars) {
        const r = results.get(gdbName(v))!;
        if (v.scope === 'function-static' && /No symbol "\w+" in current context/.test(r.whatis)) continue; // see above
        const w = typeName(v.type!);
        const p = ptypeText(v.type!);
        if (w !== r.whatis) mismatches.push(`whatis ${gdbName(v)}: gdb «${r.whatis}» we «${w}»`);
        if (p !== r.ptype) mismatches.push(`ptype ${gdbName(v)}: gdb «${r.ptype}» we «${p}»`);
      }
      expect(mismatches).toEqual([]);
    });

    it('findVariables honours file and function scopes; findType spells base types any C way', () => {
      expect(syms.findVariables('s_same_name', { file: 'globals_other.c' })).toHaveLength(1);
      expect(syms.findVariables('counter', { function: 'second_scope' })).toHaveLength(1);
      expect(syms.findVariables('counter', { function: 'second_scope' })[0].address).toBe(
        vars.find((v) => v.name === 'counter' && v.function === 'second_scope')!.address,
      );
      expect(syms.findVariables('g_int')[0].scope).toBe('global');
      for (const [spelling, name] of [
        ['unsigned', 'unsigned int'],
        ['long unsigned int', 'unsigned long'],
        ['unsigned  long', 'unsigned long'],
        ['short int', 'short'],
        ['signed char', 'signed char'],
        ['long long', 'long long'],
      ]) {
        const t = syms.findType(spelling);
        expect(t && typeName(t)).toBe(name);
      }
      expect(typeName(syms.findType('struct point')!)).toBe('struct point');
      expect(ptypeText(syms.findType('struct point')!)).toBe('struct point {\n    int x;\n    int y;\n}');
      expect(syms.findType('union number')?.kind).toBe('union');
      expect(syms.findType('enum color')?.kind).toBe('enum');
      expect(syms.findType('final_level_t')?.kind).toBe('typedef');
      expect(syms.findType('struct no_such_thing')).toBeUndefined();
    });

    it('functions, symbolize and source lines agree with gdb', async () => {
      const [f] = syms.findFunctions('add_ints');
      expect(f).toBeDefined();
      expect(typeName(f.type!)).toBe('int (int, int)');
      const g = vars.find((v) => v.name === 'g_int')!;
      expect(syms.symbolize(g.address! + 2n)).toEqual({ symbol: 'g_int', offset: 2n, module: fx.binary });
      expect(syms.symbolize(f.address + 1n)?.symbol).toBe('add_ints');
      const loc = syms.sourceLocation(f.address);
      const out = await gdbBatch(
        fx.pid,
        [
          { kind: 'command', command: `info line *0x${f.address.toString(16)}` },
          { kind: 'print', expr: '&add_ints' },
        ],
        { binary: fx.binary },
      );
      expect(out[1].ok && out[1].text).toContain(`0x${f.address.toString(16)} <add_ints>`);
      const m = /Line (\d+) of "([^"]+)"/.exec(out[0].ok ? out[0].text : '');
      expect(m).not.toBeNull();
      expect(loc?.line).toBe(Number(m![1]));
      expect(loc?.file.endsWith(m![2].replace(/.*\//, ''))).toBe(true);
      expect(loc?.function).toBe('add_ints');
    });
  });
}

for (const variant of STRIPPED_VARIANTS) {
  describe(`globals (${variant}): no debug info`, () => {
    let fx: RunningFixture;
    beforeAll(async () => {
      fx = await startFixture('globals', { variant });
    });
    afterAll(async () => {
      await fx?.stop();
    });

    it('warns about missing debug info and answers from ELF symbols without types', async () => {
      const syms = await loadSymbols(fx.pid);
      expect(syms.warnings.some((w) => w.includes(fx.binary) && /no debug info/.test(w))).toBe(true);
      expect(syms.modules[0].debugElf).toBeUndefined();
      if (variant === 'symtab-only') {
        const [v] = syms.findVariables('g_int');
        expect(v.type).toBeUndefined();
        expect(v.size).toBe(4);
        expect(v.address).toBeDefined();
        const [out] = await gdbBatch(fx.pid, [{ kind: 'command', command: 'info address g_int' }], { binary: fx.binary });
        // 'Symbol "g_int" is at 0x… in a file compiled without debugging.'
        const m = /is at (0x[0-9a-f]+)/.exec(out.ok ? out.text : '');
        expect(m && BigInt(m[1])).toBe(v.address);
      } else {
        expect(syms.findVariables('g_int')).toEqual([]);
      }
      // Libraries still resolve: libc's own symbols are there.
      expect(syms.findFunctions('malloc').length).toBeGreaterThan(0);
    });
  });
}
