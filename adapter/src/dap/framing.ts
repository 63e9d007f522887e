/**
 * DAP's base protocol (`Content-Length: N\r\n\r\n` + N bytes of JSON), read so that no input can
 * end or deafen a session. @vscode/debugadapter's own reader calls `process.exit` on a JSON parse
 * error (through its 'error' event) and stops listening for good after a header it cannot use
 * (`Content-Length: -5`, `abc`, a lower-case name, LF-only lines, binary garbage).
 *
 * Here every byte sequence ends in one of:
 *   - a message (a JSON object with a valid `type`), handed on;
 *   - a malformed frame, reported with the request's `seq` and `command` when they can be read
 *     (so the session answers it with an error response), else without (the session says so on
 *     stderr and in an output event) — and reading goes on at the next header.
 *
 * Lenient where no meaning is lost: header names in any case, LF-only separators, blank lines
 * between frames, repeated equal Content-Length headers. A raw `Content-Length:` line can never
 * be part of a JSON body (JSON strings hold no raw newlines, and the bare word is no JSON token),
 * so a body that contains one was cut short: the frame ends there and the next one starts. A
 * frame left incomplete while nothing arrives for `stallMs` is reported and dropped, so a wrong
 * Content-Length never leaves the session waiting for bytes that will not come.
 */

export type FrameEvent =
  { kind: 'message'; message: Record<string, unknown> & { type: string } } | { kind: 'malformed'; reason: string; seq?: number; command?: string };

export interface FramerOptions {
  /** Largest body accepted (bigger Content-Length values are malformed). */
  maxBody?: number;
  /** How long a frame may stay incomplete with nothing arriving before it is dropped. */
  stallMs?: number;
}

