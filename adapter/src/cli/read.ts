/**
 * `pidscope read --pid N ADDRESS LENGTH`: a hexdump of live memory in `xxd -o ADDRESS` format
 * (unreadable bytes marked), or JSON with --json. Never stops the target.
 */
import { parseArgs } from 'node:util';
import { isPidscopeError, PidscopeError } from '../errors';
import { findRegion } from '../engine/maps';
import { Target } from '../engine/target';
import type { CliCommand } from '../main';
import { hexdump } from '../memory/hexdump';
import { parseAddress, parseLength, parsePid } from '../memory/parse';
import type { AddressRange } from '../memory/reader';
import { openMemory, parseBackend } from '../memory/select';

const usage = `Usage: pidscope read --pid N ADDRESS LENGTH [--json] [--backend B]

Prints LENGTH bytes of process N's memory from ADDRESS as \`xxd -o ADDRESS\` would, without
stopping the process. Unreadable bytes show as ?? (a run of whole unreadable lines as one
<unreadable …> line).

  ADDRESS        0x hex or decimal
  LENGTH         0x hex or decimal, 1 … 268435456 (256 MiB)
  --pid N        the process to read
  --json         {"pid","address","length","backend","hex","base64","unreadable":[{"start","end"}]}
  --backend B    auto (default), pidfd-mem, vm-readv or proc-mem

Exit status: 0 when at least one byte was read, 1 for errors (no such process, no permission,
nothing readable at ADDRESS), 2 for usage errors.
`;

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { pid: { type: 'string', short: 'p' }, json: { type: 'boolean' }, backend: { type: 'string' } },
    });
  } catch (e) {
    return usageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  let pid: number, address: bigint, length: number, backend;
  try {
    if (positionals.length !== 2) {
      throw new PidscopeError('USAGE', positionals.length < 2 ? 'ADDRESS and LENGTH are required' : `unexpected argument '${positionals[2]}'`, 'Usage: pidscope read --pid N ADDRESS LENGTH', 'user');
    }
    pid = parsePid(values.pid);
    address = parseAddress(positionals[0]);
    length = parseLength(positionals[1]);
    backend = parseBackend(values.backend ?? 'auto');
  } catch (e) {
    if (isPidscopeError(e) && e.code === 'USAGE') return usageError(e.message);
    throw e;
  }
  if (length === 0) {
    throw new PidscopeError('EMPTY', 'length 0: there is nothing to read', 'Give a length of at least 1 byte', 'user');
  }

  const target = Target.attach(pid);
  try {
    const { reader, chosen } = openMemory(target, { backend });
    try {
      const r = reader.read(address, length);
      const unreadableBytes = r.unreadable.reduce((s, h) => s + Number(h.end - h.start), 0);
      if (unreadableBytes === length) throw nothingReadable(target, address, length);
      if (values.json) {
        process.stdout.write(
          JSON.stringify({
            pid,
            address: hex(address),
            length,
            backend: chosen,
            hex: r.data.toString('hex'),
            base64: r.data.toString('base64'),
            unreadable: r.unreadable.map((h: AddressRange) => ({ start: hex(h.start), end: hex(h.end) })),
          }) + '\n',
        );
      } else {
        process.stdout.write(hexdump(address, r.data, r.unreadable));
        if (unreadableBytes > 0) {
          process.stderr.write(`pidscope read: note: ${unreadableBytes} of ${length} bytes could not be read (shown as ??): ${r.unreadable.map((h) => `${hex(h.start)}..${hex(h.end)}`).join(', ')}\n`);
        }
      }
      return 0;
    } finally {
      reader.close();
    }
  } finally {
    target.close();
  }
}

/** gdb's words for it, plus why: no mapping at all, or a mapping without read permission. */
function nothingReadable(target: Target, address: bigint, length: number): PidscopeError {
  let why = '';
  try {
    const region = findRegion(target.maps(), address);
    why = region
      ? `: it lies in a mapping without read access (${hex(region.start)}-${hex(region.end)} ${region.perms}${region.path ? ' ' + region.path : ''})`
      : ': no mapping contains it';
  } catch {
    /* the reason is a bonus */
  }
  return new PidscopeError(
    'EFAULT',
    `Cannot access memory at address ${hex(address)} (none of the ${length} bytes is readable${why})`,
    `See the readable regions with \`pidscope info --pid ${target.pid}\``,
    'user',
  );
}

function usageError(message: string): number {
  process.stderr.write(`pidscope read: ${message.replace(/\.?$/, '')}. Run \`pidscope read --help\` for usage.\n`);
  return 2;
}

export const command: CliCommand = {
  name: 'read',
  summary: 'hexdump of live memory (xxd format) without stopping the process',
  usage,
  run: (argv) =>
    run(argv).catch((e: unknown) => {
      if (isPidscopeError(e) && e.code === 'USAGE') return usageError(e.message);
      throw e;
    }),
};
