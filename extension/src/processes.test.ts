import { describe, expect, it } from 'vitest';
import { toPickItem, type ProcessInfo } from './processes';

// The list itself is the adapter's (adapter/src/proc/attachable.test.ts); here, what the quick pick shows.
describe('toPickItem', () => {
  const sleep: ProcessInfo = { pid: 4242, ppid: 1, name: 'sleep', commandLine: 'sleep 300.4242', uid: 1000, user: 'alice', startTicks: 5 };

  it('gives the quick pick everything to filter on', () => {
    const item = toPickItem(sleep);
    expect(item.label).toBe('sleep');
    expect(item.description).toBe('pid 4242 · alice');
    expect(item.detail).toBe('sleep 300.4242');
    expect(item.pid).toBe(4242);
  });

  it('cuts a long command line and names a process without a name by its pid', () => {
    const item = toPickItem({ ...sleep, name: '', commandLine: 'x'.repeat(400) });
    expect(item.label).toBe('pid 4242');
    expect(item.detail).toBe(`${'x'.repeat(300)}…`);
  });
});
