/**
 * A cold scan split over a worker thread (issue 12, item 4): the main thread scans the first
 * units while one worker scans the rest, and the records are merged in unit order
 * (ScannedIndex), so the index equals the serial one.
 *
 * Off by default: on a 2-core machine it cut the wall time of a cold `eval` on CPython but
 * added the worker's start-up and its own cold JIT to the CPU time (bench/README.md, issue 12
 * figures), and the goal there is CPU time at or below gdb's. `PIDSCOPE_INDEX_THREADS=2` turns
 * it on for programs with at least 4 MB of .debug_info.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { DwarfReader, Unit } from './reader';
import { scanUnits, type ScanResult } from './scan';
import type { ScanAnswer, ScanJob } from './scanWorker';

/** Below this much .debug_info a worker's start-up costs more than it saves. */
const MIN_INFO_BYTES = 4 << 20;
/** Share of the bytes the worker gets: it starts ~20-30 ms after the main thread. */
const WORKER_SHARE = 0.45;

/** Threads wanted for a cold scan (1: serial). */
export function scanThreads(): number {
  const n = Number(process.env.PIDSCOPE_INDEX_THREADS ?? 1);
  return Number.isInteger(n) && n >= 2 ? 2 : 1;
}

/** Where the worker's script is (the bundle's or the compiled module's); undefined from sources. */
function defaultWorkerFile(): string | undefined {
  const f = join(__dirname, 'scanWorker.js');
  return existsSync(f) ? f : undefined;
}

/**
 * Scans units [0, n) on this thread and a worker; undefined when a worker is not worth it or
 * cannot run here (then the caller scans serially). Tests: `force` skips the size threshold,
 * `workerFile` names a compiled scanWorker, `strict` throws when the worker failed.
 */
export function scanInParallel(
  reader: DwarfReader,
  units: Unit[],
  opts: { force?: boolean; workerFile?: string; strict?: boolean } = {},
): ScanResult[] | undefined {
  const s = reader.s;
  if (units.length < 2 || (!opts.force && s.info.length < MIN_INFO_BYTES)) return undefined;
  const file = opts.workerFile ?? defaultWorkerFile();
  if (!file) return undefined;
  const start = units[0].offset;
  const span = units[units.length - 1].end - start;
  let split = units.findIndex((u) => u.offset - start >= span * (1 - WORKER_SHARE));
  if (split <= 0) split = units.length - 1;
  // Copies of just the sections the scan reads, transferred (not cloned) to the worker: the
  // originals are views into the whole mapped file.
  const copy = (b: Buffer | undefined): Uint8Array | undefined => (b ? new Uint8Array(b) : undefined);
  const sections = {
    info: copy(s.info)!,
    abbrev: copy(s.abbrev)!,
    str: copy(s.str),
    lineStr: copy(s.lineStr),
    strOffsets: copy(s.strOffsets),
    littleEndian: s.littleEndian,
    addressSize: s.addressSize,
    file: s.file,
    typesStart: s.typesStart,
  };
  const plain = units.map(
    (u): Unit =>
      ({
        offset: u.offset,
        end: u.end,
        version: u.version,
        unitType: u.unitType,
        addressSize: u.addressSize,
        offsetSize: u.offsetSize,
        abbrevOffset: u.abbrevOffset,
        dieOffset: u.dieOffset,
        strOffsetsBase: u.strOffsetsBase,
        addrBase: u.addrBase,
        rnglistsBase: u.rnglistsBase,
        loclistsBase: u.loclistsBase,
        error: u.error,
      }) as Unit,
  );
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const job = { sections, units: plain, from: split, to: units.length, port: port2, done } as unknown as ScanJob;
  const transfer = [port2, ...[sections.info, sections.abbrev, sections.str, sections.lineStr, sections.strOffsets].filter((b) => b).map((b) => b!.buffer)];
  let worker: Worker;
  try {
    worker = new Worker(file, { workerData: { kind: 'pidscope-scan', job }, transferList: transfer as never });
  } catch {
    return undefined;
  }
  worker.unref();
  const mine = scanUnits(reader, units, 0, split);
  // The worker signals through shared memory; its answer is then on the port.
  let answer: ScanAnswer | undefined;
  const deadline = Date.now() + 60_000;
  while (Atomics.load(done, 0) === 0 && Date.now() < deadline) Atomics.wait(done, 0, 0, 1_000);
  if (Atomics.load(done, 0) === 1) answer = receiveMessageOnPort(port1)?.message as ScanAnswer | undefined;
  port1.close();
  void worker.terminate();
  // A worker that failed: its units are scanned here after all (same result, serially).
  if (!answer || 'error' in answer) {
    if (opts.strict) throw new Error(`scan worker failed: ${answer && 'error' in answer ? answer.error : 'no answer'}`);
    return [mine, scanUnits(reader, units, split, units.length)];
  }
  return [mine, answer.result];
}
