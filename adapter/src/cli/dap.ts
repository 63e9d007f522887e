import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PidscopeError } from '../errors';
import type { CliCommand } from '../main';

export const command: CliCommand = {
  name: 'dap',
  summary: 'serve the Debug Adapter Protocol (stdio, --listen, or relayed over --ssh / --connect)',
  usage: `Usage: pidscope dap [--log FILE]
       pidscope dap --listen [HOST:]PORT | unix:PATH  [--allow-writes] [--secret-file FILE]
                    [--debug-dir DIR]... [--public]
       pidscope dap --ssh [USER@]HOST [--ssh-option OPT]... [--remote-pidscope CMD]
       pidscope dap --connect [HOST:]PORT | unix:PATH [--secret-file FILE]

Serves the Debug Adapter Protocol for VS Code and other DAP clients. Attach configurations
name a running process ("pid" or "processName"); the process is never stopped.

On stdio (the default) the client started the adapter as itself: its attach configuration
decides ("allowWrites": true to write memory).

Server (a client connects; it gets only the authority the server grants):
  --listen [HOST:]PORT  accept DAP connections on TCP (default host 127.0.0.1; port 0 picks a
                        free port). Prints "pidscope dap: listening on HOST:PORT" on stderr.
                        Every connection must first send the line "PIDSCOPE-AUTH <secret>"
                        (\`pidscope dap --connect\` does); others get one refusal and are closed.
  --listen unix:PATH    (or --socket PATH) a Unix socket, mode 0600; only peers with this
                        uid (or root) are served, checked with SO_PEERCRED. No secret needed.
  --secret-file FILE    the secret: read from FILE (must be mode 0600, yours), or created
                        there with a fresh secret when FILE does not exist. Otherwise the
                        secret comes from $PIDSCOPE_DAP_SECRET, or is generated and printed
                        once on stderr.
  --allow-writes        let clients write memory (writeMemory, setVariable, setExpression)
                        when they ask with "allowWrites": true. Without it, every listener
                        session is read-only whatever the client says.
  --debug-dir DIR       search DIR for separate debug files (repeatable). A listener client's
                        "debugSearchPaths" must lie inside these directories.
  --public              required to listen on an address that is not loopback (0.0.0.0, a
                        LAN address): whoever reaches the port and has the secret can READ the
                        memory of every process this user can read, and WRITE it with
                        --allow-writes.

Relay (a stdio adapter for clients that spawn one; bytes are passed through):
  --ssh [USER@]HOST     run \`pidscope dap\` on HOST through ssh (BatchMode: keys or an agent)
                        and speak DAP over the channel. The remote session is the remote user's.
  --ssh-option OPT      pass "-o OPT" to ssh (repeatable), e.g. Port=2222, IdentityFile=~/.ssh/k
  --remote-pidscope CMD the remote command (default: pidscope), e.g. "node /opt/pidscope/adapter/bin/pidscope.js"
  --connect ADDR        a --listen server at [HOST:]PORT (sends the secret from --secret-file or
                        $PIDSCOPE_DAP_SECRET first) or unix:PATH

  --log FILE            append a diagnostic log (requests, timings, connections) to FILE
`,
  run,
};

const DAP_OPTIONS = {
  listen: { type: 'string' },
  socket: { type: 'string' },
  log: { type: 'string' },
  'allow-writes': { type: 'boolean' },
  'secret-file': { type: 'string' },
  'debug-dir': { type: 'string', multiple: true },
  public: { type: 'boolean' },
  ssh: { type: 'string' },
  'ssh-option': { type: 'string', multiple: true },
  'remote-pidscope': { type: 'string' },
  connect: { type: 'string' },
} as const;

function parseDapArgs(argv: string[]) {
  return parseArgs({ args: argv, options: DAP_OPTIONS, strict: true, allowPositionals: false }).values;
}

type DapValues = ReturnType<typeof parseDapArgs>;
type Log = ((line: string) => void) | undefined;

async function run(argv: string[]): Promise<number> {
  const values = parseDapArgs(argv);
  const log = diagnosticLog(values.log);
  const listenSpec = values.socket !== undefined ? `unix:${values.socket}` : values.listen;
  const modes = [listenSpec !== undefined, values.ssh !== undefined, values.connect !== undefined].filter(Boolean).length;
  if (modes > 1) throw new PidscopeError('BAD_ARGS', 'give only one of --listen/--socket, --ssh and --connect', 'Choose how this adapter is reached', 'user');
  const debugDirs = values['debug-dir'] ?? [];

  if (values.ssh !== undefined || values.connect !== undefined) return relayToServer(values, debugDirs);

  const server = await import('../dap/server');
  if (listenSpec === undefined) {
    if (values['allow-writes'] || values.public || values['secret-file'] !== undefined) {
      throw new PidscopeError(
        'BAD_ARGS',
        '--allow-writes, --public and --secret-file apply to --listen',
        'On stdio the attach configuration decides ("allowWrites": true)',
        'user',
      );
    }
    return server.serveStdio({ log, policy: { origin: 'client', allowWrites: true, debugDirs } });
  }
  const allowWrites = values['allow-writes'] === true;
  const policy = { origin: 'listener' as const, allowWrites, debugDirs };
  const authority = `clients can read the memory of every process uid ${process.getuid?.()} can read${allowWrites ? ', and WRITE it (--allow-writes)' : ' (read-only: no --allow-writes)'}`;
  if (listenSpec.startsWith('unix:')) await listenUnix(listenSpec.slice(5), log, policy, authority);
  else await listenTcp(listenSpec, values, log, policy, authority);
  return new Promise<number>(() => undefined); // serve until killed
}

