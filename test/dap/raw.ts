/**
 * A DAP client that writes raw bytes: `pidscope dap` run from the sources as its own process on
 * stdio, so a malformed frame reaches the adapter exactly as sent, and an adapter that exits
 * (the library's reader calls process.exit on a parse error) is seen as exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/fixtures';

export type Msg = { type: string; seq: number; [k: string]: unknown };

export interface RawAdapter {
  proc: ChildProcess;
  /** Every message from the adapter, in order. */
  messages: Msg[];
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited(): boolean;
  write(bytes: Buffer | string): void;
  /** Sends a well-formed request; resolves with its response. */
  request(command: string, args?: unknown, timeoutMs?: number): Promise<Msg>;
  /** The next message matching `f` (already received or future). */
  waitFor(what: string, f: (m: Msg) => boolean, timeoutMs?: number, from?: number): Promise<Msg>;
  nextSeq(): number;
  kill(): Promise<void>;
}

export function frame(body: string): Buffer {
  return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export function startRawAdapter(args: string[] = []): RawAdapter {
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'test', 'dap', 'adapter-entry.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '--import tsx' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: Msg[] = [];
  let err = '';
  let buf = Buffer.alloc(0);
  const waiters = new Set<() => void>();
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  // 'close', not 'exit': the adapter's last stderr and stdout bytes have arrived by then.
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on('close', (code, signal) => {
      exitInfo = { code, signal };
      res(exitInfo);
      for (const w of waiters) w();
    }),
  );
  proc.stdin!.on('error', () => undefined);
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  proc.stdout!.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const h = buf.indexOf('\r\n\r\n');
      if (h < 0) break;
      const m = /Content-Length: (\d+)/.exec(buf.toString('latin1', 0, h));
      if (!m) throw new Error(`adapter wrote a frame without Content-Length: ${buf.toString('latin1', 0, h)}`);
      const n = Number(m[1]);
      if (buf.length < h + 4 + n) break;
      messages.push(JSON.parse(buf.toString('utf8', h + 4, h + 4 + n)) as Msg);
      buf = buf.subarray(h + 4 + n);
    }
    for (const w of waiters) w();
  });
  let seq = 1;
  const waitFor = (what: string, f: (m: Msg) => boolean, timeoutMs = 15_000, from = 0): Promise<Msg> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = messages.slice(from).find(f);
        if (hit) {
          done();
          resolve(hit);
        } else if (exitInfo) {
          done();
          reject(new Error(`the adapter exited (code ${exitInfo.code}, signal ${exitInfo.signal}) while waiting for ${what}; stderr: ${err.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const write = (bytes: Buffer | string) => {
    if (!exitInfo) proc.stdin!.write(bytes);
  };
  return {
    proc,
    messages,
    stderr: () => err,
    exit,
    exited: () => exitInfo !== undefined,
    write,
    nextSeq: () => seq++,
    request(command, args, timeoutMs) {
      const s = seq++;
      const from = messages.length;
      write(frame(JSON.stringify({ seq: s, type: 'request', command, arguments: args })));
      return waitFor(`the response to ${command} (seq ${s})`, (m) => m.type === 'response' && m.request_seq === s, timeoutMs, from);
    },
    waitFor,
    async kill() {
      if (exitInfo) return;
      proc.kill('SIGKILL');
      await exit;
    },
  };
}

/** mulberry32: a small PRNG with a fixed seed, so a failing case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
