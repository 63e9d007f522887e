/**
 * Optimised-C shapes the globals fixture lacks (fixtures/quirks.c), each found by comparing with
 * gdb on a real program: an optimized-out file-static beside a same-named static of another
 * unit, casts of optimized-out values, statics of an always-inlined function, an expression
 * that starts with `-`, and `/x` in JSON output. pidscope's text must equal gdb's `print`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Program } from '../../adapter/src/engine/program';
import { gdbMessage } from '../../adapter/src/eval/evaluate';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { gdbPrintResults } from '../support/gdb';
import { tracerPid } from '../support/proc';
import { pidscope } from '../cli/run';

const runCli = (args: string[]) => pidscope(args);

const EXPRESSIONS = [
  "'quirks.c'::noeval",
  "&'quirks.c'::noeval",
  "(long)'quirks.c'::noeval",
  "(int)'quirks.c'::noeval",
  "(unsigned int)'quirks.c'::noeval",
  "(char)'quirks.c'::noeval",
  "'quirks.c'::noeval + 1",
  "'quirks_other.c'::noeval",
  'dropped_ptr',
  '(char *)dropped_ptr',
  '(long)dropped_ptr',
  '-g_small',
  '-g_negative_source * 2',
];

describe('quirks of optimised C (O2)', () => {
  let fx: RunningFixture;
  let program: Program;
  beforeAll(async () => {
    fx = await startFixture('quirks', { variant: 'O2-dwarf5-pie' });
    program = await Program.open(fx.pid);
  });
  afterAll(async () => {
    program?.close();
    await fx?.stop();
  });

  it('prints what gdb prints', async () => {
    const ours = EXPRESSIONS.map((e) => {
      try {
        return program.print(e, { charset: 'ascii' });
      } catch (err) {
        return `<error: ${gdbMessage(err)}>`;
      }
    });
    expect(tracerPid(fx.pid)).toBe(0);
    const gdb = await gdbPrintResults(fx.pid, EXPRESSIONS);
    const theirs = gdb.map((r) => (r.ok ? r.text : `<error: ${r.error}>`));
    expect(ours).toEqual(theirs);
    // The bugs these pin: another unit's symbol must not stand in for the optimized-out static.
    expect(ours[0]).toBe('<optimized out>');
    expect(ours[2]).toBe('<error: value has been optimized out>');
  });

  it('globals gives no expression for an inlined function static (neither gdb nor eval can name it)', async () => {
    const listed = await runCli(['globals', '--pid', String(fx.pid)]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/int read_a_line::buffer_size = 11  \(no expression names it: read_a_line is always inlined\)\n/);
    expect(listed.stdout).toMatch(/int noeval = <optimized out>\n/);
    const json = await runCli(['globals', '--pid', String(fx.pid), '--json', 'buffer_size']);
    const vars = (JSON.parse(json.stdout) as Array<{ units: Array<{ variables: Array<{ expression: string | null; text: string }> }> }>)[0].units.flatMap(
      (u) => u.variables,
    );
    expect(vars).toEqual([expect.objectContaining({ expression: null, text: '11' })]);
    // Every expression globals gives is one eval accepts.
    const all = await runCli(['globals', '--pid', String(fx.pid), '--json']);
    const exprs = (JSON.parse(all.stdout) as Array<{ units: Array<{ variables: Array<{ expression: string | null }> }> }>)[0].units
      .flatMap((u) => u.variables.map((v) => v.expression))
      .filter((e): e is string => e !== null);
    const out = await runCli(['eval', '--pid', String(fx.pid), ...exprs]);
    expect(out.stderr).not.toMatch(/No symbol/);
    const gdb = await gdbPrintResults(fx.pid, ['read_a_line::buffer_size']);
    expect(gdb[0]).toEqual({ ok: false, error: 'No symbol "read_a_line" in current context.' });
  });

  it('eval: an expression may start with `-`; `--json` keeps `/x`; --language is checked', async () => {
    const neg = await runCli(['eval', '--pid', String(fx.pid), '-g_small', '--', '-1']);
    expect(neg).toMatchObject({ code: 0, stdout: '-3\n-1\n' });
    const typo = await runCli(['eval', '--pid', String(fx.pid), '--jsn', 'g_small']);
    expect(typo.code).toBe(2);
    const json = await runCli(['eval', '--pid', String(fx.pid), '--json', '/x g_small', 'g_small']);
    expect(json.code).toBe(0);
    const j = JSON.parse(json.stdout) as Array<{ text: string }>;
    expect(j.map((x) => x.text)).toEqual(['0x3', '3']);
    const lang = await runCli(['eval', '--pid', String(fx.pid), '--language', 'pascal', 'g_small']);
    expect(lang.code).toBe(2);
    expect(lang.stderr).toMatch(/unknown language 'pascal'.*c, c\+\+/s);
    const c = await runCli(['eval', '--pid', String(fx.pid), '--language', 'c', 'g_small == 3']);
    expect(c).toMatchObject({ code: 0, stdout: '1\n' });
    expect(tracerPid(fx.pid)).toBe(0);
  });
});