const MAX_HEADER = 8192;
const DEFAULT_MAX_BODY = 64 << 20;
const DEFAULT_STALL_MS = 2000;
/** A header line starting a frame, anywhere (resynchronisation). */
const HEADER_ANYWHERE = /content-length[ \t]*:/i;
/** A complete Content-Length line inside a body: proof that the body was cut short. */
const HEADER_LINE_IN_BODY = /content-length[ \t]*:[^\r\n"]*\r?\n/i;

export class DapFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Body length being waited for, or -1 while reading headers. */
  private want = -1;
  /** Where the search for a header inside the current body goes on. */
  private searchedTo = 0;
  /** Why the last header was refused: the JSON after it is answered with this reason. */
  private badHeader: string | undefined;
  /** Bytes skipped since the last report (garbage between frames). */
  private skipped = 0;
  /** Set while a stall forces a decision on a frame that was waiting for more bytes. */
  private stalled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBody: number;
  private readonly stallMs: number;

  constructor(
    private readonly emit: (e: FrameEvent) => void,
    opts: FramerOptions = {},
  ) {
    this.maxBody = opts.maxBody ?? DEFAULT_MAX_BODY;
    this.stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.drain();
    this.arm();
  }

  /** The input ended: what was left unfinished, reported, then nothing more. */
  end(): void {
    this.disarm();
    this.flushStalled('the input ended');
  }

  dispose(): void {
    this.disarm();
  }

  /** Bytes waiting (for tests). */
  get pending(): number {
    return this.buf.length;
  }

  private arm(): void {
    this.disarm();
    if (this.buf.length === 0 && this.skipped === 0 && this.badHeader === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushStalled(`nothing more arrived for ${this.stallMs} ms`);
    }, this.stallMs);
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drain(): void {
    for (;;) {
      const progressed = this.want >= 0 ? this.body() : this.header();
      if (!progressed) return;
    }
  }

  /** Header state: one step; false when more bytes are needed. */
  private header(): boolean {
    let i = 0;
    while (i < this.buf.length && (this.buf[i] === 0x0d || this.buf[i] === 0x0a || this.buf[i] === 0x20 || this.buf[i] === 0x09)) i++;
    if (i > 0) this.buf = this.buf.subarray(i);
    if (this.buf.length === 0) return false;
    if (this.badHeader !== undefined && this.buf[0] !== 0x7b) {
      // A refused header followed by something other than its JSON: say so now.
      this.report(this.badHeader);
      this.badHeader = undefined;
    }

    if (this.buf[0] === 0x7b /* { */) {
      // JSON without a usable header before it: answer it (its seq is readable), never run it.
      const end = jsonObjectEnd(this.buf);
      const cut = headerIndex(this.buf, 1);
      if (end === undefined && cut < 0) return false; // more may come (the stall timer decides)
      const stop = end !== undefined && (cut < 0 || end <= cut) ? end : cut;
      const text = this.buf.toString('utf8', 0, stop);
      this.buf = this.buf.subarray(stop);
      const why = this.badHeader ?? 'the message has no "Content-Length: N" header before it';
      this.badHeader = undefined;
      this.malformed(`${why}${end === undefined ? ' (and its JSON is incomplete)' : ''}`, text);
      return true;
    }

    const head = this.buf.toString('latin1', 0, Math.min(this.buf.length, MAX_HEADER + 4));
    if (/^[A-Za-z][A-Za-z0-9-]*[ \t]*:/.test(head)) {
      const term = /\r?\n\r?\n/.exec(head);
      if (!term) {
        if (this.buf.length <= MAX_HEADER) return false;
        // Skip to the next Content-Length (not byte by byte: each step rescans MAX_HEADER bytes).
        const next = headerIndex(this.buf, 1);
        this.skip(next > 0 ? next : this.buf.length - 16, `a header without its end (no empty line within ${MAX_HEADER} bytes)`);
        return true;
      }
      this.buf = this.buf.subarray(term.index + term[0].length);
      const r = parseHeader(head.slice(0, term.index), this.maxBody);
      if (typeof r === 'string') {
        if (this.badHeader !== undefined) this.report(this.badHeader);
        this.badHeader = r; // answered with the JSON that follows (its seq), or reported alone
        return true;
      }
      this.badHeader = undefined;
      this.want = r;
      this.searchedTo = 0;
      return true;
    }

    // Not a frame: skip to the next header (keep a tail that may be the start of one).
    const next = headerIndex(this.buf, 1);
    if (next > 0) {
      this.skip(next);
      return true;
    }
    const keep = Math.min(this.buf.length, 16);
    this.skipped += this.buf.length - keep;
    this.buf = this.buf.subarray(this.buf.length - keep);
    return false;
  }

  /** Body state: one step; false when more bytes are needed. */
  private body(): boolean {
    const want = this.want;
    const have = Math.min(this.buf.length, want);
    // A header line inside the body: the Content-Length was too large (or the client sent a
    // new frame before finishing this one). The frame ends where the next one starts.
    const from = Math.max(0, this.searchedTo - 40);
    const view = this.buf.toString('latin1', from, have);
    const m = HEADER_LINE_IN_BODY.exec(view);
    if (m) {
      const at = from + m.index;
      const text = this.buf.toString('utf8', 0, at);
      this.buf = this.buf.subarray(at);
      this.want = -1;
      this.malformed(`Content-Length was ${want} but a new frame started after ${at} bytes of this one`, text);
      return true;
    }
    this.searchedTo = have;
    if (this.buf.length < want) return false;
    const text = this.buf.toString('utf8', 0, want);
    if (!isJson(text)) {
      // A wrong Content-Length may cut the next frame's header in two: the frame ends where a
      // header starts, even one that runs past the declared length.
      const around = this.buf.toString('latin1', 0, Math.min(this.buf.length, want + 64));
      const hm = HEADER_ANYWHERE.exec(around);
      if (hm && hm.index < want) {
        this.buf = this.buf.subarray(hm.index);
        this.want = -1;
        this.malformed(`Content-Length was ${want} but a new frame started after ${hm.index} bytes of this one`, this.bufText(text, hm.index));
        return true;
      }
      if (!this.stalled && this.buf.length < want + 16 && partialHeaderAtEnd(around)) return false; // wait for the rest of that header
    }
    this.buf = this.buf.subarray(want);
    this.want = -1;
    this.parsed(text, want);
    return true;
  }

  private bufText(text: string, bytes: number): string {
    return Buffer.from(text).toString('utf8', 0, bytes);
  }

  private parsed(text: string, length: number): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      const end = text.startsWith('{') ? jsonObjectEnd(Buffer.from(text)) : undefined;
      const why =
        end !== undefined && end < Buffer.byteLength(text)
          ? `Content-Length was ${length} but the JSON message ends after ${end} bytes`
          : `the body is not JSON (${(e as Error).message})`;
      this.malformed(why, text);
      return;
    }
    const bad = checkMessage(msg);
    if (bad) {
      this.malformed(bad, text, msg);
      return;
    }
    this.flushSkipped();
    this.emit({ kind: 'message', message: msg as Record<string, unknown> & { type: string } });
  }

  /** What a stall (or the end of input) leaves: reported once, dropped. */
  private flushStalled(why: string): void {
    if (this.want >= 0 && this.buf.length >= this.want) {
      // Complete but undecided (it might have been cut by a header): decide now.
      this.stalled = true;
      this.drain();
      this.stalled = false;
    }
    if (this.want >= 0) {
      const text = this.buf.toString('utf8', 0, Math.min(this.buf.length, this.want));
      const want = this.want;
      this.want = -1;
      this.buf = Buffer.alloc(0);
      this.malformed(`Content-Length was ${want} but only ${Buffer.byteLength(text)} bytes of the body arrived (${why})`, text);
      return;
    }
    if (this.buf.length > 0 && this.buf[0] === 0x7b) {
      const text = this.buf.toString('utf8');
      this.buf = Buffer.alloc(0);
      const pre = this.badHeader ?? 'the message has no "Content-Length: N" header before it';
      this.badHeader = undefined;
      this.malformed(`${pre}, and its JSON is incomplete (${why})`, text);
      return;
    }
    this.skipped += this.buf.length;
    this.buf = Buffer.alloc(0);
    this.flushSkipped(why);
    if (this.badHeader !== undefined) {
      this.report(this.badHeader);
      this.badHeader = undefined;
    }
  }

  private skip(n: number, why?: string): void {
    this.skipped += n;
    this.buf = this.buf.subarray(n);
    if (why) this.flushSkipped(why);
  }

  private flushSkipped(why?: string): void {
    if (this.skipped === 0) return;
    const n = this.skipped;
    this.skipped = 0;
    this.report(`skipped ${n} byte${n === 1 ? '' : 's'} that were not a DAP frame${why ? ` (${why})` : ''}`);
  }

  private report(reason: string): void {
    this.emit({ kind: 'malformed', reason });
  }

  private malformed(reason: string, text: string, parsed?: unknown): void {
    this.flushSkipped();
    const id = requestIdentity(text, parsed);
    this.emit({ kind: 'malformed', reason, ...id });
  }
}

