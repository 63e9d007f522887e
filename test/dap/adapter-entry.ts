// The adapter as DebugClient spawns it: `node <this file> [args]` with tsx preloaded
// (NODE_OPTIONS=--import tsx), i.e. `pidscope dap` run from the sources. DebugClient cannot pass
// arguments: PIDSCOPE_TEST_DAP_ARGS (a JSON list) adds some (e.g. --connect, --ssh).
import { main } from '../../adapter/src/main';

const extra = process.env.PIDSCOPE_TEST_DAP_ARGS ? (JSON.parse(process.env.PIDSCOPE_TEST_DAP_ARGS) as string[]) : [];
void main(['dap', ...process.argv.slice(2), ...extra]).then((code) => {
  process.exitCode = code;
});
