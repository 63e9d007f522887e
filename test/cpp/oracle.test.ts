/**
 * THE C++ ORACLE: `pidscope` print text equals gdb's `print` (language c++, as pidscope picks
 * from the main unit's DW_AT_language) on the C++ fixture (fixtures/cxx.cpp), built by g++ and
 * clang++ at -O0/-O2 with DWARF 4/5: every global of the program plus derived expressions.
 * Differences are listed in KNOWN, each a named bug; gdb's own failures (an exception where a
 * value exists) are "not comparable", never a pass.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Program } from '../../adapter/src/engine/program';
import { gdbMessage } from '../../adapter/src/eval/evaluate';
import { CXX_VARIANTS, cxxFixturePath, startFixture, type CxxVariant, type RunningFixture } from '../support/fixtures';
import { gdbPrintResults } from '../support/gdb';
import { tracerPid } from '../support/proc';

interface Known {
  bug: string;
  expr: RegExp;
  variants?: RegExp;
}

/** Differences we know about: every entry is a bug or a limitation we chose. */
export const KNOWN: Known[] = [];

/** gdb's own failures on values that exist (gdb 13 bugs): not comparable. */
const GDB_BROKEN: Array<{ expr: RegExp; why: string }> = [
  // `print` of a std::nullptr_t object: gdb 13 says "Attempt to dereference a generic pointer."
  { expr: /^g_nullptr$/, why: 'gdb 13 cannot print std::nullptr_t' },
];

/** Expressions over the fixture that the globals list does not reach. */
export const DERIVED = [
  'ns::g_widget.id',
  'g_widget_ref.id',
  'g_widget_ptr->id',
  '*g_widget_ptr',
  '*g_shape_ptr',
  'g_shape_ptr->sides',
  'g_derived.base_x',
  'g_derived.derived_y',
  'g_multi.tag',
  'g_multi.id',
  'g_circle.r',
  'g_circle.sides',
  'g_diamond.d',
  'g_diamond.l',
  'g_box.items',
  'g_box.items[1]',
  'g_box.count',
  'g_cbox.items[0]',
  'g_int_ref + 1',
  'g_int_ref * 2',
  '&g_int_ref',
  '*&g_int_ref',
  'g_rvalue_ref - 2',
  'g_true + 1',
  '!g_true',
  'g_int == 42',
  'g_int != 42',
  '!g_int',
  'g_int > 1 && g_true',
  'g_mode',
  '(long)g_mode',
  '(int)g_plain',
  'sizeof(g_box)',
  'sizeof(g_derived)',
  'sizeof(Derived)',
  'sizeof(ns::Widget)',
  'g_with_union.u',
  'g_with_union.u.i',
  'g_with_union.named.c',
  'g_with_union.kind',
  'g_u16_array[1]',
  '*g_u8_str',
  '*g_u16_str',
  'g_c16 + 1',
  'ns::Widget::instance_count',
  'ns::inner::g_name',
  "'(anonymous namespace)::g_hidden'",
  'ns::inner::g_value + ns::g_value',
  'g_hidden',
  'g_base_ptr->base_x',
  '*g_base_ptr',
  '(Base *)&g_derived',
  '*(Derived *)g_base_ptr',
  '(ns::Widget *)g_widget_ptr',
  '*(ns::Widget *)&g_multi.id',
  'sizeof(ns::Widget)',
  'sizeof(Shape)',
  'ns::Widget::instance_count * 2',
  'g_derived.base_x + g_derived.derived_y',
  'Mode::Auto',
  '(Mode)1',
  '(Mode)5',
  '(int)Mode::Auto',
  'PLAIN_A',
  'g_plain == PLAIN_B',
  'g_widget_ref.id == 7',
  'g_shape_ref.sides',
  '&g_shape_ref',
  '&g_circle',
  '&ns::g_widget',
  'g_lambda_ptr',
  '*g_lambda_ptr',
  'g_with_union.named',
  'g_box.items[0] + g_box.items[2]',
  'g_u32_str[1]',
  'g_diamond.r',
  'static_cast<Base*>(&g_derived)',
  'static_cast<ns::Widget *>(&g_multi)',
  '(ns::Widget *)&g_multi',
  '*static_cast<ns::Widget *>(&g_multi)',
  'static_cast<Multi *>((ns::Widget *)&g_multi)->tag',
  'reinterpret_cast<long>(g_shape_ptr) == reinterpret_cast<long>(&g_circle)',
  'static_cast<int>(g_mode)',
  'const_cast<int *>(&g_const_ref)',
  'sizeof(Box<int, 3>)',
  'sizeof(Box<char, 2>)',
  '(Box<int, 3> *)&g_box',
  '*(Box<char, 2> *)&g_cbox',
  '((Box<int, 3> *)&g_box)->items[2]',
  'true',
  '!false',
  'g_true == true',
  'sizeof(bool)',
  '(bool)2',
  '::g_int',
  '::g_int + ::ns::g_value',
];

const CLANG = existsSync('/usr/bin/clang++');
const CI = process.env.PIDSCOPE_CI === '1';

function known(expr: string, variant: string): Known | undefined {
  return KNOWN.find((k) => k.expr.test(expr) && (!k.variants || k.variants.test(variant)));
}

