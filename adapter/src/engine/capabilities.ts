/**
 * What this host lets pidscope do, probed (never assumed) and said plainly: `info` lists every
 * capability with its result and reason, the watch engine asks `hardwareBreakpoints()` before it
 * arms debug registers, and the tests gate on the same answer (test/support/capabilities.ts).
 *
 * Probed once per process: the hardware-breakpoint probe costs well under a millisecond, so a
 * cache on disk (keyed by boot id) would save nothing worth its staleness risks. The cache is
 * keyed by the switches that fake results (PIDSCOPE_PERF, PIDSCOPE_HWBP), so a test that sets one
 * in-process gets a fresh probe.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { probeBreakpointFires, type BreakpointProbe } from '../linux/perf';
import { detectPidfdMem } from '../linux/pidfdMem';
import { readPerfEventParanoid } from '../proc/kernel';

export interface Capability {
  /** Stable key: proc, perf, hw-breakpoints, pidfd-mem. */
  name: 'proc' | 'perf' | 'hw-breakpoints' | 'pidfd-mem';
  /** What it is, for people: "hardware breakpoints fire". */
  title: string;
  ok: boolean;
  /** The probe's result in one word (fires, nofire, refused, permitted, present, absent, …). */
  result: string;
  /** The evidence, or why not and the fix. */
  detail: string;
  /** What pidscope does without it. */
  fallback?: string;
}

let cached: { key: string; probe: BreakpointProbe } | undefined;

/** The hardware-breakpoint probe (linux/perf.ts probeBreakpointFires), once per process and switches. */
export function hardwareBreakpoints(): BreakpointProbe {
  const key = `${process.env.PIDSCOPE_PERF ?? ''}|${process.env.PIDSCOPE_HWBP ?? ''}`;
  if (cached?.key !== key) cached = { key, probe: probeBreakpointFires() };
  return cached.probe;
}

/** Why hardware watchpoints cannot be used here (with the fix), or undefined when they can. */
export function hardwareWatchUnavailable(): string | undefined {
  const p = hardwareBreakpoints();
  if (p.ok) return undefined;
  const why = p.reason ?? p.detail;
  return p.result === 'refused' ? `hardware watchpoint refused: ${why}` : why;
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Effective capability bits of this process (CapEff in /proc/self/status). */
function effectiveCaps(): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(readSmall('/proc/self/status') ?? '')?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;

function perfCapability(hw: BreakpointProbe): Capability {
  const paranoid = readPerfEventParanoid() ?? '?';
  const caps = effectiveCaps();
  const privileged = ((caps >> CAP_PERFMON) & 1n) === 1n || ((caps >> CAP_SYS_ADMIN) & 1n) === 1n;
  const who = privileged
    ? 'CAP_PERFMON/CAP_SYS_ADMIN: any process this user may ptrace'
    : `kernel.perf_event_paranoid=${paranoid}: user-space events on processes of the same user`;
  if (hw.result === 'refused') {
    return {
      name: 'perf',
      title: 'perf_event_open permitted',
      ok: false,
      result: 'refused',
      detail: hw.reason ?? hw.detail,
      fallback: 'watchpoints poll memory instead (changes only, no writer)',
    };
  }
  if (hw.result === 'unsupported') {
    return {
      name: 'perf',
      title: 'perf_event_open permitted',
      ok: false,
      result: 'not probed',
      detail: hw.detail,
      fallback: 'watchpoints poll memory instead',
    };
  }
  return {
    name: 'perf',
    title: 'perf_event_open permitted',
    ok: true,
    result: 'permitted',
    detail: `a breakpoint event opened on pidscope's own thread (${who})`,
  };
}

function hwCapability(hw: BreakpointProbe): Capability {
  const cap: Capability = { name: 'hw-breakpoints', title: 'hardware breakpoints fire', ok: hw.ok, result: hw.result, detail: hw.detail };
  if (hw.result === 'refused') {
    cap.result = 'not probed';
    cap.detail = 'a breakpoint needs perf_event_open, which was refused (see above)';
  } else if (!hw.ok) {
    cap.detail = hw.reason && hw.reason !== hw.detail ? `${hw.reason} (${hw.detail})` : hw.detail;
  }
  if (!hw.ok) cap.fallback = 'watch --mode auto, demo and DAP data breakpoints poll memory instead (changes only, no writer); --mode hw is refused';
  return cap;
}

function pidfdMemCapability(): Capability {
  const d = detectPidfdMem();
  const disabled = (process.env.PIDSCOPE_DISABLE_BACKENDS ?? '')
    .split(',')
    .map((s) => s.trim())
    .includes('pidfd-mem');
  if (!d.ok) {
    return {
      name: 'pidfd-mem',
      title: 'pidfd_mem present',
      ok: false,
      result: 'absent',
      detail: d.reason,
      fallback: 'memory is read with process_vm_readv or /proc/PID/mem',
    };
  }
  const f = d.feature;
  return {
    name: 'pidfd-mem',
    title: 'pidfd_mem present',
    ok: !disabled,
    result: disabled ? 'disabled' : 'present',
    detail: `syscall ${f.syscallNr}, version ${f.version}, flags 0x${f.flags.toString(16)}${disabled ? ' (disabled by PIDSCOPE_DISABLE_BACKENDS)' : ''}`,
  };
}

/** Opens and reads one byte: /proc files check permissions at open and read, not at stat. */
function readable(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    readSync(fd, Buffer.alloc(1), 0, 1, null);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return code;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function procCapability(pid?: number): Capability {
  const files = pid === undefined ? ['/proc/self/maps', '/proc/self/task'] : [`/proc/${pid}/maps`, `/proc/${pid}/status`, `/proc/${pid}/task`];
  const failed: string[] = [];
  for (const f of files) {
    if (f.endsWith('/task')) {
      try {
        readFileSync(f); // a directory: EISDIR means it exists and is ours to list
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EISDIR') failed.push(`${f}: ${code}`);
      }
      continue;
    }
    const err = readable(f);
    if (err) failed.push(`${f}: ${err}`);
  }
  const what = pid === undefined ? 'this process' : `process ${pid}`;
  if (failed.length) {
    return {
      name: 'proc',
      title: '/proc readable',
      ok: false,
      result: 'unreadable',
      detail: `${failed.join(', ')}: run as the target's user (with ptrace permission) or as root, and mount /proc without hidepid`,
    };
  }
  return { name: 'proc', title: '/proc readable', ok: true, result: 'readable', detail: `maps, status and threads of ${what}` };
}

/** Every capability pidscope relies on, probed now (the breakpoint probe once per process). */
export function hostCapabilities(pid?: number): Capability[] {
  const hw = hardwareBreakpoints();
  return [procCapability(pid), perfCapability(hw), hwCapability(hw), pidfdMemCapability()];
}

/** `  hardware breakpoints fire: fires — counted 8 …` lines for `info`. */
export function formatCapabilities(caps: Capability[]): string[] {
  const w = Math.max(...caps.map((c) => c.title.length));
  return caps.map(
    (c) => `  ${`${c.title}:`.padEnd(w + 1)} ${c.ok ? 'yes' : 'no '} (${c.result}) — ${c.detail}${c.fallback ? `; without it: ${c.fallback}` : ''}`,
  );
}
