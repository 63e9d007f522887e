/**
 * `pidscope watch --pid N EXPR…`: streams every change of the watched objects, one line each,
 * while the process runs at full speed (hardware watchpoints through perf, or polling).
 */
import { parseArgs } from 'node:util';
import { PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import type { CliCommand } from '../main';
import { numberOption, openProgram, TARGET_OPTIONS, targetArgs, withUsage } from './options';
import { Coalescer, type CoalescedOutput } from '../watch/coalesce';
import { basename } from '../watch/format';
import type { WatchEngine } from '../watch/engine';
import { createWatchEngine, hitLine, resolveWatchTarget, summaryLine } from '../watch/program';
import type { WatchAccess, WatchEvent, WatchHit, WatchInfo, WatchMode } from '../watch/types';
import { hex } from '../util/hex';

const usage = `Usage: pidscope watch --pid N EXPR… [options]

Reports every change of each EXPR (a C expression with an address: a global, a member, an
element, *pointer) while process N keeps running. Nothing is stopped: hardware watchpoints
count accesses in the CPU's debug registers (perf_event_open) and name the writer; polling
compares snapshots and sees changes only.

  --pid N             the process to watch
  --mode M            hw (debug registers: writer known; 4 per thread, 1/2/4/8 aligned bytes each),
                      poll (any number, any size, no writer), auto (default: hw, else poll)
  --access A          write (default) or readwrite (x86 cannot watch reads alone)
  --interval MS       polling interval (default 100)
  --duration S        stop after S seconds (default: until Ctrl-C or the process exits)
  --condition C       report only when the C expression C is true; \`value\` is the new value,
                      \`old\` the previous one, other names are globals (e.g. 'value % 1000 == 0')
  --hit-condition H   VS Code style: 10 (from the 10th on), '>= 10', '== 3', '% 5'
  --log TEXT          print TEXT instead of the standard line, with {expr} evaluated
  --max-rate N        lines per second and watch before hits are summarised (default 20; 0 = all)
  --json              one JSON object per line: {"type":"hit"|"summary"|"status"|"watch"|"ended",…}
  --backend B         memory backend: auto (default), pidfd-mem, vm-readv, proc-mem

Line format:  g_shared: 2 → 3 by worker_loop (threads.c:88) [tid 4242 worker-0]
When several writes land between two reads of memory, only the last one's value can be read:
the others show "(overwritten before it could be read)", and the next old value shows as "?".
A change inside a big array or struct is shown as that element or member (g_ring[6]: …).

Hardware watchpoints are used only where a probe shows they fire (a breakpoint on a word of
pidscope's own must count its writes; some hypervisors deliver no debug-register traps): else
auto polls and says why, and --mode hw is refused. \`pidscope info --pid N\` shows the probe.
On a process with many threads a hardware watch holds threads x online CPUs x debug registers
perf fds; one needing more than RLIMIT_NOFILE leaves (minus 256) is refused up front (auto polls).

Environment: PIDSCOPE_PERF=deny makes perf_event_open fail as if not permitted, and
PIDSCOPE_HWBP=nofire makes the probe report breakpoints that never fire (to see the fallbacks).
Exit status: 0 when the watch ended (Ctrl-C, SIGTERM, --duration, the process exited),
1 for errors (no address, no such process, hardware watchpoints unavailable with --mode hw),
2 for usage errors.
`;

function hitJson(hit: WatchHit): Record<string, unknown> {
  const o: Record<string, unknown> = {
    type: 'hit',
    watch: hit.watchId,
    expression: hit.expression,
    seq: hit.seq,
    time: new Date(hit.time).toISOString(),
    source: hit.source,
    old: hit.oldText ?? null,
    value: hit.value ? (hit.valueText ?? null) : null,
    valueSeen: hit.valueSeen,
    valueFrom: hit.valueFrom ?? (hit.source === 'poll' ? 'memory' : null),
    oldHex: hit.old?.toString('hex') ?? null,
    valueHex: hit.value?.toString('hex') ?? null,
  };
  if (hit.writer) {
    o.writer = {
      function: hit.writer.function ?? null,
      file: hit.writer.file ? basename(hit.writer.file) : null,
      path: hit.writer.file ?? null,
      line: hit.writer.line ?? null,
      ip: hex(hit.writer.ip),
      tid: hit.writer.tid,
      thread: hit.writer.threadName ?? null,
    };
  }
  if (hit.perfTime !== undefined) o.perfTimeNs = hit.perfTime.toString();
  if (hit.changed) o.changed = hit.changed;
  if (hit.part) o.part = hit.part;
  if (hit.message !== undefined) o.message = hit.message;
  return o;
}

function watchJson(w: WatchInfo): Record<string, unknown> {
  return {
    type: 'watch',
    watch: w.id,
    expression: w.spec.expression,
    address: hex(w.spec.address),
    size: w.spec.size,
    mode: w.mode,
    access: w.spec.access,
    fallbackReason: w.fallbackReason ?? null,
    status: w.status,
  };
}

interface WatchArgs {
  pid: number;
  backend: ReturnType<typeof targetArgs>['backend'];
  expressions: string[];
  mode: WatchMode;
  access: WatchAccess;
  intervalMs: number;
  /** Seconds; 0: until stopped. */
  duration: number;
  /** Lines per second per watch before hits are summarised; 0: no limit. */
  maxRate: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
  json: boolean;
}

/** The checked arguments, or the exit status 2 after a usage error. */
function parseWatchArgs(argv: string[]): WatchArgs | number {
  return withUsage({ name: 'watch', usage }, () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...TARGET_OPTIONS,
        mode: { type: 'string' },
        access: { type: 'string' },
        interval: { type: 'string' },
        duration: { type: 'string' },
        condition: { type: 'string' },
        'hit-condition': { type: 'string' },
        log: { type: 'string' },
        'max-rate': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    const target = targetArgs(values);
    if (positionals.length === 0) throw usageProblem('give at least one expression to watch, e.g. g_counter');
    const mode = (values.mode ?? 'auto') as WatchMode;
    if (!['hw', 'poll', 'auto'].includes(mode)) throw usageProblem(`--mode must be hw, poll or auto (got '${values.mode}')`);
    const access = (values.access ?? 'write') as WatchAccess;
    if (!['write', 'readwrite', 'read'].includes(access)) throw usageProblem(`--access must be write or readwrite (got '${values.access}')`);
    return {
      ...target,
      expressions: positionals,
      mode,
      access,
      intervalMs: numberOption('interval', values.interval, 100, 1),
      duration: numberOption('duration', values.duration, 0, 0),
      maxRate: numberOption('max-rate', values['max-rate'], 20, 0),
      condition: values.condition,
      hitCondition: values['hit-condition'],
      logMessage: values.log,
      json: values.json === true,
    };
  });
}

