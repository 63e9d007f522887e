/**
 * Malformed DAP input never ends or deafens a stdio session (issue 16, part 5): each malformed
 * frame is answered with an error (when its seq can be read) or reported, and the next
 * well-formed request is answered. Then a fuzz run with a fixed seed: thousands of malformed
 * frames and of mutated requests against an attached process; after each, the adapter answers
 * a probe. A failing case prints its index and bytes (replay with the same seed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture } from '../support/fixtures';
import { tracerPid } from '../support/proc';
import { waitFor } from './harness';
import { frame, prng, startRawAdapter, type Msg, type RawAdapter } from './raw';

const adapters: RawAdapter[] = [];
function adapter(): RawAdapter {
  const a = startRawAdapter();
  adapters.push(a);
  return a;
}
let fx: RunningFixture;
beforeAll(async () => {
  fx = await startFixture('globals');
});
afterAll(async () => {
  await Promise.all(adapters.map((a) => a.kill()));
  await fx?.stop();
});

const req = (seq: number, command = 'threads', args?: unknown) =>
  JSON.stringify({ seq, type: 'request', command, ...(args === undefined ? {} : { arguments: args }) });

/** Sends `bytes`, then a well-formed probe; resolves with every message up to the probe's response. */
async function sendThenProbe(a: RawAdapter, bytes: Buffer, label: string): Promise<Msg[]> {
  const from = a.messages.length;
  a.write(bytes);
  const s = a.nextSeq() + 1_000_000;
  a.write(frame(req(s, 'pidscope/info')));
  try {
    await a.waitFor(`the probe after ${label}`, (m) => m.type === 'response' && m.request_seq === s, 15_000, from);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}\nbytes sent: ${JSON.stringify(bytes.toString('latin1').slice(0, 400))}`);
  }
  return a.messages.slice(from);
}

const errorFor = (msgs: Msg[], seq: number) => msgs.find((m) => m.type === 'response' && m.request_seq === seq);

describe('pidscope dap: malformed frames on stdio', () => {
  const b = (s: number) => req(s);
  const cases: Array<[string, (s: number) => Buffer, boolean]> = [
    ['non-JSON', () => frame('hello, adapter'), false],
    ['truncated JSON', (s) => frame(b(s).slice(0, -9)), true],
    ['null', () => frame('null'), false],
    ['a Content-Length too small', (s) => Buffer.from(`Content-Length: ${b(s).length - 4}\r\n\r\n${b(s)}`), true],
    ['a Content-Length too large', (s) => Buffer.from(`Content-Length: ${b(s).length + 40}\r\n\r\n${b(s)}`), true],
    ['a doubled Content-Length block', (s) => Buffer.from(`Content-Length: ${b(s).length}\r\n\r\nContent-Length: ${b(s).length}\r\n\r\n${b(s)}`), false],
    ['Content-Length: -5', (s) => Buffer.from(`Content-Length: -5\r\n\r\n${b(s)}`), true],
    ['Content-Length: abc', (s) => Buffer.from(`Content-Length: abc\r\n\r\n${b(s)}`), true],
    ['Content-Length: 1e12', (s) => Buffer.from(`Content-Length: 1e12\r\n\r\n${b(s)}`), true],
    ['binary garbage', () => Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) & 0xff)), false],
  ];

  // One adapter for all the cases: surviving each of them, one after another, is the point.
  let shared: RawAdapter | undefined;
  it.each(cases)('%s: answered or reported, and the session goes on', async (label, make, hasSeq) => {
    if (!shared) {
      shared = adapter();
      expect((await shared.request('initialize', { adapterID: 'pidscope' })).success).toBe(true);
    }
    const a = shared;
    const stderrBefore = a.stderr().length;
    const s = a.nextSeq();
    const msgs = await sendThenProbe(a, make(s), label);
    if (hasSeq) {
      const r = errorFor(msgs, s);
      expect(r, `no error response for seq ${s}: ${JSON.stringify(msgs)}`).toBeDefined();
      expect(r!.success).toBe(false);
      expect(r!.message).toMatch(/malformed DAP message: .*Content-Length: N/);
    } else {
      // Nothing to answer: the client is told in an output event (and stderr says so).
      expect(msgs.some((m) => m.type === 'event' && m.event === 'output' && /malformed DAP input/.test(String((m.body as { output: string }).output)))).toBe(
        true,
      );
    }
    // (stderr is another pipe: it may arrive after the probe's answer)
    await waitFor('the report on stderr', () => (/pidscope dap: malformed DAP input/.test(a.stderr().slice(stderrBefore)) ? true : undefined));
    expect(a.exited()).toBe(false);
  });

  it('a lower-case header and LF-only separators are understood', async () => {
    const a = adapter();
    const s1 = a.nextSeq();
    const s2 = a.nextSeq();
    const r1 = req(s1, 'initialize', { adapterID: 'pidscope' });
    const r2 = req(s2, 'threads');
    a.write(`content-length: ${r1.length}\r\n\r\n${r1}Content-Length: ${r2.length}\n\n${r2}`);
    const init = await a.waitFor('initialize', (m) => m.type === 'response' && m.request_seq === s1);
    expect(init.success).toBe(true);
    const threads = await a.waitFor('threads', (m) => m.type === 'response' && m.request_seq === s2);
    expect(threads.message).toMatch(/has not attached yet/);
  });

  it('a frame cut short and then nothing: answered once the input stalls, then the session goes on', async () => {
    const a = adapter();
    const s = a.nextSeq();
    const body = req(s);
    a.write(`Content-Length: ${body.length + 10}\r\n\r\n${body}`);
    const r = await a.waitFor('the stalled frame', (m) => m.type === 'response' && m.request_seq === s);
    expect(r.message).toMatch(/only \d+ bytes of the body arrived/);
    expect((await a.request('threads')).message).toMatch(/has not attached yet/);
  });

  it('the end of input in the middle of a frame closes cleanly with a message on stderr', async () => {
    const a = adapter();
    a.write('Content-Length: 100\r\n\r\n{"seq":1,');
    a.proc.stdin!.end();
    const e = await a.exit;
    expect(e.code).toBe(0);
    expect(a.stderr()).toMatch(/malformed DAP input: Content-Length was 100 but only 9 bytes of the body arrived \(the input ended\)/);
  });
});

describe('pidscope dap: fuzz (fixed seed)', () => {
  it('2,000 malformed frames: every one answered or reported, every probe answered', async () => {
    const rnd = prng(0x16d4);
    const a = adapter();
    expect((await a.request('initialize', { adapterID: 'pidscope' })).success).toBe(true);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
    const mutate = (buf: Buffer): Buffer => {
      const out = Buffer.from(buf);
      const n = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(rnd() * out.length);
        const op = rnd();
        if (op < 0.4) out[at] = Math.floor(rnd() * 256);
        else if (op < 0.7) return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(rnd() * 8))]);
        else return Buffer.concat([out.subarray(0, at), bytes(1 + Math.floor(rnd() * 8)), out.subarray(at)]);
      }
      return out;
    };
    const generators: Array<(s: number) => Buffer> = [
      (s) => mutate(frame(req(s, 'evaluate', { expression: 'g_int' }))),
      (s) => mutate(frame(req(s))),
      (s) => frame(req(s).slice(0, Math.floor(rnd() * req(s).length))),
      (s) => Buffer.from(`Content-Length: ${Math.floor(rnd() * 200) - 20}\r\n\r\n${req(s)}`),
      (s) =>
        Buffer.from(
          `${pick(['Content-Length', 'content-length', 'CONTENT-LENGTH', 'Content-Lenght', 'Content-Length:'])}: ${pick(['-1', 'abc', '1e3', '0x20', '', ' ', '99999999999', String(req(s).length)])}${pick(['\r\n\r\n', '\n\n', '\r\n', '\n\r\n', '\r\r'])}${req(s)}`,
        ),
      (s) =>
        frame(
          pick([
            'null',
            'true',
            '42',
            '"x"',
            '[]',
            '{}',
            `{"seq":${s}}`,
            `{"seq":${s},"type":"request"}`,
            `{"seq":${s},"type":"request","command":7}`,
            `{"seq":-${s},"type":"request","command":"threads"}`,
            `{"type":"request","command":"threads"}`,
            `{"seq":${s},"type":"event","event":"x"}`,
            `{"seq":${s},"type":"response","request_seq":999,"success":true}`,
          ]),
        ),
      () => bytes(1 + Math.floor(rnd() * 600)),
      (s) => Buffer.concat([bytes(Math.floor(rnd() * 40)), frame(req(s))]),
      (s) => Buffer.from(req(s)),
      (s) => Buffer.from(`Content-Length: ${req(s).length}\r\nContent-Length: ${req(s).length + 1}\r\n\r\n${req(s)}`),
    ];
    for (let i = 0; i < 2000; i++) {
      const s = a.nextSeq();
      const g = Math.floor(rnd() * generators.length);
      const input = generators[g](s);
      await sendThenProbe(a, input, `case ${i} (generator ${g})`);
      if (a.exited()) throw new Error(`the adapter exited after case ${i}`);
    }
    expect(a.exited()).toBe(false);
  });

  it('2,000 mutated requests against an attached process: each answered, the target never stopped', async () => {
    const rnd = prng(0x5eed);
    const a = adapter();
    expect((await a.request('initialize', { adapterID: 'pidscope', supportsInvalidatedEvent: true, supportsMemoryReferences: true })).success).toBe(true);
    const att = await a.request('attach', { pid: fx.pid, refreshIntervalMs: 50 }, 60_000);
    expect(att.success, String(att.message)).toBe(true);
    await a.request('configurationDone');
    const scopes = await a.request('scopes', { frameId: 1 });
    const ref = (scopes.body as { scopes: Array<{ variablesReference: number }> }).scopes[0].variablesReference;
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const weird = (): unknown =>
      pick<() => unknown>([
        () => null,
        () => -1,
        () => 0,
        () => 2 ** 53,
        () => 1e308,
        () => -0.5,
        () => '',
        () => 'g_int',
        () => 'x'.repeat(Math.floor(rnd() * 5000)),
        () => '((struct job *)0)->kind',
        () => `${'('.repeat(300)}1${')'.repeat(300)}`,
        () => Array.from({ length: 3000 }, () => '1').join('+'),
        () => [],
        () => [1, 'a', null],
        () => ({}),
        () => ({ nested: { deeper: [1] } }),
        () => true,
        () => '0xffffffffffffffff',
        () => ref,
        () => 1_000_000_000,
      ])();
    const base: Array<[string, Record<string, unknown>]> = [
      ['threads', {}],
      ['stackTrace', { threadId: 1_000_000_000, startFrame: 0, levels: 20 }],
      ['scopes', { frameId: 1 }],
      ['variables', { variablesReference: ref, start: 0, count: 10 }],
      ['evaluate', { expression: 'g_int + 1', frameId: 1, context: 'watch' }],
      ['evaluate', { expression: 'p g_int', context: 'repl' }],
      ['readMemory', { memoryReference: '0x1000', offset: 0, count: 64 }],
      ['writeMemory', { memoryReference: '0x1000', data: 'AAAA' }],
      ['setVariable', { variablesReference: ref, name: 'g_int', value: '5' }],
      ['setExpression', { expression: 'g_int', value: '5' }],
      ['completions', { text: 'g_', column: 3 }],
      ['source', { sourceReference: 1 }],
      ['pidscope/info', {}],
      ['pidscope/sample', { expressions: ['g_int'] }],
      ['pidscope/view', { frozen: true }],
      ['pidscope/view', { frozen: false }],
      ['pause', { threadId: 1_000_000_000 }],
      ['continue', { threadId: 1_000_000_000 }],
      ['next', { threadId: 1_000_000_000 }],
      ['setBreakpoints', { source: { path: '/x.c' }, breakpoints: [{ line: 3 }] }],
      ['dataBreakpointInfo', { name: 'g_int' }],
      ['attach', { pid: fx.pid }],
      ['initialize', { adapterID: 'x' }],
      ['restart', {}],
      ['launch', {}],
    ];
    for (let i = 0; i < 2000; i++) {
      const [command, args0] = pick(base);
      const args: Record<string, unknown> = { ...args0 };
      let sendArgs: unknown = args;
      const op = rnd();
      const keys = Object.keys(args);
      if (op < 0.5 && keys.length > 0) args[pick(keys)] = weird();
      else if (op < 0.6 && keys.length > 0) delete args[pick(keys)];
      else if (op < 0.7) args[`extra${Math.floor(rnd() * 3)}`] = weird();
      else if (op < 0.8) sendArgs = weird();
      const r = await a.request(command, sendArgs, 30_000).catch((e: Error) => {
        throw new Error(`case ${i}: ${command} ${JSON.stringify(sendArgs)?.slice(0, 300)}: ${e.message}`);
      });
      expect(r.command).toBe(command);
    }
    const info = await a.request('pidscope/info');
    expect(info.success).toBe(true);
    expect(tracerPid(fx.pid)).toBe(0);
    expect(a.exited()).toBe(false);
  });
});
