// The adapter as DebugClient spawns it: `node <this file> [args]` with tsx preloaded
// (NODE_OPTIONS=--import tsx), i.e. `pidscope dap` run from the sources.
import { main } from '../../adapter/src/main';

void main(['dap', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
