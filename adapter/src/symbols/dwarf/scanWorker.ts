/**
 * The worker-thread half of a parallel cold scan (scanParallel.ts): scans a range of units of
 * the sections it was sent and posts the records back, then raises the shared flag the main
 * thread waits on (it waits synchronously: DwarfInfo.index() is synchronous).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { DwarfReader, type DwarfSections, type Unit } from './reader';
import { scanUnits, type ScanResult } from './scan';

export interface ScanJob {
  sections: Pick<DwarfSections, 'info' | 'abbrev' | 'str' | 'lineStr' | 'strOffsets' | 'littleEndian' | 'addressSize' | 'file' | 'typesStart'>;
  /** Unit headers as plain data (what the scan reads of them). */
  units: Unit[];
  from: number;
  to: number;
  port: MessagePort;
  /** Set to 1 (and notified) once the answer is on the port. */
  done: Int32Array;
}

export type ScanAnswer = { result: ScanResult } | { error: string };

function run(job: ScanJob): void {
  let answer: ScanAnswer;
  try {
    const s = job.sections;
    // Typed arrays arrive as plain Uint8Arrays: the reader wants Buffers (toString, indexOf).
    const buf = (b: Uint8Array | undefined) => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : undefined);
    const reader = new DwarfReader({
      ...s,
      info: buf(s.info)!,
      abbrev: buf(s.abbrev)!,
      str: buf(s.str),
      lineStr: buf(s.lineStr),
      strOffsets: buf(s.strOffsets),
    });
    // V8's flags are per process: the main thread's leanJit window covers this thread too.
    const result = scanUnits(reader, job.units, job.from, job.to);
    delete result.ids; // rebuilt by the receiver; a Map of every name is not worth cloning
    answer = { result };
  } catch (e) {
    answer = { error: (e as Error).message };
  }
  job.port.postMessage(answer);
  Atomics.store(job.done, 0, 1);
  Atomics.notify(job.done, 0);
}

if (parentPort && workerData && (workerData as { kind?: string }).kind === 'pidscope-scan') run((workerData as { job: ScanJob }).job);
