import { checkDuration } from "../core/_duration.ts";
import { holdWhile, joinAtExit } from "../core/_keep_alive.ts";
import { runtime } from "./_runtime.ts";
import { waitFor } from "../core/_wait.ts";

/**
 * Options for {@linkcode shutdown}.
 *
 * @example Waiting at most five seconds
 * ```ts
 * import { shutdown, type ShutdownOptions } from "@troupe/troupe";
 *
 * const options: ShutdownOptions = { timeoutMs: 5_000 };
 * await shutdown(options);
 * ```
 */
export interface ShutdownOptions {
  /**
   * How long to wait for non-daemon children, in milliseconds (`Infinity`:
   * as long as they run); those still running then are left running.
   *
   * @default {forever}
   */
  timeoutMs?: number;
  /** Aborts the wait, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Python's exit handler, run on demand: terminates this process's daemon
 * children and waits for the others.
 *
 * Python runs this when the main module is done, and so does troupe without
 * it: when the main module has nothing left to do but wait for children, its
 * daemon children are terminated (exit code `-15`), then the program waits
 * for the non-daemon ones and ends after them. Until then no child keeps the
 * program running unless the main module awaits something (a `join()`, a
 * pool's task, a queue). A pool's workers and a supervisor's children are
 * not terminated then: they end with the program. Two exceptions remain: a
 * child in a worker sandbox (`permissions` on the worker backend, a web
 * Worker Deno cannot let go) keeps the program running until it ends, and so
 * holds the daemons' termination back until then (call `shutdown()` for
 * Python's order); and `Deno.exit()` ends every child at once. In a child,
 * troupe runs this by itself after the target returns, as Python does.
 *
 * Call it to apply the rule at a point of your choosing, with a timeout, or
 * to see the exit codes before the program ends.
 *
 * In the main module it also handles orphans: processes whose parent was
 * terminated while they ran. Python leaves them running as OS processes of
 * their own; isolates cannot outlive the program, so the daemon ones are
 * terminated and the others waited for.
 *
 * @param options How long to wait for non-daemon children.
 * @returns A promise that resolves when the non-daemon children have ended
 * (or the timeout passed).
 *
 * @example Ending a program that started a daemon
 * ```ts
 * import { Process, shutdown } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export function forever() { return new Promise(() => setInterval(() => {}, 1000)); }";
 * const { forever } = await import(module);
 *
 * const daemon = new Process({ target: forever, module, daemon: true });
 * await daemon.start();
 * await shutdown();
 * assert.equal(daemon.exitCode, -15);
 * ```
 */
export async function shutdown(options: ShutdownOptions = {}): Promise<void> {
  const { timeoutMs, signal } = options;
  checkDuration(timeoutMs, "shut down", "timeoutMs");
  signal?.throwIfAborted();
  runtime.hosting?.releaseSpares();
  const children = [...runtime.children];
  const orphans = runtime.hosting?.orphans() ?? [];
  for (const child of children) if (child.daemon) child.stop("terminate");
  for (const orphan of orphans) if (orphan.daemon) orphan.host.stop("terminate");

  const deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
  const left = () => deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
  // join() polls when no time is left, so a timeout bounds the whole wait.
  for (const child of children) await child.join(left(), signal);
  for (const orphan of orphans) await holdWhile(waitFor(orphan.host.exited, left(), signal));
}

/**
 * Python's exit rule in the root, run when Deno finds nothing left to do but
 * children (`beforeunload`): terminates the daemon children (and daemon
 * orphans), then lets every non-daemon child hold the program until it ends
 * (`_keep_alive.ts`); the event fires again after them, and then the program
 * ends. A pool's workers and a supervisor's children end with it.
 */
function atExit(event: Event): void {
  if (runtime.role !== "root") return;
  runtime.hosting?.releaseSpares();
  for (const child of runtime.children) if (child.daemon && !child.detached) child.stop("terminate");
  for (const orphan of runtime.hosting?.orphans() ?? []) if (orphan.daemon) orphan.host.stop("terminate");
  // Deno ends the program after this event unless it is cancelled, even with a host referenced again.
  if (joinAtExit()) event.preventDefault();
}

globalThis.addEventListener("beforeunload", atExit);
