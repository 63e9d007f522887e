// gdb as an oracle works on every debug variant: the fixtures keep their globals at -O2, in
// DWARF 4 and 5, PIE or not, and with a separate debug file. These expectations double as a
// record of how gdb 13 prints each shape (pidscope must print the same).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPPED_VARIANTS, VARIANTS, startFixture, type RunningFixture } from './fixtures';
import { gdbBatch, gdbPrint, gdbPtype, gdbReadBytes, gdbReadMany } from './gdb';
import { readProcMem, readU64 } from './proc';
import { symbolAddress } from './symbols';

// Address-independent values that hold still after `ready` (see fixtures/README.md).
const EXPECTED: [string, string][] = [
  ['g_int', '123456789'],
  ['g_char', "65 'A'"],
  ['g_uchar', "250 '\\372'"],
  ['g_short', '-12345'],
  ['g_ulong', '16045690984503098046'],
  ['g_llong', '-9223372036854775808'],
  ['g_ullong', '18446744073709551615'],
  ['g_i8', "-128 '\\200'"],
  ['g_bool_true', 'true'],
  ['g_float', '3.25'],
  ['g_double', '2.7182818284590451'],
  ['g_double_neg_zero', '-0'],
  ['g_double_inf', 'inf'],
  ['g_double_nan', 'nan(0x8000000000000)'],
  ['g_long_double', '1.5'],
  ['g_str', `"hello, pidscope", '\\000' <repeats 16 times>`],
  ['g_str_embedded_nul', '"ab\\000cd\\000ef\\000\\000\\000"'],
  ['g_nonprint', '"\\000\\001\\033\\177\\200\\376\\377A"'],
  ['g_not_terminated', '"abcde"'],
  ['g_escapes', '"tab\\there\\nnl \\"q\\" \\\\ bs"'],
  ['g_repeats', '{7 <repeats 30 times>, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}'],
  ['g_zeros', "'\\000' <repeats 63 times>"],
  ['g_matrix', '{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}}'],
  ['g_points_repeat', '{{x = 1, y = 1} <repeats 12 times>}'],
  ['g_rect.top_left', '{x = -10, y = 20}'],
  ['g_nested.mid.arr[1]', "{a = 5, c = 122 'z', s = -6}"],
  ['g_union', '{i = 1065353216, f = 1, bytes = "\\000\\000\\200?"}'],
  ['g_bits', "{flag = 1, mode = 5, delta = -7, spans = 2748, sneg = -33, on = true, wide = 78187493530, tail = 2 '\\002'}"],
  ['g_tagged', '{tag = TAG_FLOAT, {i = -1090519040, f = -0.5}, {x = 12, y = -13}, tail = 14}'],
  ['g_color', 'COLOR_BLUE'],
  ['g_temp', 'TEMP_COLD'],
  ['g_color_unknown', '(COLOR_BLUE | unknown: 0x28)'],
  ['g_perm', '(PERM_READ | PERM_EXEC)'],
  ['g_perm_unknown', '(PERM_WRITE | unknown: 0x10)'],
  ['g_perm_zero', '0'],
  ['g_big_enum', 'BIG_HUGE'],
  ['g_typedef_chain', '31337'],
  ['g_list_head->next->next->label', '"node-3\\000\\000\\000\\000\\000"'],
  ['g_table->count', '7'],
  ['g_blob->items[5]', '60'],
  ['first_scope::counter', '101'],
  ['second_scope::counter', '201'],
  ['other_scope::counter', '301'],
  ["'globals.c'::s_same_name", '1'],
  ["'globals_other.c'::s_same_name", '2'],
  ['s_file_counter', '4242'],
  ['*g_opaque_ptr', '{secret = 6211559, code = "opq"}'],
  ['g_const_greeting', '"read-only greeting"'],
  ['g_volatile_point', '{x = 8, y = 9}'],
  ['*g_dangling_ptr', 'Cannot access memory at address 0x10'],
  ['g_tls_label', `"main", '\\000' <repeats 11 times>`],
  ['g_other_config.origin', '{x = 3, y = -4}'],
  ['g_long_array[299]', '299'],
  ['*g_row_ptr', '{5, 6, 7, 8}'],
  ['g_atomic_int', '5'],
  ['g_words', '{"one\\000\\000\\000\\000", "two\\000\\000\\000\\000", "three\\000\\000"}'],
  ['g_self.self->self->value', '17'],
  ['g_complex', '1.5 + 2.5i'],
  ['no_such_symbol', 'No symbol "no_such_symbol" in current context.'],
];

