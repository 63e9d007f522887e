/**
 * Who may talk to `pidscope dap --listen`: decided per connection, BEFORE the socket is handed
 * to a DAP session (so nothing a stranger sends ever reaches a request handler).
 *
 *   - TCP: the first line on the connection must be `PIDSCOPE-AUTH <secret>\n` (the per-run
 *     secret the server printed, or read from its --secret-file / PIDSCOPE_DAP_SECRET). DAP
 *     framing starts after that line. Clients that cannot send a line of their own (VS Code,
 *     nvim-dap, dap-mode) run `pidscope dap --connect HOST:PORT`, a stdio adapter that sends it.
 *   - Unix socket: the peer's uid (SO_PEERCRED, set by the kernel at connect time) must be the
 *     server's own uid, or root.
 *
 * A refused client gets ONE clear refusal — a DAP error response to its first request (or an
 * HTTP 403 for an HTTP request: a web page must never get a DAP answer) — and the connection is
 * closed. The gate speaks only enough DAP to say no; it imports nothing from the session.
 */
import type { Socket } from 'node:net';

export const AUTH_PREFIX = 'PIDSCOPE-AUTH ';
/** A first line longer than this is not an auth line (and not worth buffering). */
const MAX_FIRST_LINE = 1024;
/** How long a refused client's first DAP frame is waited for and buffered. */
const MAX_FRAME = 64 * 1024;

export type Gate = { kind: 'secret'; secret: string } | { kind: 'peer-uid'; uid: number; peerUid: (socket: Socket) => number | { errno: number } };

export interface GateOptions {
  log?: (line: string) => void;
  /** How long a client may take to send its first line (ms). */
  timeoutMs?: number;
}

export type Verdict = { ok: true; who: string } | { ok: false; reason: string };

function sameSecret(a: string, b: string): boolean {
  // node:crypto loads here, at the first TCP connection, not at start: server.ts (and so this
  // file) is loaded by every `pidscope dap`, and a stdio adapter (VS Code starts one per
  // session) never checks a secret; loading crypto cost it ~8 ms of CPU.
  const { createHash, timingSafeEqual } = require('node:crypto') as typeof import('node:crypto');
  // Hashing first gives equal lengths, so the comparison time says nothing about the secret.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

const HTTP_REQUEST_LINE = /^[A-Z]{3,10} \S+ HTTP\/\d(\.\d)?\r?$/;

export function refusalText(cause: string, fix: string): string {
  return `pidscope dap: connection refused: ${cause}. Fix: ${fix}`;
}

export const SECRET_FIX =
  'connect with `pidscope dap --connect HOST:PORT` (a stdio adapter any DAP client can run; it reads the secret from --secret-file or PIDSCOPE_DAP_SECRET), or send the line `PIDSCOPE-AUTH <secret>` before the first DAP message';

/**
 * Admits or refuses one connection. Resolves true with the socket paused and every byte after
 * the auth line still unread (the caller hands it to a session and resumes it); false after the
 * refusal has been written and the socket ended.
 */
export async function admit(socket: Socket, gate: Gate, opts: GateOptions = {}): Promise<boolean> {
  const log = opts.log ?? (() => undefined);
  const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix socket peer';
  if (gate.kind === 'peer-uid') {
    const uid = gate.peerUid(socket);
    if (typeof uid === 'number' && (uid === gate.uid || uid === 0)) {
      socket.pause();
      log(`connection from uid ${uid} admitted (same uid or root)`);
      return true;
    }
    const cause =
      typeof uid === 'number'
        ? `this socket serves uid ${gate.uid} (and root) only, and the peer is uid ${uid}`
        : `the peer's credentials could not be read (errno ${uid.errno})`;
    log(`connection refused: ${cause}`);
    await refuse(socket, Buffer.alloc(0), refusalText(cause, `run the DAP client as uid ${gate.uid}, or start your own \`pidscope dap\``), opts.timeoutMs);
    return false;
  }
  const first = await readFirstLine(socket, opts.timeoutMs ?? 10_000);
  if (first.kind === 'timeout' || first.kind === 'closed') {
    log(`connection from ${peer} ${first.kind === 'timeout' ? 'sent nothing in time' : 'closed before authenticating'}: closed`);
    socket.destroy();
    return false;
  }
  const line = first.line.replace(/\r$/, '');
  if (line.startsWith(AUTH_PREFIX) && sameSecret(line.slice(AUTH_PREFIX.length).trim(), gate.secret)) {
    socket.pause();
    if (first.rest.length) socket.unshift(first.rest);
    log(`connection from ${peer} authenticated`);
    return true;
  }
  if (HTTP_REQUEST_LINE.test(first.line)) {
    log(`HTTP request from ${peer} refused: ${JSON.stringify(line.slice(0, 80))}`);
    const body = 'pidscope dap serves the Debug Adapter Protocol, not HTTP; request refused.\n';
    socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return false;
  }
  const cause = line.startsWith(AUTH_PREFIX) ? 'the secret is wrong' : 'the client did not send the secret first';
  log(`connection from ${peer} refused: ${cause}`);
  // A client that sent its DAP request first gets the answer to that request; the auth line itself is not one.
  const already = line.startsWith(AUTH_PREFIX) ? first.rest : Buffer.concat([Buffer.from(first.line + (first.complete ? '\n' : ''), 'latin1'), first.rest]);
  await refuse(socket, already, refusalText(cause, SECRET_FIX), opts.timeoutMs);
  return false;
}

type FirstLine = { kind: 'line'; line: string; rest: Buffer; complete: boolean } | { kind: 'timeout' } | { kind: 'closed' };

function readFirstLine(socket: Socket, timeoutMs: number): Promise<FirstLine> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (v: FirstLine) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      resolve(v);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(0x0a);
      if (nl >= 0) done({ kind: 'line', line: buf.subarray(0, nl).toString('latin1'), rest: buf.subarray(nl + 1), complete: true });
      else if (buf.length > MAX_FIRST_LINE) done({ kind: 'line', line: buf.toString('latin1'), rest: Buffer.alloc(0), complete: false });
    };
    const onEnd = () => done({ kind: 'closed' });
    const timer = setTimeout(() => done({ kind: 'timeout' }), timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
    socket.resume();
  });
}

