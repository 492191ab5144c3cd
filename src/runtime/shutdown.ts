import { checkDuration } from "../core/_duration.ts";
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
 * Python runs this when the main module finishes, and so, nearly, does
 * troupe without it: non-daemon children keep the program running until they
 * end, while daemon children, pool workers and a supervisor's children keep
 * it running only while the main module awaits something (a `join()`, a
 * pool's task, a queue) and end with it. Two differences remain, which
 * `shutdown()` settles: the daemons are ended after the non-daemon children,
 * not before, and a daemon in a sandboxed worker (a web Worker, which Deno
 * cannot unref) keeps the program running until it finishes. `Deno.exit()`
 * ends every child at once. In a child, troupe runs this by itself after the
 * target returns, as Python does.
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
  for (const orphan of orphans) await waitFor(orphan.host.exited, left(), signal);
}