function usageProblem(message: string): PidscopeError {
  return new PidscopeError('USAGE', message, '', 'user');
}

/** Lines on stdout (text or one JSON object each); a reader that went away ends the watch, not the process. */
class WatchOutput {
  closed = false;
  constructor(readonly json: boolean) {}

  readonly line = (text: string): void => {
    if (this.closed) return;
    try {
      process.stdout.write(text + '\n');
    } catch {
      /* EPIPE: the reader went away; the 'error' handler ends the watch */
    }
  };

  readonly object = (o: Record<string, unknown>): void => this.line(JSON.stringify(o));
}

/** Render: hits as lines or JSON; beyond --max-rate per watch, a summary of what was left out. */
function hitPrinter(out: WatchOutput, args: WatchArgs): Coalescer {
  return new Coalescer(
    (o: CoalescedOutput) => {
      if (o.kind === 'hit') {
        if (out.json) out.object(hitJson(o.hit));
        else out.line(hitLine(o.hit));
      } else if (out.json) {
        out.object({
          type: 'summary',
          watch: o.watchId,
          expression: o.expression,
          total: o.total,
          suppressed: o.suppressed,
          windowMs: o.windowMs,
          last: hitJson(o.last),
        });
      } else {
        out.line(summaryLine(o, args.access));
      }
    },
    args.maxRate === 0 ? Infinity : args.maxRate,
  );
}