/**
 * Answers the client's first DAP request (waiting briefly for it to arrive whole) with an error
 * response carrying `message`, or, when nothing DAP-shaped arrives, sends the message as an
 * `output` event; then ends the connection. Nothing the client sent is acted on.
 */
async function refuse(socket: Socket, already: Buffer, message: string, timeoutMs = 5000): Promise<void> {
  const request = await new Promise<{ seq: number; command: string } | undefined>((resolve) => {
    let buf = already;
    const done = (v: { seq: number; command: string } | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      resolve(v);
    };
    const check = () => {
      const req = firstRequest(buf);
      if (req !== 'incomplete' || buf.length > MAX_FRAME) done(req === 'incomplete' ? undefined : req);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      check();
    };
    const onEnd = () => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
    check();
    socket.resume();
  });
  const msg = request
    ? {
        seq: 1,
        type: 'response',
        request_seq: request.seq,
        command: request.command,
        success: false,
        message,
        body: { error: { id: 1401, format: message, showUser: true }, code: 'UNAUTHENTICATED', blame: 'user' },
      }
    : { seq: 1, type: 'event', event: 'output', body: { category: 'important', output: `${message}\n` } };
  const json = JSON.stringify(msg);
  if (!socket.destroyed) socket.end(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
}

/** The seq and command of the first DAP frame in `buf`; undefined if it is not DAP at all. */
export function firstRequest(buf: Buffer): { seq: number; command: string } | undefined | 'incomplete' {
  const sep = buf.indexOf('\r\n\r\n');
  if (sep < 0) return buf.length > MAX_FIRST_LINE ? undefined : 'incomplete';
  const m = /(?:^|\r\n)content-length:\s*(\d{1,8})\s*(?:\r\n|$)/i.exec(buf.subarray(0, sep).toString('latin1'));
  if (!m) return undefined;
  const len = Number(m[1]);
  if (len > MAX_FRAME) return { seq: 0, command: 'unknown' };
  if (buf.length < sep + 4 + len) return 'incomplete';
  try {
    const v = JSON.parse(buf.subarray(sep + 4, sep + 4 + len).toString('utf8')) as { seq?: unknown; command?: unknown };
    return { seq: typeof v.seq === 'number' ? v.seq : 0, command: typeof v.command === 'string' ? v.command : 'unknown' };
  } catch {
    return { seq: 0, command: 'unknown' };
  }
}
