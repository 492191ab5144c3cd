/**
 * A host runs one process somewhere (an isolate now, an OS process later) and
 * owns the only authoritative report of how it ended. `Process` never sees a
 * host directly: the root's hosting registry does.
 *
 * @module
 */

import type { StopHow, ToChild } from "./_protocol.ts";

/** One running process, as its host sees it. */
export interface Host {
  /** The OS process id the process runs in. */
  readonly pid: number;
  /**
   * Resolves once with the exit code, whatever ended the process: `0` or `n`
   * as the child reported, `1` for a crash, `-15`/`-9` after `stop()`.
   */
  readonly exited: Promise<number>;
  /** Posts a protocol message; throws synchronously if it cannot be cloned. A no-op after exit. */
  send(message: ToChild): void;
  /** Ends the process now (or asks it to finish, for "request"); a no-op after exit. */
  stop(how: StopHow): void;
  /**
   * Whether the process keeps the program running while it lives (true, the
   * default), or only while this isolate awaits something (false: a daemon,
   * a spare; see `_keep_alive.ts`). A sandboxed worker always keeps it
   * running: Deno has no way to say otherwise.
   */
  keepAlive(held: boolean): void;
}