/** Setup: one watch per expression, each announced (how it is watched: hardware or polling and why). */
function armWatches(program: Program, engine: WatchEngine, args: WatchArgs, out: WatchOutput): void {
  for (const expression of args.expressions) {
    const target = resolveWatchTarget(program, expression);
    const info = engine.add({
      ...target,
      mode: args.mode,
      access: args.access,
      condition: args.condition,
      hitCondition: args.hitCondition,
      logMessage: args.logMessage,
    });
    if (out.json) out.object(watchJson(info));
    else {
      const how =
        info.mode === 'hw' ? `hardware, ${info.status}` : `polling every ${args.intervalMs} ms${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`;
      process.stderr.write(`watching ${expression} (${info.spec.size} bytes at ${hex(info.spec.address)}): ${how}\n`);
    }
  }
}

/** Summary: why the watch ended and each watch's totals. */
function printSummary(reason: string, totals: WatchInfo[], out: WatchOutput): void {
  if (out.json) {
    out.object({
      type: 'ended',
      reason,
      watches: totals.map((w) => ({ watch: w.id, expression: w.spec.expression, hits: w.hits, reported: w.reported, lost: w.lost })),
    });
    return;
  }
  const summary = totals.map(
    (w) =>
      `${w.spec.expression}: ${w.hits} ${w.mode === 'hw' ? (w.spec.access === 'readwrite' ? 'accesses' : 'writes') : 'changes'}${w.reported !== w.hits ? ` (${w.reported} reported)` : ''}${w.lost ? `, ${w.lost} not recorded by the kernel` : ''}`,
  );
  process.stderr.write(`pidscope watch: ${reason}; ${summary.join('; ')}\n`);
}

async function run(argv: string[]): Promise<number> {
  const args = parseWatchArgs(argv);
  if (typeof args === 'number') return args;
  const out = new WatchOutput(args.json);

  const program = await openProgram(args.pid, args.backend);
  let engine: WatchEngine;
  try {
    engine = createWatchEngine(program, { pollIntervalMs: args.intervalMs });
  } catch (e) {
    // (The target exited during start-up.) An open Target keeps a pidfd poll handle that fires
    // during Node's teardown: a native napi_throw abort (exit 134) instead of this message.
    program.close();
    throw e;
  }
  let finished: (reason: string) => void = () => undefined;
  const done = new Promise<string>((res) => (finished = res));

  const coalescer = hitPrinter(out, args);
  engine.on('event', (e: WatchEvent) => {
    if (e.kind === 'hit') coalescer.push(e.hit);
    else if (e.kind === 'status') {
      if (out.json) out.object({ type: 'status', watch: e.watchId, level: e.level, message: e.message });
      else process.stderr.write(`pidscope watch: ${e.message}\n`);
    } else {
      finished(e.reason);
    }
  });

  // Before the watches are armed: on a process with thousands of threads arming goes on in the
  // background, and Ctrl-C or --duration must end the watch at any moment of it.
  const onSignal = (sig: NodeJS.Signals) => finished(`stopped by ${sig}`);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = args.duration > 0 ? setTimeout(() => finished(`--duration ${args.duration} s elapsed`), args.duration * 1000) : undefined;
  const stopListening = (): void => {
    if (timer) clearTimeout(timer);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };

  try {
    armWatches(program, engine, args, out);
  } catch (e) {
    stopListening();
    coalescer.close();
    engine.close();
    program.close();
    throw e;
  }

  process.stdout.on('error', () => {
    out.closed = true;
    finished('output closed');
  });
  // A referenced timer keeps Node alive (the engine's own timers and fd polls are unref'd).
  const keepAlive = setInterval(() => undefined, 1000);

  const reason = await done;
  clearInterval(keepAlive);
  stopListening();
  const totals = engine.list();
  engine.close(); // delivers what the rings still hold
  coalescer.close();
  printSummary(reason, totals, out);
  program.close();
  return 0;
}

export const command: CliCommand = {
  name: 'watch',
  summary: 'stream every change of variables (hardware watchpoints or polling), never stopping the process',
  usage,
  run,
};