/** Content-Length from a header block, or why it is unusable. */
function parseHeader(block: string, maxBody: number): number | string {
  const values: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*?)[ \t\r]*$/.exec(line);
    if (!m) return `the header line ${JSON.stringify(line.slice(0, 80))} is not "Name: value"`;
    if (m[1].toLowerCase() === 'content-length') values.push(m[2]);
  }
  if (values.length === 0) return 'the header has no Content-Length';
  if (values.some((v) => v !== values[0])) return `the header has conflicting Content-Length values (${values.map((v) => JSON.stringify(v)).join(', ')})`;
  const v = values[0];
  if (!/^\d{1,12}$/.test(v)) return `Content-Length ${JSON.stringify(v.slice(0, 40))} is not a byte count`;
  const n = Number(v);
  if (n > maxBody) return `Content-Length ${n} is larger than pidscope accepts (${maxBody} bytes)`;
  return n;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether `s` ends with the start of a Content-Length header (cut by the end of the input so far). */
function partialHeaderAtEnd(s: string): boolean {
  const tail = s.slice(-20).toLowerCase();
  const name = 'content-length:';
  for (let k = Math.min(tail.length, name.length); k > 0; k--) if (tail.endsWith(name.slice(0, k))) return true;
  return /content-length[ \t]*:?[ \t]*\d*\r?$/.test(tail);
}

/** Index of the first header name at or after `from`, or -1. */
function headerIndex(buf: Buffer, from: number): number {
  const s = buf.toString('latin1', from);
  const m = HEADER_ANYWHERE.exec(s);
  return m ? from + m.index : -1;
}

/** End (exclusive) of the JSON object that starts at buf[0], or undefined when incomplete. */
export function jsonObjectEnd(buf: Buffer): number | undefined {
  let depth = 0;
  let inString = false;
  let escape = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (escape) escape = false;
      else if (c === 0x5c) escape = true;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}

/** Why a parsed value is no DAP message, or undefined when it is one. */
function checkMessage(msg: unknown): string | undefined {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg))
    return `the message is ${msg === null ? 'null' : Array.isArray(msg) ? 'an array' : typeof msg}, not a JSON object`;
  const message = msg as Record<string, unknown>;
  if (message.type === 'request') {
    if (typeof message.command !== 'string') return 'the request has no "command" string';
    if (typeof message.seq !== 'number' || !Number.isSafeInteger(message.seq) || message.seq < 0)
      return `the request's "seq" is ${JSON.stringify(message.seq) ?? 'missing'}, not a non-negative integer`;
    return undefined;
  }
  if (message.type === 'response') return undefined;
  if (message.type === 'event') return 'a client sends requests and responses, not events';
  return `the message's "type" is ${JSON.stringify(message.type) ?? 'missing'} (expected "request")`;
}

/** seq and command of a (possibly broken) request, when they can be read. */
function requestIdentity(text: string, parsed?: unknown): { seq?: number; command?: string } {
  let obj: unknown = parsed;
  if (obj === undefined) {
    try {
      obj = JSON.parse(text);
    } catch {
      const end = text.startsWith('{') ? jsonObjectEnd(Buffer.from(text)) : undefined;
      if (end !== undefined) {
        try {
          obj = JSON.parse(Buffer.from(text).toString('utf8', 0, end));
        } catch {
          obj = undefined;
        }
      }
    }
  }
  const out: { seq?: number; command?: string } = {};
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    const fields = obj as Record<string, unknown>;
    if (typeof fields.seq === 'number' && Number.isSafeInteger(fields.seq) && fields.seq >= 0) out.seq = fields.seq;
    if (typeof fields.command === 'string') out.command = fields.command.slice(0, 100);
    if (fields.type === 'request' && out.seq === undefined) out.seq = 0;
    return out;
  }
  const seq = /"seq"\s*:\s*(\d{1,15})\b/.exec(text);
  if (seq) out.seq = Number(seq[1]);
  const cmd = /"command"\s*:\s*"([^"\\]{1,100})"/.exec(text);
  if (cmd) out.command = cmd[1];
  return out;
}
