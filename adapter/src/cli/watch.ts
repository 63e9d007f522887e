/**
 * `pidscope watch --pid N EXPR…`: streams every change of the watched objects, one line each,
 * while the process runs at full speed (hardware watchpoints through perf, or polling).
 */
import { parseArgs } from 'node:util';
import { isPidscopeError, PidscopeError } from '../errors';
import type { CliCommand } from '../main';
import { openProgram, TARGET_OPTIONS, targetArgs, usageError as cliUsageError } from './options';
import { Coalescer, type CoalescedOutput } from '../watch/coalesce';
import { basename } from '../watch/format';
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

const usageError = (message: string): number => cliUsageError({ name: 'watch', usage }, message);

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

async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
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
  } catch (e) {
    return usageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  let pid: number;
  let backend;
  try {
    ({ pid, backend } = targetArgs(values));
  } catch (e) {
    if (isPidscopeError(e) && e.code === 'USAGE') return usageError(e.message);
    throw e;
  }
  if (positionals.length === 0) return usageError('give at least one expression to watch, e.g. g_counter');
  const mode = (values.mode ?? 'auto') as WatchMode;
  if (!['hw', 'poll', 'auto'].includes(mode)) return usageError(`--mode must be hw, poll or auto (got '${values.mode}')`);
  const access = (values.access ?? 'write') as WatchAccess;
  if (!['write', 'readwrite', 'read'].includes(access)) return usageError(`--access must be write or readwrite (got '${values.access}')`);
  const num = (name: string, text: string | undefined, def: number, min: number): number => {
    if (text === undefined) return def;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new PidscopeError('USAGE', `--${name} must be a number >= ${min} (got '${text}')`, '', 'user');
    return n;
  };
  let interval: number, duration: number, maxRate: number;
  try {
    interval = num('interval', values.interval, 100, 1);
    duration = num('duration', values.duration, 0, 0);
    maxRate = num('max-rate', values['max-rate'], 20, 0);
  } catch (e) {
    return usageError((e as Error).message);
  }
  const json = values.json === true;
  let outputClosed = false;
  const out = (line: string) => {
    if (outputClosed) return;
    try {
      process.stdout.write(line + '\n');
    } catch {
      /* EPIPE: the reader went away; the 'error' handler below ends the watch */
    }
  };
  const emitJson = (o: Record<string, unknown>) => out(JSON.stringify(o));

  const program = await openProgram(pid, backend);
  let engine: ReturnType<typeof createWatchEngine>;
  try {
    engine = createWatchEngine(program, { pollIntervalMs: interval });
  } catch (e) {
    // (The target exited during start-up.) An open Target keeps a pidfd poll handle that fires
    // during Node's teardown: a native napi_throw abort (exit 134) instead of this message.
    program.close();
    throw e;
  }
  let finished: (reason: string) => void = () => undefined;
  const done = new Promise<string>((res) => (finished = res));

  const coalescer = new Coalescer(
    (o: CoalescedOutput) => {
      if (o.kind === 'hit') {
        if (json) emitJson(hitJson(o.hit));
        else out(hitLine(o.hit));
      } else if (json) {
        emitJson({
          type: 'summary',
          watch: o.watchId,
          expression: o.expression,
          total: o.total,
          suppressed: o.suppressed,
          windowMs: o.windowMs,
          last: hitJson(o.last),
        });
      } else {
        out(summaryLine(o, access));
      }
    },
    maxRate === 0 ? Infinity : maxRate,
  );
  engine.on('event', (e: WatchEvent) => {
    if (e.kind === 'hit') coalescer.push(e.hit);
    else if (e.kind === 'status') {
      if (json) emitJson({ type: 'status', watch: e.watchId, level: e.level, message: e.message });
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
  const timer = duration > 0 ? setTimeout(() => finished(`--duration ${duration} s elapsed`), duration * 1000) : undefined;

  try {
    for (const expression of positionals) {
      const target = resolveWatchTarget(program, expression);
      const info = engine.add({
        ...target,
        mode,
        access,
        condition: values.condition,
        hitCondition: values['hit-condition'],
        logMessage: values.log,
      });
      if (json) emitJson(watchJson(info));
      else {
        const how = info.mode === 'hw' ? `hardware, ${info.status}` : `polling every ${interval} ms${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`;
        process.stderr.write(`watching ${expression} (${info.spec.size} bytes at ${hex(info.spec.address)}): ${how}\n`);
      }
    }
  } catch (e) {
    if (timer) clearTimeout(timer);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    coalescer.close();
    engine.close();
    program.close();
    throw e;
  }

  const onOutputError = () => {
    outputClosed = true;
    finished('output closed');
  };
  process.stdout.on('error', onOutputError);
  // A referenced timer keeps Node alive (the engine's own timers and fd polls are unref'd).
  const keepAlive = setInterval(() => undefined, 1000);

  const reason = await done;
  clearInterval(keepAlive);
  if (timer) clearTimeout(timer);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  const infos = engine.list();
  engine.close(); // delivers what the rings still hold
  coalescer.close();
  const totals = infos;
  if (json) {
    emitJson({
      type: 'ended',
      reason,
      watches: totals.map((w) => ({ watch: w.id, expression: w.spec.expression, hits: w.hits, reported: w.reported, lost: w.lost })),
    });
  } else {
    const summary = totals.map(
      (w) =>
        `${w.spec.expression}: ${w.hits} ${w.mode === 'hw' ? (w.spec.access === 'readwrite' ? 'accesses' : 'writes') : 'changes'}${w.reported !== w.hits ? ` (${w.reported} reported)` : ''}${w.lost ? `, ${w.lost} not recorded by the kernel` : ''}`,
    );
    process.stderr.write(`pidscope watch: ${reason}; ${summary.join('; ')}\n`);
  }
  program.close();
  return 0;
}

export const command: CliCommand = {
  name: 'watch',
  summary: 'stream every change of variables (hardware watchpoints or polling), never stopping the process',
  usage,
  run,
};
