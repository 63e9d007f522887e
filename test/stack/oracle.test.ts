/**
 * `pidscope stack --full` against gdb's `thread apply all bt full` on the same live `stacks`
 * fixture: pidscope first (the process keeps running: TracerPid 0, g_progress advancing), gdb
 * attached after. For every blocked thread, each frame in the program's own code (stacks.c)
 * must print exactly as gdb prints it, locals included; frames inside libc must name the same
 * functions. For the spinning thread, frame 0 is one of the loop's functions and the outer
 * frames equal gdb's.
 *
 * Known differences (named bugs, normalised below, not hidden):
 *  - GDB_STOP_RESTARTS_SYSCALL: gdb's own stop interrupts the blocking system call: the kernel
 *    rewinds pc to the `syscall` instruction and puts -ERESTARTSYS in rax, and nanosleep writes
 *    the remaining time into its `rem` argument. gdb then shows frame 0 with an address and
 *    `sc_ret = -512`; pidscope shows the untouched thread (pc after `syscall`, rax unknown).
 *  - ENTRY_VALUES: `x=x@entry=V` is computed from the caller's call site, as gdb does, but not
 *    through tail-call frames, and a current value pidscope lacks (PROC_SYSCALL_REGISTERS) shows
 *    as `x=<unavailable>, x@entry=V` where gdb shows `x=x@entry=V`.
 *  - PROC_SYSCALL_REGISTERS: a thread blocked since before pidscope came is seen through
 *    /proc/PID/task/TID/syscall only (sp, pc, the six argument registers): values that live in
 *    other registers are <unavailable> where gdb (which stops the thread) has them.
 *    Its pc also lands in a different lexical block, so frame 0's locals may differ in order.
 *  - Tail-call frames (gdb's TAILCALL_FRAME, from DW_AT_call_tail_call chains) are shown as gdb
 *    shows them; their arguments need entry values through the chain (not done): <optimized out>.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startFixture, type RunningFixture, type Variant } from '../support/fixtures';
import { gdbCommands } from '../support/gdb';
import { tracerPid } from '../support/proc';
import { pidscope } from '../cli/run';
import { Program } from '../../adapter/src/engine/program';
import { takeStacks } from '../../adapter/src/stack/stacks';
import { printInFrame } from '../../adapter/src/stack/frameScope';
import type { GdbRequest } from '../support/gdb';

// `split` (debug info in a separate file), `stripped` (no symbols: `?? ()` frames, unwound by .eh_frame), `symtab-only` (ELF symbols, no DWARF).
const VARIANTS: Variant[] = ['O0-dwarf5-pie', 'O0-dwarf4-pie', 'O0-dwarf5-nopie', 'O2-dwarf5-pie', 'O2-dwarf4-nopie', 'split', 'stripped', 'symtab-only'];
const BLOCKED = ['nested', 'recurse', 'signal', 'inline'];

interface Frame {
  line: string;
  locals: string[];
}
interface Thread {
  header: string;
  name: string;
  frames: Frame[];
}

function parse(text: string): Map<string, Thread> {
  const out = new Map<string, Thread>();
  let cur: Thread | undefined;
  for (const line of text.split('\n')) {
    const h = /^Thread \d+ \(.*"(.*)"\):$/.exec(line);
    if (h) {
      cur = { header: line, name: h[1], frames: [] };
      out.set(h[1], cur);
      continue;
    }
    if (!cur) continue;
    if (/^#\d+ /.test(line)) cur.frames.push({ line, locals: [] });
    else if (/^ {8}\S/.test(line) || line === 'No locals.') cur.frames[cur.frames.length - 1]?.locals.push(line);
  }
  return out;
}

const stripLevel = (l: string) => l.replace(/^#\d+ +/, '');
const fnName = (l: string) => /(?:in )?([A-Za-z_][\w.]*|<signal handler called>)(?: \(|$)/.exec(stripLevel(l).replace(/^0x[0-9a-f]+ in /, ''))?.[1];
const isOwn = (f: Frame) => / at stacks\.c:\d+$/.test(f.line);
/** ENTRY_VALUES: gdb's `name=name@entry=V` / `name=V@entry` forms reduced to the current value. */
const noEntry = (l: string) => l.replace(/(\w+)=\1@entry=/g, '$1=');

const fixtures: RunningFixture[] = [];
afterAll(async () => {
  for (const f of fixtures) await f.stop();
});

