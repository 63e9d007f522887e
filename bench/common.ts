/** Small pieces every bench uses: the middle value of repeated timings, CPU time of children, the load. */
import { readFileSync } from 'node:fs';

/** The median (upper middle for an even count); NaN for none. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system, ms; 10 ms resolution) of this process's reaped children: cutime + cstime of /proc/self/stat. */
export function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10; // fields 16 and 17, in 100 Hz ticks
}

/** The 1, 5 and 15 minute load averages, as /proc/loadavg writes them. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
