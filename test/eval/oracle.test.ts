/**
 * THE ORACLE: pidscope's `print` text must equal gdb's on the same live process.
 *
 * For every variant of the `globals` fixture (-O0/-O2, DWARF 4/5, PIE/non-PIE, split debug file,
 * stripped, symtab-only) this walks every global of the main program, plus a few thousand
 * expressions derived from their types (members, elements, address-of, deref through pointers,
 * pointer arithmetic, casts, sizeof, arithmetic; test/eval/generate.ts), evaluates them
 * in-process with Program (while the target runs: TracerPid stays 0), then asks gdb for the same
 * expressions in ONE attach (gdb stops the target meanwhile; everything compared holds still
 * after `ready`; g_progress and g_live_* are excluded). Results must be identical, except the
 * differences listed in KNOWN below, each named as a bug. A few CLI runs check the command line
 * path (stdout, stderr, exit status) too.
 *
 * gdb runs under LC_ALL=C and pidscope with charset 'ascii' (non-ASCII bytes as octal escapes);
 * a second pass compares gdb under C.UTF-8 with pidscope's 'utf-8' charset (valid UTF-8 sequences
 * and wide characters print as characters), since gdb follows the user's locale.
 */
import { realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Program } from '../../adapter/src/engine/program';
import { gdbMessage } from '../../adapter/src/eval/evaluate';
import type { VariableSymbol } from '../../adapter/src/symbols/provider';
import { INDEXED_VARIANTS, startFixture, STRIPPED_VARIANTS, VARIANTS, type RunningFixture, type Variant } from '../support/fixtures';
import { gdbBatch, gdbPrintResults } from '../support/gdb';
import { tracerPid } from '../support/proc';
import { expressionsFor } from './generate';
import { pidscope } from '../cli/run';

interface Known {
  bug: string;
  /** Matches the expression. */
  expr: RegExp;
  /** Only in these variants (all when absent). */
  variants?: Variant[];
}

/**
 * Differences we know about. Every entry is a bug (or a limitation we chose), not noise.
 */
const KNOWN: Known[] = [
  {
    // BUG-TLS: without debug info a __thread symbol's module TLS block is known but its type is
    // not, and gdb's answer comes from libc's debug info; the symbols engine places thread-locals
    // through glibc's thread lists (tls.ts) only for variables it has DWARF for.
    bug: 'BUG-TLS',
    expr: /g_tls_/,
    variants: ['symtab-only', 'stripped'],
  },
  {
    // BUG-PROTNONE: gdb reads through /proc/PID/mem, whose FOLL_FORCE reads PROT_NONE pages
    // (zeros); process_vm_readv and pidfd-mem honour the protection, so pidscope reports
    // `Cannot access memory` there. g_guard_page is PROT_NONE; the page below g_guarded is a
    // PROT_NONE guard too. (`--backend proc-mem` reads them like gdb.)
    bug: 'BUG-PROTNONE',
    expr: /g_guard_page|^g_guarded - 1$/,
  },
  {
    // BUG-REGISTERS: gdb's $pc/$sp/$rax read the registers of a thread it has stopped; pidscope
    // never stops one, so registers and gdb's convenience variables are unknown names.
    bug: 'BUG-REGISTERS',
    expr: /^\$/,
  },
  {
    // BUG-MSYM-ORDER: with no debug info in the executable, names that several modules define
    // (crt and linker symbols) resolve in gdb to another module's definition (gdb walks
    // objfiles in link-map order and prefers libc's debug info); pidscope prefers the
    // executable's own symbol.
    bug: 'BUG-MSYM-ORDER',
    expr: /__abi_tag|__do_global_dtors_aux_fini_array_entry|__frame_dummy_init_array_entry|_GLOBAL_OFFSET_TABLE_|__dso_handle|_DYNAMIC|__FRAME_END__/,
    variants: ['symtab-only', 'stripped'],
  },
];

