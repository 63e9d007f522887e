/**
 * `pidscope read --pid N ADDRESS LENGTH`: a hexdump of live memory in `xxd -o ADDRESS` format
 * (unreadable bytes marked), or JSON with --json. Never stops the target.
 */
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isPidscopeError, PidscopeError } from '../errors';
import { findRegion } from '../proc/maps';
import { Target } from '../engine/target';
import type { CliCommand } from '../main';
import { HexdumpStream } from '../memory/hexdump';
import { parseAddress, parseLength } from '../memory/parse';
import { exitOnEpipe, parsePid, TARGET_OPTIONS, usageError as cliUsageError, withUsage } from './options';
import type { AddressRange, ReadResult } from '../memory/reader';
import { checkRequest } from '../memory/scatter';
import { openMemory, parseBackend } from '../memory/select';
import { hex } from '../util/hex';

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

async function run(argv: string[]): Promise<number> {
  const args = withUsage(CLI, () => {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...TARGET_OPTIONS, json: { type: 'boolean' } } });
    if (positionals.length !== 2) {
      throw new PidscopeError(
        'USAGE',
        positionals.length < 2 ? 'ADDRESS and LENGTH are required' : `unexpected argument '${positionals[2]}'`,
        'Usage: pidscope read --pid N ADDRESS LENGTH',
        'user',
      );
    }
    const pid = parsePid(values.pid);
    const address = parseAddress(positionals[0]);
    const length = parseLength(positionals[1]);
    return { values, pid, address, length, backend: parseBackend(values.backend ?? 'auto') };
  });
  if (typeof args === 'number') return args;
  const { values, pid, address, length, backend } = args;
  if (length === 0) {
    throw new PidscopeError('EMPTY', 'length 0: there is nothing to read', 'Give a length of at least 1 byte', 'user');
  }

  checkRequest(address, length); // the 256 MiB limit, before anything is read

  const target = Target.attach(pid);
  try {
    const { reader, chosen } = openMemory(target, { backend });
    try {
      exitOnEpipe();
      if (values.json) await streamJson(target, reader, chosen, address, length);
      else await streamText(target, reader, address, length);
      return 0;
    } finally {
      reader.close();
    }
  } finally {
    target.close();
  }
}

/**
 * Reads come in pieces of CHUNK bytes and output goes out as it is made, so memory stays bounded
 * whatever the length (up to the 256 MiB limit): a whole 64 MiB dump as one string ran V8 out of
 * memory, and a 256 MiB --json exceeded V8's longest string.
 */
const CHUNK = 1 << 20;

type Reader = ReturnType<typeof openMemory>['reader'];

async function put(data: Buffer | string): Promise<void> {
  if (data.length === 0) return;
  if (!process.stdout.write(data)) await once(process.stdout, 'drain');
}

/** Reads [address, address+length) piece by piece; calls `each` with every piece in order. */
async function readPieces(
  reader: Reader,
  address: bigint,
  length: number,
  each: (a: bigint, r: ReadResult) => Promise<void> | void,
): Promise<{ holes: AddressRange[]; unreadableBytes: number }> {
  const holes: AddressRange[] = [];
  let unreadableBytes = 0;
  for (let off = 0; off < length; off += CHUNK) {
    const a = address + BigInt(off);
    const r = reader.read(a, Math.min(CHUNK, length - off));
    for (const h of r.unreadable) {
      unreadableBytes += Number(h.end - h.start);
      const last = holes[holes.length - 1];
      if (last && last.end === h.start) last.end = h.end;
      else holes.push({ start: h.start, end: h.end });
    }
    await each(a, r);
  }
  return { holes, unreadableBytes };
}

async function streamText(target: Target, reader: Reader, address: bigint, length: number): Promise<void> {
  const dump = new HexdumpStream();
  // Until a byte was readable nothing is printed: a range with none is an error, not a dump.
  let held: Buffer[] | undefined = [];
  let readable = 0;
  const { holes, unreadableBytes } = await readPieces(reader, address, length, async (a, r) => {
    const bad = r.unreadable.reduce((n, h) => n + Number(h.end - h.start), 0);
    readable += r.data.length - bad;
    const text = dump.piece(a, r.data, r.unreadable);
    if (held && readable === 0) {
      held.push(text);
      return;
    }
    if (held) {
      for (const t of held) await put(t);
      held = undefined;
    }
    await put(text);
  });
  if (readable === 0) throw nothingReadable(target, address, length);
  await put(dump.end());
  if (unreadableBytes > 0) {
    process.stderr.write(
      `pidscope read: note: ${unreadableBytes} of ${length} bytes could not be read (shown as ??): ${holes.map((h) => `${hex(h.start)}..${hex(h.end)}`).join(', ')}\n`,
    );
  }
}

/**
 * One read of the range into an unlinked temporary file (the JSON holds the bytes twice, as hex
 * and as base64, and both must show the same snapshot of live memory), then the JSON written
 * from that file piece by piece.
 */
async function streamJson(target: Target, reader: Reader, backend: string, address: bigint, length: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pidscope-read-'));
  const file = join(dir, 'bytes');
  const fd = openSync(file, 'w+', 0o600);
  try {
    unlinkSync(file);
    rmdirSync(dir);
    const { holes, unreadableBytes } = await readPieces(reader, address, length, (a, r) => {
      writeSync(fd, r.data, 0, r.data.length, Number(a - address));
    });
    if (unreadableBytes === length) throw nothingReadable(target, address, length);
    const head = JSON.stringify({ pid: target.pid, address: hex(address), length, backend });
    await put(`${head.slice(0, -1)},"hex":"`);
    const buf = Buffer.allocUnsafe(3 * 256 * 1024); // a multiple of 3: base64 pieces join cleanly
    for (const enc of ['hex', 'base64'] as const) {
      if (enc === 'base64') await put('","base64":"');
      for (let off = 0; off < length; off += buf.length) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, length - off), off);
        await put(buf.toString(enc, 0, n));
      }
    }
    await put(`","unreadable":${JSON.stringify(holes.map((h) => ({ start: hex(h.start), end: hex(h.end) })))}}\n`);
  } finally {
    closeSync(fd);
    try {
      rmdirSync(dir);
    } catch {
      /* removed already */
    }
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

const CLI = { name: 'read' };
const usageError = (message: string): number => cliUsageError(CLI, message);

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
