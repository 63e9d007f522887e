import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PidscopeError } from '../errors';
import type { CliCommand } from '../main';

export const command: CliCommand = {
  name: 'dap',
  summary: 'serve the Debug Adapter Protocol (stdio, or --listen for TCP)',
  usage: `Usage: pidscope dap [--listen [HOST:]PORT] [--log FILE]

Serves the Debug Adapter Protocol for VS Code and other DAP clients. Attach configurations
name a running process ("pid" or "processName"); the process is never stopped.

Options:
  --listen [HOST:]PORT  accept DAP connections on TCP (default host 127.0.0.1; port 0 picks a
                        free port). Prints "pidscope dap: listening on HOST:PORT" on stderr.
                        Without it, DAP runs on stdin/stdout.
  --log FILE            append a diagnostic log (requests, timings, internal errors) to FILE
`,
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: { listen: { type: 'string' }, log: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    const logFile = values.log;
    const log = logFile
      ? (line: string) => {
          try {
            appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
          } catch {
            /* a log that cannot be written must not end the session */
          }
        }
      : undefined;
    const server = await import('../dap/server');
    if (values.listen === undefined) return server.serveStdio({ log });
    const addr = server.parseListen(values.listen);
    if (!addr) {
      throw new PidscopeError('BAD_ARGS', `--listen ${values.listen} is not [HOST:]PORT`, 'Use e.g. --listen 127.0.0.1:4711 (or --listen 0 for a free port)');
    }
    if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(addr.host)) {
      // Whoever connects can read (and with allowWrites, write) the memory of this user's processes.
      process.stderr.write(`pidscope dap: WARNING: listening on ${addr.host}, not loopback: anyone who can reach this port can read the memory of processes you own\n`);
    }
    await server.serveTcp(addr, { log }, (port) => process.stderr.write(`pidscope dap: listening on ${addr.host}:${port}\n`));
    return new Promise<number>(() => undefined); // serve until killed
  },
};