// gdb-index and gdb-names carry a name index gdb wrote (.gdb_index / .debug_names): there the
// expressions are printed by a second Program that never lists the globals, with the persistent
// index off, so every name is looked up through that index (symbols/dwarf/compilerIndex.ts).
// The clang-built INDEXED_VARIANTS are left out: clang's DWARF shows ~20 differences from gdb
// (`unsigned __int128`, `complex`, clang's names of function statics in ELF symbols), the
// same with and without the index, that are no part of the index.
const ALL: Variant[] = [...VARIANTS, ...STRIPPED_VARIANTS, 'gdb-index', 'gdb-names'];
const isIndexed = (v: Variant) => (INDEXED_VARIANTS as readonly string[]).includes(v);

/** Hand-written expressions over the fixture: the syntax the generator does not reach. */
const CURATED = [
  '(struct rect *)g_void_ptr',
  '((struct rect *)g_void_ptr)->name',
  '*(struct point *)&g_points[2]',
  '*(int (*)[4])g_row_ptr',
  '*(int (*)[8])&g_int_array',
  '(*(int (*)[3][4])&g_matrix)[2]',
  '(unsigned char)g_int',
  '(signed char)200',
  '(short)-1',
  '(unsigned short)-1',
  '(long long)g_uint * 2',
  '(unsigned long long)-1',
  '(_Bool)5',
  '(float)g_double',
  '(long double)g_float',
  '(double)g_long_double_third',
  '(enum color)1',
  '(enum perm)7',
  '(enum perm)0x20',
  '(char)65',
  "'\\n'",
  "'\\x41'",
  "'\\0'",
  "'\\''",
  "L'x'",
  '"a\\tb"',
  'sizeof("abc")',
  '"日本"',
  'sizeof("日本")',
  '"é\\x41"',
  "'é'",
  'sizeof(int)',
  'sizeof(long double)',
  'sizeof(struct outer)',
  'sizeof(union wide)',
  'sizeof(enum color)',
  'sizeof g_rects / sizeof g_rects[0]',
  'g_int_array[1] + g_int_array[2] * g_int_array[3]',
  '(g_int_array[0] + 1) << 4',
  '-g_int_array[1] % 3',
  'g_int > 0 ? g_rect.name : g_cstr',
  'g_null_ptr ? *g_null_ptr : -1',
  'g_int_ptr && *g_int_ptr == g_int',
  'g_null_ptr || g_int_ptr',
  '!g_null_ptr',
  '(1, 2, g_point)',
  'g_int_array + 3 == &g_int_array[3]',
  '&g_int_array[5] - g_int_array',
  '&g_int_array[5] > &g_int_array[2]',
  'g_points[1].y * g_points[4].x',
  'g_rects[0].top_left',
  'g_rects[1].name',
  'g_nested.mid.arr[1].c',
  'g_nested.ptr->x + g_nested.ptr->y',
  'g_table->buckets[0]',
  '*g_table->buckets[1]',
  'g_table->buckets[1]->next->key',
  'g_list_head->next->next->label',
  '*g_list_head->next->next->next',
  'g_blob->items[2]',
  'g_blob->items',
  'g_blob->tag',
  '*g_blob->items@g_blob->len',
  'g_big_buffer[4096]',
  'g_big_buffer[1000000] + 0',
  '*g_big_ptr@8',
  'g_big_buffer[0]@300',
  'g_long_array[250]@10',
  'g_guarded[100]',
  '*g_dangling_ptr',
  'g_dangling_ptr[3]',
  '*(int *)0',
  '*(struct rect *)16',
  'g_unmapped_page',
  '*(char *)g_unmapped_page',
  '{int} &g_int',
  '{struct point} g_point_in_array',
  '{char [5]} g_cstr',
  "'globals.c'::s_same_name + 'globals_other.c'::s_same_name",
  'first_scope::counter - second_scope::counter',
  'other_scope::counter',
  '*g_ops.open',
  'g_ops.open == ops_open',
  'g_binops[1]',
  '*g_binops[0]',
  'g_ops_ptr->name',
  '*g_ops_ptr',
  'g_default_ops.close',
  'main',
  '&main',
  '*main',
  'add_ints',
  'g_opaque_ptr',
  '*g_opaque_ptr',
  'g_opaque_ptr->secret',
  'g_other_ptr->origin',
  'g_tagged.f',
  'g_tagged.x + g_tagged.y',
  'g_bits.spans + 1',
  'g_bits.wide * 2',
  '&g_bits.sneg',
  'g_union.f * 2',
  'g_union_wide.parts',
  'g_u128',
  'g_i128',
  'g_i128 + 1',
  'g_complex',
  'g_long_double * 3',
  'g_long_double_neg / 7',
  'g_float_denormal * 2',
  'g_double_nan == g_double_nan',
  'g_double_nan != g_double_nan',
  'g_double_inf - g_double_inf',
  '1.0 / 3',
  '1.0f / 3',
  '1.0l / 3',
  '0x7fffffff + 1',
  '2147483648',
  '4294967296',
  '18446744073709551615',
  '0b1010 | 0x0f',
  '017 + 1',
  '10u - 20',
  '-1 < 0u',
  '1 << 31',
  '-8 >> 1',
  '100 / 0',
  '1 +',
  'g_rect.',
  'g_rect->name',
  'g_int.x',
  'nope',
  'g_rect.nope',
  'g_int[0]',
  '*g_void_ptr',
  '&1',
  '(struct nope *)0',
  'sizeof(struct nope)',
  '(nope_t)1',
  '$pc',
  'COLOR_BLUE',
  'COLOR_BLUE + 1',
  'g_color == COLOR_BLUE',
  '(enum color)COLOR_GREEN',
  'PERM_READ | PERM_EXEC',
  'TEMP_COLD',
  'TAG_FLOAT',
  'g_tagged.tag == TAG_FLOAT',
  'sizeof(COLOR_RED)',
  'BIG_HUGE',
  'NO_SUCH_ENUMERATOR',
];
const LIVE = /^g_(progress|live_)/;

