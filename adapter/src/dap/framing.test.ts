import { afterEach, describe, expect, it } from 'vitest';
import { DapFramer, jsonObjectEnd, type FrameEvent } from './framing';

const framers: DapFramer[] = [];
afterEach(() => {
  for (const f of framers.splice(0)) f.dispose();
});

function framer(stallMs = 60_000): { f: DapFramer; events: FrameEvent[] } {
  const events: FrameEvent[] = [];
  const f = new DapFramer((e) => events.push(e), { stallMs, maxBody: 1 << 20 });
  framers.push(f);
  return { f, events };
}

const req = (seq: number, command = 'threads') => JSON.stringify({ seq, type: 'request', command });
const frame = (body: string, header = `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`) => Buffer.from(header + body);

/** The messages, and (seq or reason) of malformed frames, in order. */
function summary(events: FrameEvent[]): string[] {
  return events.map((e) => (e.kind === 'message' ? `ok ${String(e.message.seq)}` : e.seq !== undefined ? `bad ${e.seq}` : `bad: ${e.reason}`));
}

describe('DapFramer', () => {
  it('reads well-formed frames split anywhere and joined together', () => {
    const { f, events } = framer();
    const all = Buffer.concat([frame(req(1)), frame(req(2)), frame(req(3, 'évaluer'))]);
    for (let i = 0; i < all.length; i += 7) f.push(all.subarray(i, i + 7));
    expect(summary(events)).toEqual(['ok 1', 'ok 2', 'ok 3']);
    expect(f.pending).toBe(0);
  });

  it('accepts lower-case names, LF-only lines, blank lines between frames and repeated equal lengths', () => {
    const { f, events } = framer();
    const b = req(1);
    f.push(frame(b, `content-length: ${b.length}\n\n`));
    f.push(Buffer.from('\r\n\r\n'));
    f.push(frame(req(2), `Content-Length:${req(2).length}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`));
    f.push(frame(req(3), `Content-Length: ${req(3).length}\r\nContent-Length: ${req(3).length}\r\n\r\n`));
    expect(summary(events)).toEqual(['ok 1', 'ok 2', 'ok 3']);
  });

  it.each([
    ['-5', /Content-Length "-5" is not a byte count/],
    ['abc', /"abc" is not a byte count/],
    ['1e12', /"1e12" is not a byte count/],
    ['999999999', /larger than pidscope accepts/],
  ])('answers the request after Content-Length: %s with its seq, then reads on', (value, reason) => {
    const { f, events } = framer();
    f.push(frame(req(7), `Content-Length: ${value}\r\n\r\n`));
    f.push(frame(req(8)));
    expect(summary(events)).toEqual(['bad 7', 'ok 8']);
    expect((events[0] as { reason: string }).reason).toMatch(reason);
  });

  it('answers non-JSON, truncated JSON, null, arrays and non-requests, then reads on', () => {
    const { f, events } = framer();
    f.push(frame('this is not json'));
    f.push(frame('{"seq": 4, "type": "request", "command": "thr')); // truncated JSON
    f.push(frame('null'));
    f.push(frame('[1,2]'));
    f.push(frame('{"seq": 5, "type": "event", "event": "x"}'));
    f.push(frame('{"seq": "six", "type": "request", "command": "threads"}'));
    f.push(frame('{"seq": 9, "type": "request"}'));
    f.push(frame(req(10)));
    expect(summary(events)).toEqual([
      'bad: the body is not JSON (Unexpected token \'h\', "this is not json" is not valid JSON)',
      'bad 4',
      'bad: the message is null, not a JSON object',
      'bad: the message is an array, not a JSON object',
      'bad 5',
      'bad 0',
      'bad 9',
      'ok 10',
    ]);
  });

  it('a Content-Length too small: the frame is answered, the rest skipped, the next frame read', () => {
    const { f, events } = framer();
    const b = req(11);
    f.push(frame(b, `Content-Length: ${b.length - 5}\r\n\r\n`));
    f.push(frame(req(12)));
    expect(summary(events)).toEqual(['bad 11', 'bad: skipped 5 bytes that were not a DAP frame', 'ok 12']);
  });

  it('a Content-Length too large: the frame ends where the next header starts', () => {
    const { f, events } = framer();
    const b = req(13);
    f.push(frame(b, `Content-Length: ${b.length + 500}\r\n\r\n`));
    f.push(frame(req(14)));
    expect(summary(events)).toEqual(['bad 13', 'ok 14']);
    expect((events[0] as { reason: string }).reason).toMatch(/Content-Length was \d+ but a new frame started/);
  });

  it('a Content-Length that ends inside the next header: the frame ends where that header starts', () => {
    const { f, events } = framer();
    const b = '212,"type":"request","command":"threads"}';
    const next = frame(req(30));
    f.push(Buffer.concat([Buffer.from(`Content-Length: ${b.length + 6}\r\n\r\n${b}`), next.subarray(0, 3)]));
    f.push(next.subarray(3));
    expect(summary(events)).toEqual(['bad: Content-Length was 47 but a new frame started after 41 bytes of this one', 'ok 30']);
  });

  it('a doubled header block: the first frame has no body, the second is read', () => {
    const { f, events } = framer();
    const b = req(15);
    f.push(Buffer.from(`Content-Length: ${b.length}\r\n\r\nContent-Length: ${b.length}\r\n\r\n${b}`));
    expect(summary(events)[events.length - 1]).toBe('ok 15');
    expect(events.length).toBe(2);
  });

  it('conflicting Content-Length headers are refused, and the request answered', () => {
    const { f, events } = framer();
    const b = req(16);
    f.push(frame(b, `Content-Length: ${b.length}\r\nContent-Length: 3\r\n\r\n`));
    f.push(frame(req(17)));
    expect(summary(events)).toEqual(['bad 16', 'ok 17']);
    expect((events[0] as { reason: string }).reason).toMatch(/conflicting/);
  });

  it('skips binary garbage and resynchronises on the next header', () => {
    const { f, events } = framer();
    const garbage = Buffer.alloc(5000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) & 0xff;
    f.push(garbage);
    f.push(frame(req(18)));
    expect(summary(events)).toEqual(['bad: skipped 5000 bytes that were not a DAP frame', 'ok 18']);
  });

  it('JSON without a header is answered, not run', () => {
    const { f, events } = framer();
    f.push(Buffer.from(req(19)));
    f.push(frame(req(20)));
    expect(summary(events)).toEqual(['bad 19', 'ok 20']);
  });

  it('a frame left incomplete is reported once nothing arrives, and reading goes on', async () => {
    const { f, events } = framer(50);
    const b = req(21);
    f.push(frame(b, `Content-Length: ${b.length + 100}\r\n\r\n`));
    expect(events).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    expect(summary(events)).toEqual(['bad 21']);
    expect((events[0] as { reason: string }).reason).toMatch(/only \d+ bytes of the body arrived \(nothing more arrived for 50 ms\)/);
    f.push(frame(req(22)));
    expect(summary(events)).toEqual(['bad 21', 'ok 22']);
  });

  it('a header that never ends and a bad header alone are reported on stall and at the end of input', async () => {
    const { f, events } = framer(50);
    f.push(Buffer.from('Content-Length: 10\r\n'));
    await new Promise((r) => setTimeout(r, 200));
    expect(events.length).toBe(1);
    f.push(Buffer.from('Content-Length: -1\r\n\r\n'));
    f.end();
    expect(events.length).toBe(2);
    expect((events[1] as { reason: string }).reason).toMatch(/"-1" is not a byte count/);
  });

  it('jsonObjectEnd follows strings and escapes', () => {
    expect(jsonObjectEnd(Buffer.from('{"a":"}\\""}xyz'))).toBe(11);
    expect(jsonObjectEnd(Buffer.from('{"a":[{}]'))).toBeUndefined();
  });
});

describe('DapFramer on big hostile input', () => {
  it('megabytes of header-like lines without an end are skipped in linear time', () => {
    const { f, events } = framer();
    const junk = Buffer.from('X-Junk: yes\r\n'.repeat(200_000)); // 2.6 MB, never an empty line
    for (let i = 0; i < junk.length; i += 65536) f.push(junk.subarray(i, i + 65536));
    f.push(frame(req(40)));
    expect(summary(events).slice(-1)).toEqual(['ok 40']);
    expect(f.pending).toBe(0);
  });
});
