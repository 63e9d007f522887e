/**
 * `pidscope globals --pid N [FILTER]`: every variable with static storage (globals, file statics,
 * function statics) of a running process, grouped by module and compile unit, each with its
 * type and its value as gdb prints it. Never stops the target.
 */
import { parseArgs } from 'node:util';
import { isPidscopeError, PidscopeError } from '../errors';
import type { Program } from '../engine/program';
import type { CliCommand } from '../main';
import { exitOnEpipe, openProgram, TARGET_OPTIONS, targetArgs, withUsage } from './options';
import type { VariableSymbol } from '../symbols/provider';

const usage = `Usage: pidscope globals --pid N [FILTER] [--all] [--json] [--backend B] [--debug-dir DIR]

Lists the variables with static storage of process N (globals, file statics, function statics)
by module and compile unit, each as \`TYPE NAME = VALUE\` with the value printed as gdb's
\`print\` would, without stopping the process.

  FILTER           only variables whose name contains FILTER
  --all            every module (shared libraries too); default: the main program only
  --json           [{"module","units":[{"name","variables":[{"name","expression","scope","type","address","text"|"error"}]}]}]
                   (expression is null for a static of an always-inlined function: nothing names it)
  --backend B      auto (default), pidfd-mem, vm-readv or proc-mem
  --debug-dir DIR  also look for separate debug files here (repeatable)

Without debug info (stripped programs) the type is unknown: the value is shown as raw bytes
of the ELF symbol's size.

Exit status: 0 on success (values that cannot be read are shown inline), 1 for errors, 2 for usage.
`;

/** The expression that names `v` unambiguously, as gdb spells it. */
export function expressionFor(v: VariableSymbol, ambiguous: boolean, hasFunction: (name: string) => boolean = () => true): string | null {
  // A static of a function that was always inlined has storage, but neither gdb nor eval has a
  // name for it (no function symbol to scope it): listed, without an expression.
  if (v.scope === 'function-static' && v.function) return hasFunction(v.function) ? `${v.function}::${v.name}` : null;
  if (ambiguous && v.compileUnit) return `'${v.compileUnit.slice(v.compileUnit.lastIndexOf('/') + 1)}'::${v.name}`;
  // C++ names with parentheses (`(anonymous namespace)::x`) are written quoted, as gdb wants them.
  return v.name.includes('(') ? `'${v.name}'` : v.name;
}

function rawBytes(program: Program, v: VariableSymbol): string {
  if (v.address === undefined) return `<${v.absentReason ?? 'no address'}>`;
  const size = Math.min(v.size ?? 0, 64);
  if (size === 0) return '<no debug info, size unknown>';
  const r = program.memory.read(v.address, size);
  if (r.unreadable.length) return `<error: Cannot access memory at address 0x${r.unreadable[0].start.toString(16)}>`;
  const hex = [...r.data].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `<no debug info, ${v.size} bytes: ${hex}${(v.size ?? 0) > size ? ' …' : ''}>`;
}

async function run(argv: string[]): Promise<number> {
  const args = withUsage({ name: 'globals', usage }, () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...TARGET_OPTIONS, json: { type: 'boolean' }, all: { type: 'boolean' }, 'debug-dir': { type: 'string', multiple: true } },
    });
    if (positionals.length > 1) throw new PidscopeError('USAGE', `unexpected argument '${positionals[1]}'`, 'Give at most one FILTER', 'user');
    return { values, positionals, ...targetArgs(values) };
  });
  if (typeof args === 'number') return args;
  const { values, positionals, pid, backend } = args;
  exitOnEpipe();
  const program = await openProgram(pid, backend, { debugDirs: values['debug-dir'] });
  try {
    const filter = positionals[0];
    const tree = program.globalsTree(filter, { firstModuleOnly: !values.all });
    const out: unknown[] = [];
    for (const mod of tree) {
      const all = mod.units.flatMap((u) => u.variables);
      const counts = new Map<string, number>();
      for (const v of all) if (v.scope !== 'function-static') counts.set(v.name, (counts.get(v.name) ?? 0) + 1);
      if (!values.json) process.stdout.write(`${mod.module}\n`);
      const units: unknown[] = [];
      for (const unit of mod.units) {
        if (!values.json) process.stdout.write(`  ${unit.name || '(no compile unit: ELF symbols only)'}\n`);
        const vars: unknown[] = [];
        const sortedVars = [...unit.variables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const v of sortedVars) {
          const expr = expressionFor(v, (counts.get(v.name) ?? 0) > 1, (fn) => program.symbols.findFunctions(fn).length > 0);
          const shown = v.scope === 'function-static' && v.function ? `${v.function}::${v.name}` : v.name;
          const decl = v.type ? program.language.typeName(v.type, shown) : shown;
          let text: string | undefined;
          let error: string | undefined;
          if (!v.type) text = rawBytes(program, v);
          else {
            try {
              text = program.formatValue(program.objectFor(v));
            } catch (e) {
              if (!isPidscopeError(e) || e.blame === 'internal') throw e;
              error = e.causeText;
            }
          }
          if (values.json) {
            vars.push({
              name: v.name,
              expression: expr,
              scope: v.scope,
              ...(v.function ? { function: v.function } : {}),
              type: v.type ? program.language.typeName(v.type) : null,
              address: v.address !== undefined ? `0x${v.address.toString(16)}` : null,
              ...(text !== undefined ? { text } : { error }),
            });
          } else {
            const note = expr === null ? `  (no expression names it: ${v.function} is always inlined)` : '';
            process.stdout.write(`    ${decl} = ${text ?? `<error: ${error}>`}${note}\n`);
          }
        }
        units.push({ name: unit.name, variables: vars });
      }
      out.push({ module: mod.module, units });
    }
    if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    program.close();
  }
  return 0;
}

export const command: CliCommand = {
  name: 'globals',
  summary: 'list the globals and statics of a running process with their values',
  usage,
  run,
};
