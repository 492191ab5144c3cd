/**
 * A host runs one process somewhere (an isolate of this OS process, or an
 * OS process of its own) and owns the only authoritative report of how it
 * ended. `Process` never sees a
 * host directly: the root's hosting registry does.
 *
 * @module
 */

import type { ResolvedPermissions } from "./_permissions.ts";
import type { FromChild, Preamble, StopHow, ToChild } from "./_protocol.ts";

/** How to start a process, whatever hosts it. */
export interface HostOptions {
  readonly preamble: Preamble;
  /** The module of the target, imported by the entry module; null for none. */
  readonly module: string | null;
  /** Its sandbox; null: what the root holds, no sandbox of its own (see `BackendTraits.sandbox`). */
  readonly permissions: ResolvedPermissions | null;
  /** The V8 heap limit, where the backend has one of its own; null for V8's default. */
  readonly memoryLimitMb: number | null;
}

/** Starts a host: a backend's entry in `_hosting.ts`'s `HOSTS`. */
export type HostFactory = (
  name: string,
  onMessage: (message: FromChild) => void,
  options: HostOptions,
) => Host;

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
   * Whether the program, once its main module is done, waits for the process
   * to end (true, the default: Python joins a non-daemon child at exit), or
   * ends without it (false: a pool worker, a supervisor's child, a spare).
   * Either way it keeps the program running while this isolate awaits
   * something (see `_keep_alive.ts`). A sandboxed worker keeps it running
   * while it lives: Deno cannot unref a web Worker.
   */
  keepAlive(joined: boolean): void;
}
