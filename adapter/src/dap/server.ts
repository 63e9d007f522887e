/**
 * Serving DAP: on stdio (what VS Code's "executable" adapter descriptor uses) or on a TCP port
 * (`--listen 127.0.0.1:PORT`, one session per connection, for clients that connect).
 */
import { createServer, type Server } from 'node:net';
import { PidscopeSession, type SessionOptions } from './session';

export function serveStdio(opts: SessionOptions = {}): Promise<number> {
  // stdout carries the protocol: anything else written there would corrupt it.
  const toStderr = (...a: unknown[]) => process.stderr.write(`${a.map(String).join(' ')}\n`);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  guardProcess(opts.log);
  const session = new PidscopeSession(opts);
  session.start(process.stdin, process.stdout);
  return new Promise((resolve) => {
    process.stdin.on('end', () => resolve(0));
    process.stdin.on('close', () => resolve(0));
  });
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses '127.0.0.1:4711', ':4711' or '4711'. */
export function parseListen(spec: string): ListenAddress | undefined {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(spec.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  let host = m[1] === undefined || m[1] === '' ? '127.0.0.1' : m[1];
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}

export function serveTcp(addr: ListenAddress, opts: SessionOptions = {}, onListening?: (port: number) => void): Promise<Server> {
  guardProcess(opts.log);
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      const session = new PidscopeSession(opts);
      session.setRunAsServer(true);
      session.start(socket, socket);
      socket.on('error', (e) => opts.log?.(`connection error: ${e.message}`));
    });
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : addr.port;
      onListening?.(port);
      resolve(server);
    });
  });
}

let guarded = false;
/** A bug in one handler must not take the user's session down: log it and keep serving. */
function guardProcess(log?: (line: string) => void): void {
  if (guarded) return;
  guarded = true;
  const report = (what: string, e: unknown) => {
    const text = `pidscope dap: ${what} (a bug; the session goes on): ${e instanceof Error ? e.stack : String(e)}`;
    if (log) log(text);
    else process.stderr.write(`${text}\n`);
  };
  process.on('uncaughtException', (e) => report('uncaught exception', e));
  process.on('unhandledRejection', (e) => report('unhandled rejection', e));
}
