import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { admit, firstRequest, type Gate } from './gate';

const SECRET = 'unit-secret-0123456789abcdef';
let server: Server | undefined;
afterEach(() => server?.close());

/** Serves one connection through the gate; an admitted socket echoes what it reads after the gate. */
function serve(gate: Gate): Promise<number> {
  return new Promise((resolve) => {
    server = createServer((s: Socket) => {
      void admit(s, gate, { timeoutMs: 300 }).then((ok) => {
        if (!ok) return;
        s.on('data', (d) => s.write(`echo:${d.toString()}`));
        s.resume();
      });
    });
    server.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
  });
}

function talk(port: number, chunks: string[], waitMs = 1500): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    let text = '';
    c.on('data', (d) => (text += d.toString()));
    c.on('close', () => resolve({ text, closed: true }));
    c.on('error', () => undefined);
    c.on('connect', async () => {
      for (const ch of chunks) {
        c.write(ch);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    setTimeout(() => {
      c.destroy();
      resolve({ text, closed: false });
    }, waitMs);
  });
}

const frame = (o: unknown) => `Content-Length: ${Buffer.byteLength(JSON.stringify(o))}\r\n\r\n${JSON.stringify(o)}`;

describe('the connection gate', () => {
  it('admits the right secret, even split across packets, and keeps the bytes after it', async () => {
    const port = await serve({ kind: 'secret', secret: SECRET });
    const r = await talk(port, ['PIDSCOPE-AU', `TH ${SECRET}\r\nContent-Length: 2\r\n`, '\r\n{}'], 500);
    expect(r.text).toContain('echo:Content-Length: 2');
    expect(r.text.replace(/echo:/g, '')).toBe('Content-Length: 2\r\n\r\n{}');
  });

  it('answers a DAP request that came without the secret with one error response, then closes', async () => {
    const port = await serve({ kind: 'secret', secret: SECRET });
    const r = await talk(port, [frame({ seq: 5, type: 'request', command: 'initialize' }), frame({ seq: 6, type: 'request', command: 'attach' })]);
    expect(r.closed).toBe(true);
    const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'response', request_seq: 5, command: 'initialize', success: false });
    expect(r.text.match(/Content-Length/g)).toHaveLength(1);
  });

  it('refuses HTTP as HTTP', async () => {
    const port = await serve({ kind: 'secret', secret: SECRET });
    const r = await talk(port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(r.text).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(r.closed).toBe(true);
  });

  it('closes a connection that says nothing', async () => {
    const port = await serve({ kind: 'secret', secret: SECRET });
    expect((await talk(port, [], 1500)).closed).toBe(true);
  });

  it('checks the peer uid: same uid or root only', async () => {
    const port = await serve({ kind: 'peer-uid', uid: 1000, peerUid: () => 1001 });
    const r = await talk(port, [frame({ seq: 1, type: 'request', command: 'initialize' })]);
    expect(r.text).toMatch(/serves uid 1000 \(and root\) only, and the peer is uid 1001/);
    expect(r.closed).toBe(true);
    server!.close();
    const port2 = await serve({ kind: 'peer-uid', uid: 1000, peerUid: () => 0 });
    expect((await talk(port2, ['hi'], 300)).text).toBe('echo:hi');
  });

  it("reads the first frame's seq and command, or says it is not DAP", () => {
    expect(firstRequest(Buffer.from(frame({ seq: 3, command: 'threads' })))).toEqual({ seq: 3, command: 'threads' });
    expect(firstRequest(Buffer.from('Content-Length: 10\r\n\r\n{"se'))).toBe('incomplete');
    expect(firstRequest(Buffer.from('hello\r\n\r\n'))).toBeUndefined();
  });
});
