/**
 * A real DAP client (@vscode/debugadapter-testsupport's DebugClient) talking to `pidscope dap`
 * run from the sources, plus a transcript of every message for golden files.
 */
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from '../support/fixtures';

export const LIVE_THREAD_ID = 1_000_000_000;
export const LIVE_FRAME_ID = 1;

export type Message = { type: 'request' | 'response' | 'event'; [k: string]: unknown };

export interface Client {
  dc: DebugClient;
  /** Every message both ways, in order. */
  transcript: Message[];
  /** Every event received, in order. */
  events: DebugProtocol.Event[];
  /** Sends a request and returns the response whether it succeeded or not (never throws). */
  request(command: string, args?: unknown): Promise<DebugProtocol.Response>;
  stop(): Promise<void>;
}

export const CLIENT_CAPS: DebugProtocol.InitializeRequestArguments = {
  adapterID: 'pidscope',
  clientID: 'vscode',
  clientName: 'DebugClient (tests)',
  linesStartAt1: true,
  columnsStartAt1: true,
  pathFormat: 'path',
  supportsVariableType: true,
  supportsVariablePaging: true,
  supportsRunInTerminalRequest: false,
  supportsMemoryReferences: true,
  supportsProgressReporting: true,
  supportsInvalidatedEvent: true,
  supportsMemoryEvent: true,
};

/**
 * A DebugClient whose adapter is `pidscope dap DAP_ARGS…` run from the sources (adapter-entry.ts
 * with tsx), with `env` added to ours. Not started yet.
 */
export function adapterClient(dapArgs: string[] = [], env: Record<string, string> = {}): DebugClient {
  const extra = dapArgs.length ? { PIDSCOPE_TEST_DAP_ARGS: JSON.stringify(dapArgs) } : {};
  const dc = new DebugClient(
    process.execPath,
    join(REPO_ROOT, 'test', 'dap', 'adapter-entry.ts'),
    'pidscope',
    { cwd: REPO_ROOT, env: { ...process.env, NODE_OPTIONS: '--import tsx', ...env, ...extra } },
    true,
  );
  dc.defaultTimeout = 60_000;
  return dc;
}

/** Kills the adapter process a DebugClient spawned (the library's method for it is not public). */
export function stopAdapter(dc: DebugClient): void {
  (dc as unknown as { stopAdapter(): void }).stopAdapter();
}

export async function startClient(): Promise<Client> {
  const dc = adapterClient();
  const transcript: Message[] = [];
  const events: DebugProtocol.Event[] = [];
  const anyDc = dc as unknown as { dispatch(body: string): void; doSend(command: string, args: unknown, clb: (r: DebugProtocol.Response) => void): void };
  const dispatch = anyDc.dispatch.bind(dc);
  anyDc.dispatch = (body: string) => {
    const msg = JSON.parse(body) as Message;
    transcript.push(msg);
    if (msg.type === 'event') events.push(msg as unknown as DebugProtocol.Event);
    dispatch(body);
  };
  const doSend = anyDc.doSend.bind(dc);
  anyDc.doSend = (command, args, clb) => {
    transcript.push({ type: 'request', command, arguments: args });
    doSend(command, args, clb);
  };
  await dc.start();
  const request = (command: string, args?: unknown) =>
    dc.send(command, args).then(
      (r) => r,
      (e: Error) => ({ success: false, message: e.message, command }) as DebugProtocol.Response,
    );
  const stop = async () => {
    // The adapter may be gone already (it exits after a disconnect): never wait for ever.
    await Promise.race([dc.disconnectRequest({}).catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    stopAdapter(dc);
  };
  return { dc, transcript, events, request, stop };
}

/** On a DebugClient that has sent initialize: attach → (initialized) → configurationDone → the live view's first stopped. */
export async function attachLive(dc: DebugClient, args: Record<string, unknown>): Promise<void> {
  const initialized = dc.waitForEvent('initialized', 60_000);
  const stopped = dc.waitForEvent('stopped', 60_000);
  await dc.attachRequest(args as DebugProtocol.AttachRequestArguments);
  await initialized;
  await dc.configurationDoneRequest();
  await stopped;
}

/** initialize → attach → (initialized) → configurationDone → stopped on the live thread. */
export async function attach(c: Client, args: Record<string, unknown>): Promise<DebugProtocol.Response> {
  await c.dc.initializeRequest(CLIENT_CAPS);
  const initialized = c.dc.waitForEvent('initialized');
  const stopped = c.dc.waitForEvent('stopped');
  const r = await c.request('attach', { type: 'pidscope', request: 'attach', name: 'test', ...args });
  if (!r.success) throw new Error(`attach failed: ${r.message}`);
  await initialized;
  await c.dc.configurationDoneRequest();
  const ev = (await stopped) as DebugProtocol.StoppedEvent;
  expect(ev.body.threadId).toBe(LIVE_THREAD_ID);
  return r;
}

/** Runs `f` again (from the scopes, as VS Code would) when a refresh made its references stale. */
export async function retryStale<T>(f: () => Promise<T>, ok: (v: T) => boolean = () => true): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const v = await f();
      if (ok(v) || attempt >= 20) return v;
    } catch (e) {
      if (attempt >= 20 || !/earlier refresh/.test(String(e))) throw e;
    }
  }
}

