/**
 * `pidscope globals` on live fixtures: grouped by module and compile unit, gdb-formatted values,
 * function statics as function::name, raw bytes when there is no debug info, JSON form, and the
 * target never stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { pidscope } from '../cli/run';

const runCli = (args: string[]) => pidscope(args);

describe('pidscope globals', () => {
  let fx: RunningFixture;
  let stripped: RunningFixture;
  beforeAll(async () => {
    fx = await startFixture('globals', { variant: 'O0-dwarf5-pie' });
    stripped = await startFixture('globals', { variant: 'symtab-only' });
  });
  afterAll(async () => {
    await fx?.stop();
    await stripped?.stop();
  });

  it('lists by module and compile unit with gdb-formatted values', async () => {
    const out = await runCli(['globals', '--pid', String(fx.pid)]);
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toBe(fx.binary);
    expect(lines).toContain('  globals.c');
    expect(lines).toContain('  globals_other.c');
    expect(lines).toContain('    int g_int = 123456789');
    expect(lines).toContain('    struct point g_point = {x = 7, y = -7}');
    expect(lines).toContain('    int (*g_binops[3])(int, int) = {' + lines.find((l) => l.includes('g_binops'))!.split('= {')[1]);
    expect(lines).toContain('    int first_scope::counter = 101');
    expect(lines).toContain('    int other_scope::counter = 301');
    // Thread-locals: the main thread's value (gdb's default thread), read without ptrace.
    expect(lines).toContain('    int g_tls_int = 29015');
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('filters, and gives JSON', async () => {
    const out = await runCli(['globals', '--pid', String(fx.pid), '--json', 's_same_name']);
    expect(out.code).toBe(0);
    const j = JSON.parse(out.stdout) as Array<{ module: string; units: Array<{ name: string; variables: Array<Record<string, unknown>> }> }>;
    expect(j).toHaveLength(1);
    const vars = j[0].units.flatMap((u) => u.variables);
    expect(vars.map((v) => [v.expression, v.text])).toEqual([
      ["'globals.c'::s_same_name", '1'],
      ["'globals_other.c'::s_same_name", '2'],
    ]);
  });

  it('shows raw bytes by symbol size when there is no debug info', async () => {
    const out = await runCli(['globals', '--pid', String(stripped.pid), 'g_int']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('    g_int = <no debug info, 4 bytes: 15 cd 5b 07>');
  });
});
