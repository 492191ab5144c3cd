/**
 * The backends, in one table: what each one is, which the rest of troupe
 * asks instead of comparing names. A third backend is a host (a file like
 * `_host_worker.ts`), an entry here, and its launcher in `_hosting.ts`'s
 * `HOSTS` (typed by `Backend`, so none can be forgotten).
 *
 * @module
 */

import type { Backend } from "./_protocol.ts";

/** What a backend is. */
export interface BackendTraits {
  /**
   * Whether its processes run in the root's OS process: they share its
   * memory (a `SharedArrayBuffer` crosses to them as itself), report their
   * own exit (no OS tells), and hand the rings they send away to the root.
   */
  readonly sharesMemory: boolean;
  /**
   * How a sandbox is enforced. "flags": every process gets an explicit
   * permission set on its command line, always available. "worker-options":
   * Deno's worker-options feature must be on, and a process that may hold
   * what the root holds goes without one.
   */
  readonly sandbox: "flags" | "worker-options";
  /** Whether `memoryLimitMb` can be honoured: the process has a heap limit of its own. */
  readonly memoryLimit: boolean;
}

/** Every backend's traits. */
export const BACKENDS: { readonly [B in Backend]: BackendTraits } = {
  worker: { sharesMemory: true, sandbox: "worker-options", memoryLimit: false },
  subprocess: { sharesMemory: false, sandbox: "flags", memoryLimit: true },
};

/** The backends' names, for messages: `"worker" or "subprocess"`. */
export const BACKEND_NAMES: string = Object.keys(BACKENDS).map((name) => `"${name}"`).join(" or ");

/** Whether `value` names a backend. */
export function isBackend(value: unknown): value is Backend {
  return typeof value === "string" && Object.hasOwn(BACKENDS, value);
}