/**
 * Variables of the live frame's first scope (the main program's globals), flattened by unit.
 * Like VS Code, starts again from the scopes when a refresh made the references stale.
 */
export async function mainGlobals(c: Client): Promise<Map<string, DebugProtocol.Variable>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await mainGlobalsOnce(c);
    } catch (e) {
      if (attempt >= 20 || !/earlier refresh/.test(String(e))) throw e;
    }
  }
}

async function mainGlobalsOnce(c: Client): Promise<Map<string, DebugProtocol.Variable>> {
  const scopes = await c.dc.scopesRequest({ frameId: LIVE_FRAME_ID });
  const first = scopes.body.scopes[0];
  const out = new Map<string, DebugProtocol.Variable>();
  const walk = async (ref: number) => {
    const vars = await c.dc.variablesRequest({ variablesReference: ref });
    for (const v of vars.body.variables) {
      if (v.presentationHint?.kind === 'virtual' && v.variablesReference) await walk(v.variablesReference);
      else out.set(v.name, v);
    }
  };
  await walk(first.variablesReference);
  return out;
}

/** The DAP tests' name for the shared poll-until (test/support/wait.ts). */
export { until as waitFor } from '../support/wait';

// ------------------------------------------------------------------ golden transcripts

export interface Normaliser {
  pids: number[];
  /** Thread ids of the targets (other than the pids). */
  tids?: number[];
  /** Strings replaced verbatim (paths of binaries, names of temp dirs). */
  literals?: Array<[string, string]>;
}

/** Replaces what differs between runs (pids, tids, addresses, times, seq) with stable tokens. */
export function normalise(transcript: Message[], n: Normaliser): Message[] {
  const tids = new Map<number, string>();
  const addrs = new Map<string, string>();
  const pidSet = new Set(n.pids);
  const tidSet = new Set((n.tids ?? []).filter((t) => !pidSet.has(t)));
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'number') {
      if (key === 'seq' || key === 'request_seq') return 0;
      if (key === 'snapshotTime' || key === 'time') return '<time>';
      if (pidSet.has(v)) return '<pid>';
      if (tidSet.has(v)) {
        if (!tids.has(v)) tids.set(v, `<tid${tids.size + 1}>`);
        return tids.get(v);
      }
      return v;
    }
    if (typeof v === 'string') {
      let s = v;
      for (const [from, to] of n.literals ?? []) s = s.split(from).join(to);
      for (const p of n.pids) s = s.replace(new RegExp(`\\b${p}\\b`, 'g'), '<pid>');
      for (const t of tidSet)
        s = s.replace(new RegExp(`\\b${t}\\b`, 'g'), () => {
          if (!tids.has(t)) tids.set(t, `<tid${tids.size + 1}>`);
          return tids.get(t)!;
        });
      s = s.replace(/0x[0-9a-f]{5,16}\b/g, (a) => {
        if (!addrs.has(a)) addrs.set(a, `<addr${addrs.size + 1}>`);
        return addrs.get(a)!;
      });
      s = s.replace(/\b\d\d:\d\d:\d\d\.\d\d\d\b/g, '<clock>');
      s = s.replace(/\b\d+(\.\d+)? ms\b/g, '<n> ms');
      return s;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x, k);
      return o;
    }
    return v;
  };
  return transcript.map((m) => walk(m) as Message);
}

/** Compares with test/dap/golden/<name>.json; UPDATE_GOLDENS=1 rewrites the file instead. */
export function expectGolden(name: string, messages: Message[]): void {
  const file = join(REPO_ROOT, 'test', 'dap', 'golden', `${name}.json`);
  const text = `${JSON.stringify(messages, null, 2)}\n`;
  if (process.env.UPDATE_GOLDENS === '1' || !existsSync(file)) {
    if (process.env.CI && !existsSync(file)) throw new Error(`golden ${file} is missing: run UPDATE_GOLDENS=1 npx vitest run test/dap and commit it`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return;
  }
  expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(file, 'utf8')));
}