describe.each(VARIANTS)('stack --full equals gdb bt full (%s)', (variant) => {
  it("every blocked thread, and the spinning thread's outer frames", async () => {
    const fx = await startFixture('stacks', { variant });
    fixtures.push(fx);
    const ours = await pidscope(['stack', '--pid', String(fx.pid), '--full']);
    expect(tracerPid(fx.pid)).toBe(0);
    expect(ours.stderr).toBe('');
    expect(ours.code).toBe(0);
    const gdbText = (await gdbCommands(fx.pid, ['thread apply all bt full'], { timeoutMs: 120_000 }))[0];
    const a = parse(ours.stdout);
    const g = parse(gdbText);
    for (const name of [...BLOCKED, 'spin', 'progress', 'stacks']) expect(a.has(name), `thread ${name} shown`).toBe(true);
    for (const name of BLOCKED) {
      const ot = a.get(name)!;
      const gt = g.get(name)!;
      expect(ot.header).toBe(gt.header);
      const own = ot.frames.filter(isOwn);
      const gown = gt.frames.filter(isOwn);
      if (variant.startsWith('O2')) {
        // The same frames (tail-call frames included), functions, lines and addresses; argument
        // values in registers of a blocked thread may be <unavailable> (PROC_SYSCALL_REGISTERS).
        const bare = (f: Frame) => stripLevel(f.line).replace(/ \(.*\) at /, ' () at ');
        expect(own.map(bare), `${name}: frames in stacks.c`).toEqual(gown.map(bare));
        continue;
      }
      expect(own.length, `${name}: frames in stacks.c`).toBe(gown.length);
      for (let i = 0; i < own.length; i++) {
        expect(stripLevel(own[i].line), `${name} frame`).toBe(stripLevel(noEntry(gown[i].line)));
        expect(own[i].locals, `${name} locals of ${fnName(own[i].line)}`).toEqual(gown[i].locals);
      }
      if (!variant.startsWith('O2')) {
        // -O0: every frame, libc's included, prints as gdb prints it (ENTRY_VALUES normalised),
        // except frame 0 itself (GDB_STOP_RESTARTS_SYSCALL): there only the function is compared.
        expect(ot.frames.length, `${name}: frame count`).toBe(gt.frames.length);
        expect(fnName(ot.frames[0].line)).toBe(fnName(gt.frames[0].line));
        for (let i = 1; i < ot.frames.length; i++) {
          expect(ot.frames[i].line, `${name} #${i}`).toBe(noEntry(gt.frames[i].line));
          expect(ot.frames[i].locals, `${name} #${i} locals`).toEqual(gt.frames[i].locals);
        }
      } else {
        // -O2: every frame names the same function as gdb's, in the same order.
        expect(ot.frames.map((f) => fnName(f.line))).toEqual(gt.frames.map((f) => fnName(f.line)));
      }
    }
    // Spinning: frame 0 is in the loop, the outer frames equal gdb's (addresses included).
    if (variant === 'stripped') return; // no function names to find the loop by
    const sp = a.get('spin')!;
    expect(['spin_inner', 'spin_outer']).toContain(fnName(sp.frames[0].line));
    const gsp = g.get('spin')!;
    const outer = (t: Thread) =>
      t.frames
        .slice(t.frames.findIndex((f) => fnName(f.line) === 'spin_thread'))
        .map((f) => stripLevel(f.line))
        .filter((l) => !/clone3/.test(l));
    expect(outer(sp)).toEqual(outer(gsp));
  }, 180_000);
});

describe('eval --tid T --frame K equals gdb print in that frame', () => {
  it('locals and arguments shadow globals; expressions over them', async () => {
    const fx = await startFixture('stacks', { variant: 'O0-dwarf5-pie' });
    fixtures.push(fx);
    const { readFileSync } = await import('node:fs');
    const { readdirSync } = await import('node:fs');
    const tids = readdirSync(`/proc/${fx.pid}/task`)
      .map(Number)
      .sort((x, y) => x - y);
    const nested = tids.find((t) => readFileSync(`/proc/${fx.pid}/task/${t}/comm`, 'utf8').trim() === 'nested')!;
    const gdbThread = tids.indexOf(nested) + 1;
    const cases: Array<[number, string[]]> = [
      [3, ['label', 'p', 'p.x + p.y', 'scale * 4', 'corner', 'msg[1]', 'flags', 'big / 1000', 'ok', '&counter == &counter', 'g_progress > 0']],
      [4, ['depth', 'rec->where', '*rec', 'word', 's', 'num', 'values[2]', 'values']],
      [5, ['first', 'second.name', 'cursor->next->weight', 'total', 'seed']],
    ];
    // pidscope in process (one snapshot, as `eval --tid --frame` takes), then one gdb attach for all frames.
    const program = await Program.open(fx.pid);
    const ours: string[] = [];
    try {
      const t = takeStacks(program, { tids: [nested] }).threads[0];
      for (const [frame, exprs] of cases) for (const e of exprs) ours.push(printInFrame(t.frames[frame], e));
    } finally {
      program.close();
    }
    const { gdbBatch } = await import('../support/gdb');
    const reqs: GdbRequest[] = [{ kind: 'command', command: `thread ${gdbThread}` }];
    for (const [frame, exprs] of cases) {
      reqs.push({ kind: 'command', command: `frame ${frame}` });
      for (const expr of exprs) reqs.push({ kind: 'print', expr });
    }
    const res = await gdbBatch(fx.pid, reqs);
    const want = res.filter((_, i) => reqs[i].kind === 'print').map((r) => (r.ok ? r.text : r.error));
    expect(ours).toEqual(want);
    // The CLI spelling of the same: `pidscope eval --tid T --frame K`.
    const cli = await pidscope(['eval', '--pid', String(fx.pid), '--tid', String(nested), '--frame', '5', 'first', 'seed']);
    expect(cli.stdout.trimEnd().split('\n')).toEqual(want.slice(-5, -4).concat(want.slice(-1)));
    expect(tracerPid(fx.pid)).toBe(0);
  }, 120_000);
});