for (const variant of CXX_VARIANTS) {
  const needsClang = variant.startsWith('clang');
  const built = existsSync(cxxFixturePath('cxx', variant));
  if (needsClang && !CLANG && !CI) {
    console.warn(`SKIP test/cpp/oracle ${variant}: clang++ is not installed (apt-get install clang; .ci/run does)`);
    continue;
  }
  describe(`C++ oracle (${variant})`, () => {
    let fx: RunningFixture;
    let program: Program;
    beforeAll(async () => {
      if (!built) throw new Error(`${cxxFixturePath('cxx', variant)} is not built: run make -C fixtures (clang++ installed: ${CLANG})`);
      fx = await startFixture('cxx', { binary: cxxFixturePath('cxx', variant as CxxVariant) });
      program = await Program.open(fx.pid);
    });
    afterAll(async () => {
      program?.close();
      await fx?.stop();
    });

    it('picks C++ from the main unit', () => {
      expect(program.language.name).toBe('c++');
    });

    it('dynamic_cast reads the dynamic class from the vtable (gdb 13 prints the vtable address instead: not comparable)', () => {
      const circle = program.print('&g_circle', { charset: 'ascii' }).replace(/^\(Circle \*\) /, '');
      expect(program.print('dynamic_cast<Circle*>(g_shape_ptr)')).toBe(`(Circle *) ${circle}`);
      expect(program.print('dynamic_cast<void*>(g_shape_ptr)')).toBe(`(void *) ${circle}`);
      expect(program.print('dynamic_cast<Left*>((Right *)&g_diamond)')).toBe(program.print('(Left *)&g_diamond'));
      expect(program.print('dynamic_cast<Derived*>((Left *)&g_diamond)')).toBe('(Derived *) 0x0');
    });

    it('DAP children of classes: bases, static members and references, each equal to gdb printing its evaluateName', async () => {
      const rows: Array<{ name: string; expr: string; text: string }> = [];
      for (const parent of ['g_derived', 'g_multi', 'ns::g_widget', 'g_widget_ref', 'g_diamond', 'g_circle', 'g_shape_ref', 'g_with_union']) {
        for (const c of program.children(program.evaluate(parent), 0, 50, parent)) {
          let text: string;
          try {
            text = program.formatValue(c.object, { charset: 'ascii' });
          } catch (err) {
            text = `<error: ${gdbMessage(err)}>`;
          }
          if (c.evaluateName !== undefined) rows.push({ name: `${parent} → ${c.name}`, expr: c.evaluateName, text });
        }
      }
      expect(rows.map((r) => r.name)).toEqual(
        expect.arrayContaining(['g_derived → <Base>', 'g_derived → derived_y', 'ns::g_widget → static instance_count', 'g_widget_ref → id']),
      );
      const gdb = await gdbPrintResults(
        fx.pid,
        rows.map((r) => r.expr),
        { settings: ['set language c++'], locale: 'C' },
      );
      const diffs = rows
        .map((r, i) => ({
          ...r,
          gdb: (gdb[i].ok ? gdb[i].text : `<error: ${gdb[i].error}>`).replace(/\nWarning: the current language does not match this frame\.$/, ''),
        }))
        .filter((r) => r.gdb !== r.text)
        .map((r) => `${r.name} (${r.expr})\n  gdb:      ${r.gdb}\n  pidscope: ${r.text}`);
      expect(diffs).toEqual([]);
    });

    it('prints every global and derived expression as gdb does (or the difference is a named bug)', async () => {
      const main = program.globalsTree()[0];
      const names = new Set<string>();
      for (const u of main.units)
        for (const v of u.variables) if (v.scope !== 'function-static' && v.name !== 'fixture_stop') names.add(v.name.includes('(') ? `'${v.name}'` : v.name);
      const exprs = [...names, ...DERIVED];
      expect(names.size).toBeGreaterThan(35);
      const ours = exprs.map((e) => {
        try {
          return program.print(e, { charset: 'ascii' });
        } catch (err) {
          return `<error: ${gdbMessage(err)}>`;
        }
      });
      expect(tracerPid(fx.pid)).toBe(0);
      const gdb = await gdbPrintResults(fx.pid, exprs, { settings: ['set language c++'], locale: 'C' });
      const unexplained: string[] = [];
      const explained = new Map<string, number>();
      exprs.forEach((e, i) => {
        const g = gdb[i];
        // `set language c++` while stopped in a C frame (libc) makes gdb warn once.
        const theirs = (g.ok ? g.text : `<error: ${g.error}>`).replace(/\nWarning: the current language does not match this frame\.$/, '');
        if (ours[i] === theirs) return;
        if (GDB_BROKEN.some((b) => b.expr.test(e))) return;
        const k = known(e, variant);
        if (k) explained.set(k.bug, (explained.get(k.bug) ?? 0) + 1);
        else unexplained.push(`print ${e}\n  gdb:      ${theirs}\n  pidscope: ${ours[i]}`);
      });
      if (explained.size) console.log(`${variant}: ${exprs.length} expressions, known differences: ${[...explained].map(([b, n]) => `${b}×${n}`).join(', ')}`);
      expect(unexplained, `${unexplained.length} of ${exprs.length} differ from gdb`).toEqual([]);
    });
  });
}
