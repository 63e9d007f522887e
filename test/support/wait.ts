/**
 * Waiting in tests: poll until something observable has happened (a line printed, an event
 * sent, a pid gone). The timeout only bounds a failure, so that it names what never came; tests
 * assert what happened, never how long it took.
 */

/** What a probe returns while the thing has not happened yet. */
export type NotYet = undefined | null | false;

/**
 * Calls `probe` every `everyMs` until it returns something other than undefined, null or false,
 * and resolves to that. Throws `timed out after N ms waiting for <what>` when `timeoutMs` passes
 * first; an error thrown by the probe ends the wait at once.
 */
export async function until<T>(what: string, probe: () => T | NotYet | Promise<T | NotYet>, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
