/**
 * `pidscope info --pid N`: what pidscope sees of a live process without stopping it — name,
 * command line, executable, the memory backend it would use and why the others were not chosen,
 * mapped files (modules), threads and memory regions.
 */
import { parseArgs } from 'node:util';
import type { MapRegion, MappedModule } from '../proc/maps';
import { formatCapabilities, hostCapabilities, type Capability } from '../engine/capabilities';
import { Target } from '../engine/target';
import { stateName, type ThreadInfo } from '../proc/threads';
import type { CliCommand } from '../main';
import { TARGET_OPTIONS, targetArgs, withUsage } from './options';
import { openMemory, parseBackend } from '../memory/select';
import { hex } from '../util/hex';

const usage = `Usage: pidscope info --pid N [--json] [--backend B]

Shows process N as pidscope sees it, without stopping it: name, command line, executable, the
memory backend chosen and why the others were not, what this host lets pidscope do (each
capability probed: /proc readable, perf_event_open permitted, hardware breakpoints actually fire,
pidfd_mem present, with the reason when not), mapped files, threads and memory regions.

  --pid N        the process
  --json         one JSON object instead of text
  --backend B    auto (default), pidfd-mem, vm-readv or proc-mem

Environment: PIDSCOPE_PERF=deny (perf_event_open refused) and PIDSCOPE_HWBP=nofire (hardware
breakpoints armed but never firing) fake those probe results, to see the fallbacks.
`;

export interface InfoReport {
  pid: number;
  name: string;
  cmdline: string[];
  exe: string | null;
  uid: number | null;
  backend: { chosen: string; reasons: string[] };
  /** What this host lets pidscope do, each probed (see engine/capabilities.ts). */
  capabilities: Capability[];
  modules: { path: string; start: string; end: string; base: string; deleted: boolean }[];
  threads: { tid: number; name: string; state: string; stateName: string }[];
  regions: { start: string; end: string; perms: string; offset: string; dev: string; inode: number; path: string; deleted: boolean; kind: string }[];
}

export function collectInfo(pid: number, backend: ReturnType<typeof parseBackend>): InfoReport {
  const target = Target.attach(pid);
  try {
    target.assertUserProcess();
    const mem = openMemory(target, { backend, probeAll: true });
    mem.reader.close();
    const regions: MapRegion[] = target.maps();
    const modules: MappedModule[] = target.modules();
    const threads: ThreadInfo[] = target.threads();
    return {
      pid,
      name: target.name(),
      cmdline: target.cmdline(),
      exe: target.exe() ?? null,
      uid: target.uid() ?? null,
      backend: { chosen: mem.chosen, reasons: mem.reasons },
      capabilities: hostCapabilities(pid),
      modules: modules.map((m) => ({ path: m.path, start: hex(m.start), end: hex(m.end), base: hex(m.base), deleted: m.deleted })),
      threads: threads.map((t) => ({ tid: t.tid, name: t.name, state: t.state, stateName: stateName(t.state) })),
      regions: regions.map((r) => ({
        start: hex(r.start),
        end: hex(r.end),
        perms: r.perms,
        offset: hex(r.offset),
        dev: r.dev,
        inode: r.inode,
        path: r.path,
        deleted: r.deleted,
        kind: r.kind,
      })),
    };
  } finally {
    target.close();
  }
}

export function formatInfo(r: InfoReport): string {
  const out: string[] = [];
  out.push(`process ${r.pid} (${r.name})`);
  out.push(`  command line: ${r.cmdline.length ? r.cmdline.map((a) => (/[\s"'\\]/.test(a) || a === '' ? JSON.stringify(a) : a)).join(' ') : '(none)'}`);
  out.push(`  executable:   ${r.exe ?? '(not visible)'}`);
  out.push(`  user:         uid ${r.uid ?? '?'}`);
  out.push(`memory backend: ${r.backend.chosen}`);
  for (const reason of r.backend.reasons) out.push(`  ${reason}`);
  out.push('capabilities (probed, not assumed):');
  out.push(...formatCapabilities(r.capabilities));
  out.push(`threads (${r.threads.length}):`);
  for (const t of r.threads) out.push(`  ${String(t.tid).padStart(7)}  ${t.name.padEnd(16)} ${t.state} (${t.stateName})`);
  out.push(`modules (${r.modules.length}):`);
  for (const m of r.modules) out.push(`  ${m.start.padStart(14)}-${m.end.padEnd(14)} ${m.path}${m.deleted ? ' (deleted)' : ''}`);
  out.push(`regions (${r.regions.length}):`);
  for (const g of r.regions) {
    out.push(
      `  ${g.start.padStart(14)}-${g.end.padEnd(14)} ${g.perms} ${g.offset.slice(2).padStart(8, '0')} ${g.dev} ${String(g.inode).padEnd(9)} ${g.path}${g.deleted ? ' (deleted)' : ''}`.trimEnd(),
    );
  }
  return out.join('\n') + '\n';
}

async function run(argv: string[]): Promise<number> {
  const args = withUsage({ name: 'info' }, () => {
    const { values } = parseArgs({ args: argv, allowPositionals: false, strict: true, options: { ...TARGET_OPTIONS, json: { type: 'boolean' } } });
    return { values, ...targetArgs(values) };
  });
  if (typeof args === 'number') return args;
  const { values, pid, backend } = args;
  const report = collectInfo(pid, backend);
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatInfo(report));
  return 0;
}

export const command: CliCommand = {
  name: 'info',
  summary: 'process, memory backend (and why), modules, threads and regions of a live process',
  usage,
  run,
};
