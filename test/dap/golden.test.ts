/**
 * Golden transcripts: whole DAP sessions, every message both ways, with what differs between
 * runs (pids, tids, addresses, times, seq) normalised. They guard the protocol's shape: a change
 * in a response, an event or their order shows up as a diff. `UPDATE_GOLDENS=1 npx vitest run
 * test/dap/golden.test.ts` rewrites them on purpose; review the diff before committing.
 *
 * Only values that hold still are shown (no g_progress), and the live refresh is off, so the
 * transcripts are the same on every run.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { REPO_ROOT, startFixture, type RunningFixture } from '../support/fixtures';
import { threadIds } from '../support/proc';
import { symbolAddress } from '../support/symbols';
import { CLIENT_CAPS, expectGolden, LIVE_FRAME_ID, LIVE_THREAD_ID, normalise, startClient, type Client, type Message } from './harness';

let fx: RunningFixture;
const clients: Client[] = [];
beforeAll(async () => {
  fx = await startFixture('globals');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  await fx?.stop();
});

/**
 * Drops what depends on the machine or on other owners' files rather than on pidscope's
 * protocol: the backend probe wording, and how many globals the fixture's units hold.
 */
function stable(messages: Message[]): Message[] {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o = { ...(v as Record<string, unknown>) };
    if (Array.isArray(o.reasons)) o.reasons = ['<reasons>'];
    if (typeof o.value === 'string' && /^\d+ globals?$/.test(o.value)) {
      o.value = '<n> globals';
      o.namedVariables = '<n>';
    }
    for (const k of Object.keys(o)) if (k !== 'reasons') o[k] = walk(o[k]);
    return o;
  };
  return messages.map((m) => walk(m) as Message);
}

async function run(c: Client, steps: Array<[string, unknown]>): Promise<void> {
  for (const [command, args] of steps) await c.request(command, args);
}

describe('golden transcripts', () => {
  it('attach, browse the live frame, evaluate, read memory, refuse a write, disconnect', async () => {
    const c = await startClient();
    clients.push(c);
    await c.dc.initializeRequest(CLIENT_CAPS);
    const initialized = c.dc.waitForEvent('initialized');
    await c.request('attach', { type: 'pidscope', request: 'attach', name: 'golden', pid: fx.pid, refreshIntervalMs: 0 });
    await initialized;
    const stopped = c.dc.waitForEvent('stopped');
    await c.request('configurationDone', {});
    await stopped;
    await run(c, [
      ['threads', undefined],
      ['stackTrace', { threadId: LIVE_THREAD_ID, startFrame: 0, levels: 20 }],
    ]);
    const scopes = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
    const units = await c.dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference });
    const other = units.body.variables.find((v) => v.name === 'globals_other.c')!;
    const vars = await c.dc.variablesRequest({ variablesReference: other.variablesReference });
    const cfg = vars.body.variables.find((v) => v.name === 'g_other_config')!;
    await c.dc.variablesRequest({ variablesReference: cfg.variablesReference });
    const arr = vars.body.variables.find((v) => v.name === 'g_other_array')!;
    await c.dc.variablesRequest({ variablesReference: arr.variablesReference, filter: 'indexed', start: 1, count: 2 });
    const addr = symbolAddress(fx.pid, 'g_other_array');
    await run(c, [
      ['evaluate', { expression: 'g_other_config.origin', context: 'watch', frameId: LIVE_FRAME_ID }],
      ['evaluate', { expression: 'g_other_array[1] * 3', context: 'repl' }],
      ['evaluate', { expression: 'g_missing', context: 'hover', frameId: LIVE_FRAME_ID }],
      ['readMemory', { memoryReference: `0x${addr.toString(16)}`, offset: 0, count: 16 }],
      ['writeMemory', { memoryReference: `0x${addr.toString(16)}`, data: 'AAAAAA==' }],
    ]);
    // A refused step is followed by `stopped` (clients mark the thread running before the answer).
    const restopped = c.dc.waitForEvent('stopped');
    await run(c, [['next', { threadId: LIVE_THREAD_ID }]]);
    await restopped;
    await run(c, [
      ['pidscope/info', undefined],
      ['disconnect', { terminateDebuggee: false }],
    ]);
    await new Promise((r) => setTimeout(r, 100));
    const norm = normalise(c.transcript, { pids: [fx.pid], tids: threadIds(fx.pid), literals: [[REPO_ROOT, '<repo>']] });
    expectGolden('browse-session', stable(norm));
  });

  it('a session of mistakes: each gets an error and the session keeps serving', async () => {
    const c = await startClient();
    clients.push(c);
    await run(c, [
      ['threads', undefined],
      ['initialize', CLIENT_CAPS],
      ['launch', { program: '/bin/true' }],
      ['attach', { pid: 'self' }],
      ['attach', { pid: 1, backend: 'telepathy' }],
      ['attach', { pid: fx.pid, refreshIntervalMs: 0 }],
      ['attach', { pid: fx.pid }],
      ['configurationDone', {}],
      ['variables', { variablesReference: 4242 }],
      ['scopes', { frameId: 2 }],
      ['readMemory', { memoryReference: 'nowhere', count: 4 }],
      ['readMemory', { memoryReference: '0x10', count: 16 }],
      ['evaluate', { expression: 'g_int +', context: 'repl' }],
      ['setExpression', { expression: 'g_int', value: '1' }],
      ['terminate', {}],
      ['teleport', {}],
      ['threads', undefined],
      ['disconnect', {}],
    ]);
    await new Promise((r) => setTimeout(r, 100));
    const norm = normalise(c.transcript, { pids: [fx.pid], tids: threadIds(fx.pid), literals: [[REPO_ROOT, '<repo>']] });
    expectGolden('mistakes-session', stable(norm));
  });
});