function knownFor(variant: Variant, expr: string): Known | undefined {
  return KNOWN.find((k) => k.expr.test(expr) && (!k.variants || k.variants.includes(variant)));
}

for (const variant of ALL) {
  describe(`oracle: globals (${variant}) pidscope print == gdb print`, () => {
    let fx: RunningFixture;
    let exprs: string[] = [];
    let ours: string[] = [];
    let theirs: string[] = [];
    let vars: VariableSymbol[] = [];

    beforeAll(async () => {
      fx = await startFixture('globals', { variant });
      const savedCache = process.env.PIDSCOPE_INDEX_CACHE;
      if (isIndexed(variant)) process.env.PIDSCOPE_INDEX_CACHE = '0';
      const program = await Program.open(fx.pid);
      let printer: Program | undefined;
      try {
        const bin = realpathSync(fx.binary);
        vars = program.globals().filter((v) => v.module === bin && !LIVE.test(v.name));
        exprs = expressionsFor(vars).filter((e) => !/g_progress|g_live_/.test(e));
        if (!(STRIPPED_VARIANTS as readonly string[]).includes(variant)) exprs.push(...CURATED);
        if (isIndexed(variant)) printer = await Program.open(fx.pid);
        const p = printer ?? program;
        ours = exprs.map((e) => {
          try {
            return p.print(e, { charset: 'ascii' });
          } catch (x) {
            return gdbMessage(x);
          }
        });
        // pidscope read everything without stopping anyone.
        expect(tracerPid(fx.pid)).toBe(0);
      } finally {
        program.close();
        printer?.close();
        if (savedCache === undefined) delete process.env.PIDSCOPE_INDEX_CACHE;
        else process.env.PIDSCOPE_INDEX_CACHE = savedCache;
      }
      const results = await gdbPrintResults(fx.pid, exprs, { locale: 'C', timeoutMs: 240_000 });
      theirs = results.map((r) => (r.ok ? r.text : r.error));
    }, 900_000);

    afterAll(async () => {
      await fx?.stop();
    });

    it('walks every global of the program', () => {
      expect(vars.length).toBeGreaterThan(0);
      if (!(STRIPPED_VARIANTS as readonly string[]).includes(variant)) {
        // Every shape the fixture has, found by name.
        for (const name of ['g_int', 'g_rect', 'g_bits', 'g_tagged', 'g_ops', 'g_list_head', 'g_big_buffer', 's_file_counter', 'counter']) {
          expect(
            vars.some((v) => v.name === name),
            name,
          ).toBe(true);
        }
        expect(exprs.length).toBeGreaterThan(1000);
      }
    });

    it('prints what gdb prints (or the difference is a named bug)', () => {
      const unexplained: string[] = [];
      const explained = new Map<string, number>();
      exprs.forEach((e, i) => {
        if (ours[i] === theirs[i]) return;
        const k = knownFor(variant, e);
        if (k) explained.set(k.bug, (explained.get(k.bug) ?? 0) + 1);
        else unexplained.push(`print ${e}\n    gdb:      ${theirs[i]}\n    pidscope: ${ours[i]}`);
      });
      if (explained.size) console.log(`${variant}: ${exprs.length} expressions, known differences: ${[...explained].map(([b, n]) => `${b}×${n}`).join(', ')}`);
      expect(unexplained, `${unexplained.length} of ${exprs.length} expressions differ from gdb`).toEqual([]);
      // The comparison is not vacuous: most expressions are equal and not errors.
      const equal = exprs.filter((_, i) => ours[i] === theirs[i]).length;
      expect(equal).toBeGreaterThan(exprs.length * 0.8);
    });
  });
}

