/**
 * Call stacks of real threads over DAP: Pause on a real thread takes a snapshot (the thread keeps
 * running), stackTrace/scopes/variables/evaluate show that frame, Continue drops it.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markerLine, startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { attach, startClient, type Client } from './harness';

let fx: RunningFixture;
let c: Client;
let nested: number;
beforeAll(async () => {
  fx = await startFixture('stacks');
  nested = readdirSync(`/proc/${fx.pid}/task`)
    .map(Number)
    .find((t) => readFileSync(`/proc/${fx.pid}/task/${t}/comm`, 'utf8').trim() === 'nested')!;
  c = await startClient();
  await attach(c, { pid: fx.pid, refreshIntervalMs: 0 });
}, 60_000);
afterAll(async () => {
  await c?.stop();
  await fx?.stop();
});

describe('DAP: stacks of real threads', () => {
  it('pause → stopped (pause) for that thread, which keeps running', async () => {
    const stopped = c.dc.waitForEvent('stopped');
    await c.dc.pauseRequest({ threadId: nested });
    const ev = (await stopped) as DebugProtocol.StoppedEvent;
    expect(ev.body).toMatchObject({ reason: 'pause', threadId: nested, allThreadsStopped: false });
    // Short: VS Code prints it beside the thread's name in the Call Stack view.
    expect(ev.body.description).toMatch(/^snapshot \d\d:\d\d:\d\d\.\d\d\d$/);
    expect(ev.body.text).toMatch(/^snapshot of \d\d:\d\d:\d\d\.\d\d\d \(.+\) — the thread keeps running/);
    expect(tracerPid(fx.pid)).toBe(0);
  });

  it('stackTrace: frames with sources and lines; scopes Locals, Arguments, Registers; evaluate in a frame', async () => {
    const st = await c.dc.stackTraceRequest({ threadId: nested });
    const names = st.body.stackFrames.map((f) => f.name);
    expect(names.slice(0, 7)).toEqual(['__GI___libc_read [inlined]', '__GI___libc_read', 'block_here', 'nested_c', 'nested_b', 'nested_a', 'nested_thread']);
    const fc = st.body.stackFrames[3];
    expect(fc.source?.path).toMatch(/fixtures\/stacks\.c$/);
    expect(fc.line).toBe(markerLine('stacks.c', 'NESTED_C'));
    const scopes = (await c.dc.scopesRequest({ frameId: fc.id })).body.scopes;
    expect(scopes.map((s) => s.name)).toEqual(['Locals', 'Arguments', 'Registers']);
    const locals = (await c.dc.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables;
    expect(locals.find((v) => v.name === 'counter')?.value).toBe('7');
    expect(locals.find((v) => v.name === 'corner')?.value).toBe('{x = 2, y = 4}');
    const corner = locals.find((v) => v.name === 'corner')!;
    const kids = (await c.dc.variablesRequest({ variablesReference: corner.variablesReference })).body.variables;
    expect(kids.map((k) => `${k.name}=${k.value}`)).toEqual(['x=2', 'y=4']);
    const args = (await c.dc.variablesRequest({ variablesReference: scopes[1].variablesReference })).body.variables;
    expect(args.map((a) => a.name)).toEqual(['label', 'p', 'scale']);
    const regs = (await c.dc.variablesRequest({ variablesReference: scopes[2].variablesReference })).body.variables;
    expect(regs.find((r) => r.name === 'rip')?.value).toMatch(/^0x[0-9a-f]+$/);
    const ev = await c.dc.evaluateRequest({ expression: 'corner.y + counter', frameId: fc.id, context: 'watch' });
    expect(ev.body.result).toBe('11');
    const glob = await c.dc.evaluateRequest({ expression: 'g_progress > 0', frameId: fc.id, context: 'watch' });
    expect(glob.body.result).toBe('1');
  });

  it('continue drops the snapshot; the live view is untouched', async () => {
    const r = await c.dc.continueRequest({ threadId: nested });
    expect(r.body.allThreadsContinued).toBe(false);
    const st = await c.dc.stackTraceRequest({ threadId: nested });
    expect(st.body.stackFrames).toEqual([]);
    expect(tracerPid(fx.pid)).toBe(0);
  });
});
