/**
 * The live view over every build variant of the `globals` fixture: optimised, non-PIE, DWARF 4,
 * split debug file, and no debug info at all (ELF symbols only).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_VARIANTS, startFixture, type RunningFixture, type Variant } from '../support/fixtures';
import { attach, LIVE_FRAME_ID, mainGlobals, startClient, type Client } from './harness';

const clients: Client[] = [];
const fixtures: RunningFixture[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
  await Promise.all(fixtures.map((f) => f.stop()));
});

const STRIPPED: readonly Variant[] = ['stripped', 'symtab-only'];

describe.each(ALL_VARIANTS.map((v) => [v]))('variant %s', (variant) => {
  it('attaches and shows the globals', async () => {
    const fx = await startFixture('globals', { variant });
    fixtures.push(fx);
    const c = await startClient();
    clients.push(c);
    await attach(c, { pid: fx.pid, refreshIntervalMs: 0 });
    const g = await mainGlobals(c);
    const r = await c.request('evaluate', { expression: 'g_int', context: 'watch', frameId: LIVE_FRAME_ID });
    if (STRIPPED.includes(variant)) {
      // No types: pidscope says so (once, in the Debug Console) and invents nothing.
      const out = c.events
        .filter((e) => e.event === 'output')
        .map((e) => e.body.output)
        .join('');
      expect(out).toMatch(/no debug info found/);
      expect(r.success).toBe(false);
      if (variant === 'symtab-only') {
        expect(g.get('g_int')).toMatchObject({ type: '<data variable, no debug info>', evaluateName: 'g_int' });
        expect(r.message).toMatch(/'g_int' has unknown type; cast it to its declared type/);
      } else {
        // Only .dynsym is left: the copy-relocated `stdout`, nothing of the program's own.
        expect(g.has('g_int')).toBe(false);
        expect(g.get('stdout')?.type).toBe('<data variable, no debug info>');
        expect(r.message).toMatch(/No symbol "g_int" in current context/);
      }
    } else {
      expect(g.get('g_int')?.value).toBe('123456789');
      expect(r.body.result).toBe('123456789');
      expect(g.get('g_rect')?.value).toMatch(/^\{top_left = \{x = -10, y = 20\}/);
    }
  });
});
