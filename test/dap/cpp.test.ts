/**
 * C++ through a real DAP client: the Variables view and Watch (evaluate in the live frame) show
 * libstdc++ objects with the same views as `pidscope eval` (gdb's printers), and a std::vector,
 * a std::map and a class with a base expand to what gdb's printers list as children.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cxxFixturePath, startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { attach, LIVE_FRAME_ID, mainGlobals, retryStale, startClient, type Client } from './harness';

describe('DAP: C++ values (fixtures/stl.cpp, g++ -O0)', () => {
  let fx: RunningFixture;
  let c: Client;
  beforeAll(async () => {
    fx = await startFixture('cxx', { binary: cxxFixturePath('stl', 'gcc-O0-dwarf5') });
    c = await startClient();
    await attach(c, { pid: fx.pid });
  });
  afterAll(async () => {
    await c?.stop();
    await fx?.stop();
  });

  const children = async (ref: number) => (await c.dc.variablesRequest({ variablesReference: ref })).body.variables.map((v) => `${v.name} = ${v.value}`);

  it('Variables: a std::vector shows gdb’s view and expands to its elements', async () => {
    const globals = await mainGlobals(c);
    const vec = globals.get('g_vec');
    expect(vec?.value).toBe('std::vector of length 3, capacity 4 = {1, 2, 3}');
    expect(vec?.variablesReference).toBeGreaterThan(0);
    const kids = await retryStale(() => children(vec!.variablesReference));
    expect(kids).toEqual(['[0] = 1', '[1] = 2', '[2] = 3']);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('Watch: evaluate in the live frame gives the same views, and a map expands to its pairs', async () => {
    const r = await c.dc.evaluateRequest({ expression: 'g_vec', frameId: LIVE_FRAME_ID, context: 'watch' });
    expect(r.body.result).toBe('std::vector of length 3, capacity 4 = {1, 2, 3}');
    const m = await c.dc.evaluateRequest({ expression: 'g_map', frameId: LIVE_FRAME_ID, context: 'watch' });
    expect(m.body.result).toMatch(/^std::map with \d+ elements? = \{\[/);
    expect(m.body.variablesReference).toBeGreaterThan(0);
    const kids = await retryStale(() => children(m.body.variablesReference));
    expect(kids.length).toBeGreaterThan(0);
    expect(kids.every((k) => /^\[.+\] = /.test(k))).toBe(true);
    const s = await c.dc.evaluateRequest({ expression: 'g_short_str', frameId: LIVE_FRAME_ID, context: 'hover' });
    expect(s.body.result).toMatch(/^".*"$/);
    expect(tracerPid(fx.pid)).toBe(0);
  });
});