describe.each(VARIANTS)('gdb on globals, variant %s', (variant) => {
  let fx: RunningFixture;
  beforeAll(async () => {
    fx = await startFixture('globals', { variant });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('prints every expected value in one attach', async () => {
    const out = await gdbPrint(
      fx.pid,
      EXPECTED.map(([e]) => e),
    );
    expect(Object.fromEntries(EXPECTED.map(([e], i) => [e, out[i]]))).toEqual(Object.fromEntries(EXPECTED));
  });

  it('reads the same bytes as /proc/PID/mem, and reports unreadable memory', async () => {
    const big = symbolAddress(fx.pid, 'g_big_buffer');
    const edge = readU64(fx.pid, symbolAddress(fx.pid, 'g_hole_edge'));
    const [bytes, guard] = await gdbReadMany(fx.pid, [
      { address: big + 4090n, length: 4100 },
      { address: edge + 4090n, length: 16 },
    ]);
    expect(bytes).toBeInstanceOf(Buffer);
    const expected = Buffer.alloc(4100, 0).map((_, j) => (((4090 + j) * 31) ^ ((4090 + j) >> 12)) & 0xff);
    expect((bytes as Buffer).equals(Buffer.from(expected))).toBe(true);
    expect((bytes as Buffer).equals(readProcMem(fx.pid, big + 4090n, 4100))).toBe(true);
    expect(guard).toBeInstanceOf(Error);
    expect((guard as Error).message).toMatch(/Cannot access memory at address 0x/);
    // /proc/PID/mem stops at the hole: 6 readable bytes.
    expect(readProcMem(fx.pid, edge + 4090n, 16).length).toBe(6);
  });

  it('gives ptype', async () => {
    const [t] = await gdbPtype(fx.pid, ['g_tagged']);
    expect(t).toContain('enum {TAG_INT, TAG_FLOAT} tag;');
  });
});

describe.each(STRIPPED_VARIANTS)('gdb on globals, variant %s (no debug info)', (variant) => {
  it('knows no types, and says so', async () => {
    const fx = await startFixture('globals', { variant });
    try {
      const [g, cast] = await gdbPrint(fx.pid, ['g_int', '*(int *)&g_int']);
      if (variant === 'symtab-only') {
        expect(g).toBe("'g_int' has unknown type; cast it to its declared type");
        expect(cast).toBe('123456789');
      } else {
        expect(g).toBe('No symbol "g_int" in current context.');
      }
    } finally {
      await fx.stop();
    }
  });
});

describe('gdbBatch', () => {
  it('fails loudly when it cannot attach instead of printing file contents', async () => {
    await expect(gdbBatch(2 ** 22 + 12345, [{ kind: 'print', expr: '1' }])).rejects.toThrow(/could not attach to pid/);
  });

  it('reads raw bytes and runs raw commands', async () => {
    const fx = await startFixture('globals');
    try {
      const addr = symbolAddress(fx.pid, 'g_int');
      expect((await gdbReadBytes(fx.pid, addr, 4)).readInt32LE(0)).toBe(123456789);
      const [cmd] = await gdbBatch(fx.pid, [{ kind: 'command', command: 'output g_point' }]);
      expect(cmd).toEqual({ ok: true, text: '{x = 7, y = -7}' });
    } finally {
      await fx.stop();
    }
  });
});