describe('oracle: UTF-8 locale (gdb LC_ALL=C.UTF-8, pidscope charset utf-8)', () => {
  let fx: RunningFixture;
  let exprs: string[] = [];
  let ours: string[] = [];
  let theirs: string[] = [];
  beforeAll(async () => {
    fx = await startFixture('globals', { variant: 'O0-dwarf5-pie' });
    const program = await Program.open(fx.pid);
    try {
      const bin = realpathSync(fx.binary);
      const vars = program.globals().filter((v) => v.module === bin && !LIVE.test(v.name));
      exprs = expressionsFor(vars).filter((e) => !/g_progress|g_live_/.test(e));
      ours = exprs.map((e) => {
        try {
          return program.print(e, { charset: 'utf-8' });
        } catch (x) {
          return gdbMessage(x);
        }
      });
    } finally {
      program.close();
    }
    theirs = (await gdbPrintResults(fx.pid, exprs, { locale: 'C.UTF-8', timeoutMs: 240_000 })).map((r) => (r.ok ? r.text : r.error));
  }, 900_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it('prints what gdb prints, characters included (or the difference is a named bug)', () => {
    const unexplained = exprs
      .map((e, i) => (ours[i] === theirs[i] || knownFor('O0-dwarf5-pie', e) ? undefined : `print ${e}\n    gdb:      ${theirs[i]}\n    pidscope: ${ours[i]}`))
      .filter((x): x is string => x !== undefined);
    expect(unexplained, `${unexplained.length} of ${exprs.length} differ`).toEqual([]);
    // Characters really are characters here.
    expect(ours[exprs.indexOf('g_wide')]).toBe('L"wide \u00fc\\000"');
  });
});

describe('oracle: print/x and print/z (hex, as DAP shows it) == gdb', () => {
  let fx: RunningFixture;
  // o, t, d, u and c are implemented for integers only; gdb's rules for them on floats, complex
  // and pointers (raw bits, unsigned chars…) are not imitated yet, so they are not claimed here.
  const FORMATS = ['x', 'z'] as const;
  let exprs: string[] = [];
  const ours = new Map<string, string[]>();
  const theirs = new Map<string, string[]>();
  beforeAll(async () => {
    fx = await startFixture('globals', { variant: 'O0-dwarf5-pie' });
    const program = await Program.open(fx.pid);
    try {
      const bin = realpathSync(fx.binary);
      const vars = program.globals().filter((v) => v.module === bin && !LIVE.test(v.name));
      exprs = expressionsFor(vars, { derive: false }).filter((e) => !e.startsWith('sizeof'));
      for (const f of FORMATS) {
        ours.set(
          f,
          exprs.map((e) => {
            try {
              return program.print(e, { charset: 'ascii', format: f });
            } catch (x) {
              return gdbMessage(x);
            }
          }),
        );
      }
    } finally {
      program.close();
    }
    for (const f of FORMATS) {
      const r = await gdbBatch(
        fx.pid,
        exprs.map((expr) => ({ kind: 'print' as const, expr, format: f })),
        { locale: 'C', timeoutMs: 240_000 },
      );
      theirs.set(
        f,
        r.map((x) => (x.ok ? x.text : x.error)),
      );
    }
  }, 900_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it('every global in both hex formats', () => {
    const diff: string[] = [];
    for (const f of FORMATS) {
      exprs.forEach((e, i) => {
        const o = ours.get(f)![i];
        const g = theirs.get(f)![i];
        if (o !== g && !knownFor('O0-dwarf5-pie', e) && !KNOWN_FORMAT.some((k) => k.test(f, e, g)))
          diff.push(`print/${f} ${e}\n    gdb:      ${g}\n    pidscope: ${o}`);
      });
    }
    expect(diff, `${diff.length} differ`).toEqual([]);
  });
});

/** print/FMT corners not done (named): gdb-specific behaviours we chose not to imitate. */
const KNOWN_FORMAT: Array<{ bug: string; test(f: string, e: string, gdb: string): boolean }> = [];

describe('pidscope refuses what would change or stop the target', () => {
  let fx: RunningFixture;
  beforeAll(async () => {
    fx = await startFixture('globals', { variant: 'O0-dwarf5-pie' });
  }, 900_000);
  afterAll(async () => {
    await fx?.stop();
  });
  it('assignments, ++/--, function calls: a clear error, the value unchanged', async () => {
    const program = await Program.open(fx.pid);
    try {
      for (const [e, msg] of [
        ['g_int = 5', /Assignment is not supported/],
        ['g_int += 1', /Assignment is not supported/],
        ['g_int++', /\+\+ is not supported/],
        ['--g_int', /-- is not supported/],
        ['add_ints(1, 2)', /Function calls are not supported/],
      ] as const) {
        expect(() => program.evaluate(e)).toThrow(msg);
      }
      expect(program.print('g_int')).toBe('123456789');
    } finally {
      program.close();
    }
  });
});

const runCli = (args: string[]) => pidscope(args, { env: { LC_ALL: 'C' } });

describe('oracle: `pidscope eval` command line == gdb print', () => {
  let fx: RunningFixture;
  beforeAll(async () => {
    fx = await startFixture('globals', { variant: 'O0-dwarf5-pie' });
  }, 900_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it('prints one line per expression, exactly gdb text; errors on stderr and exit 1', async () => {
    const exprs = [
      'g_int',
      'g_rect',
      'g_str',
      '&g_int',
      'g_binops',
      "'globals_other.c'::s_same_name",
      'second_scope::counter',
      'g_rect_ptr->name',
      '*g_list_head->next',
      'sizeof(struct rect)',
      'g_double * 2',
    ];
    const out = await runCli(['eval', '--pid', String(fx.pid), ...exprs]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const gdb = await gdbPrintResults(fx.pid, exprs, { locale: 'C' });
    expect(out.stdout).toBe(gdb.map((r) => (r.ok ? r.text : r.error)).join('\n') + '\n');

    const bad = await runCli(['eval', '--pid', String(fx.pid), 'g_int', 'no_such_thing', 'g_rect.nope', '1 +']);
    expect(bad.code).toBe(1);
    const [g] = await gdbPrintResults(fx.pid, ['g_int'], { locale: 'C' });
    expect(bad.stdout).toBe(`${g.ok ? g.text : ''}\n`);
    expect(bad.stderr).toContain('No symbol "no_such_thing" in current context.');
    expect(bad.stderr).toContain('There is no member named nope.');
    expect(bad.stderr).toContain("A syntax error in expression, near `'.");
    expect(bad.stderr).toContain("(at column 7 of `g_rect.nope')");
    expect(bad.stderr).toContain("(at column 4 of `1 +')");
  });

  it('--json gives type, address and structure', async () => {
    const out = await runCli(['eval', '--pid', String(fx.pid), '--json', 'g_point', 'g_int_array']);
    expect(out.code).toBe(0);
    const j = JSON.parse(out.stdout) as Array<Record<string, unknown>>;
    expect(j[0]).toMatchObject({ expression: 'g_point', type: 'struct point', text: '{x = 7, y = -7}', fields: { x: { value: 7 }, y: { value: -7 } } });
    expect(j[1]).toMatchObject({ expression: 'g_int_array', type: 'int [8]', length: 8 });
    expect((j[1].elements as Array<{ value: number }>).map((e) => e.value)).toEqual([1, -2, 3, -4, 5, -6, 7, -8]);
  });
});
