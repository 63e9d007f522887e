/**
 * `--no-index-cache`, which main.ts handles for every command. Its own module because main.ts
 * loads it at start: cli/options.ts would bring the engine, the memory backends and koffi with it
 * into every command (`--help` too), and the DAP adapter before its first attach.
 */
export { disableIndexCache } from '../symbols/indexCache/store';