/** --log FILE: timestamped lines appended; a log that cannot be written must not end the session. */
function diagnosticLog(logFile: string | undefined): Log {
  if (!logFile) return undefined;
  return (line: string) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    } catch {
      /* keep serving */
    }
  };
}

/** --ssh / --connect: a stdio adapter whose bytes go to a remote `pidscope dap` or a --listen server. */
async function relayToServer(values: DapValues, debugDirs: string[]): Promise<number> {
  const relay = await import('../dap/relay');
  if (values.ssh !== undefined) {
    if (!/^[A-Za-z0-9._@%+:\[\]-]+$/.test(values.ssh) || values.ssh.startsWith('-')) {
      throw new PidscopeError(
        'BAD_ARGS',
        `--ssh ${JSON.stringify(values.ssh)} is not [USER@]HOST`,
        'Give e.g. --ssh alice@build-box (more ssh settings with --ssh-option)',
        'user',
      );
    }
    const remoteArgs = debugDirs.flatMap((d) => ['--debug-dir', shellQuote(d)]);
    const transport = relay.sshTransport(
      values.ssh,
      (values['ssh-option'] ?? []).flatMap((o) => ['-o', o]),
      values['remote-pidscope'] ?? 'pidscope',
      remoteArgs,
    );
    return relay.relay(process.stdin, process.stdout, transport, `ssh ${values.ssh}`);
  }
  const spec = values.connect!;
  const { clientSecret } = await import('../dap/secret');
  let transport;
  if (spec.startsWith('unix:')) {
    transport = relay.socketTransport({ path: spec.slice(5) }, undefined);
  } else {
    const { parseListen } = await import('../dap/server');
    const addr = parseListen(spec);
    if (!addr || addr.port === 0)
      throw new PidscopeError('BAD_ARGS', `--connect ${spec} is not [HOST:]PORT or unix:PATH`, 'Use e.g. --connect 127.0.0.1:4711', 'user');
    const secret = clientSecret(values['secret-file']);
    if (secret === undefined) {
      throw new PidscopeError(
        'BAD_ARGS',
        '--connect to a TCP server needs its secret',
        "Give --secret-file FILE (the server's) or set PIDSCOPE_DAP_SECRET",
        'user',
      );
    }
    transport = relay.socketTransport(addr, secret);
  }
  return relay.relay(process.stdin, process.stdout, transport, `connecting to ${spec}`);
}

type ListenerPolicy = { origin: 'listener'; allowWrites: boolean; debugDirs: string[] };

/** --listen unix:PATH: only peers with our uid (or root), checked with SO_PEERCRED. */
async function listenUnix(path: string, log: Log, policy: ListenerPolicy, authority: string): Promise<void> {
  if (!path) throw new PidscopeError('BAD_ARGS', '--listen unix: names no path', 'Use e.g. --listen unix:/run/user/1000/pidscope.sock', 'user');
  const server = await import('../dap/server');
  const { peerCred } = await import('../linux/peercred');
  const uid = process.getuid?.() ?? 0;
  await server.serveUnix(
    path,
    { log, policy },
    {
      kind: 'peer-uid',
      uid,
      peerUid: (socket) => {
        const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
        if (typeof fd !== 'number' || fd < 0) return { errno: 9 };
        const cred = peerCred(fd);
        return 'uid' in cred ? cred.uid : cred;
      },
    },
  );
  process.stderr.write(`pidscope dap: listening on unix:${path} (uid ${uid} and root only; ${authority})\n`);
}

/** --listen [HOST:]PORT: every connection first proves the secret; non-loopback needs --public. */
async function listenTcp(listenSpec: string, values: DapValues, log: Log, policy: ListenerPolicy, authority: string): Promise<void> {
  const server = await import('../dap/server');
  const addr = server.parseListen(listenSpec);
  if (!addr) {
    throw new PidscopeError(
      'BAD_ARGS',
      `--listen ${listenSpec} is not [HOST:]PORT or unix:PATH`,
      'Use e.g. --listen 127.0.0.1:4711 (or --listen 0 for a free port)',
      'user',
    );
  }
  const allowWrites = policy.allowWrites;
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(addr.host);
  if (!loopback && !values.public) {
    throw new PidscopeError(
      'NOT_PERMITTED',
      `--listen ${listenSpec} is not a loopback address: anyone who can reach it and has the secret could read${allowWrites ? ' and write' : ''} the memory of every process this user can read`,
      'Add --public if that is what you want, or prefer ssh (`pidscope dap --ssh HOST` from the client side) or a Unix socket',
      'user',
    );
  }
  const { serverSecret } = await import('../dap/secret');
  const { secret, source } = serverSecret(values['secret-file']);
  if (!loopback) {
    process.stderr.write(
      `pidscope dap: WARNING: listening on ${addr.host}, not loopback (--public): anyone who can reach this port and has the secret can READ the memory of every process this user can read${allowWrites ? ', and WRITE it (--allow-writes)' : ''}. Traffic is not encrypted.\n`,
    );
  }
  await server.serveTcp(addr, { log, policy }, { kind: 'secret', secret }, (port) => {
    const from =
      source === 'generated'
        ? `secret: ${secret} (shown once; clients send "PIDSCOPE-AUTH <secret>" first, or run \`pidscope dap --connect\` with PIDSCOPE_DAP_SECRET)`
        : source === 'env'
          ? 'secret: from PIDSCOPE_DAP_SECRET'
          : `secret: in ${values['secret-file']}${source === 'created-file' ? ' (created, mode 0600)' : ''}`;
    process.stderr.write(`pidscope dap: listening on ${addr.host}:${port} (${from}; ${authority})\n`);
  });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
