/**
 * Test helpers for code that starts processes. Deno's test sanitizers do not
 * see workers, so a test that forgets to join or terminate a child passes
 * and leaves it running; {@linkcode withLeakCheck} fails that test instead.
 *
 * ```ts
 * import { Process } from "@troupe/troupe";
 * import { withLeakCheck } from "@troupe/troupe/testing";
 *
 * Deno.test("a child is joined", withLeakCheck(async () => {
 *   const p = new Process();
 *   await p.start();
 *   await p.join();
 * }));
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "./core/_deno_only.ts";
import { runtime } from "./runtime/_runtime.ts";
import { ProcessError } from "./core/errors.ts";

/**
 * A live process, as {@linkcode liveProcesses} lists it.
 *
 * @example Naming what is still running
 * ```ts
 * import { type LiveProcess, liveProcesses } from "@troupe/troupe/testing";
 *
 * const running: LiveProcess[] = liveProcesses();
 * console.log(running.map((p) => `${p.name} (started by ${p.owner})`));
 * ```
 */
export interface LiveProcess {
  /** The process name. */
  readonly name: string;
  /** The root-wide id of the process. */
  readonly id: number;
  /** Whether it is a daemon. */
  readonly daemon: boolean;
  /** The id of the process that created it: 0 for the main module. */
  readonly owner: number;
}

/**
 * Every process this program is running, whoever started it: children,
 * their children, and orphans. Only the main module sees them all; in a
 * child this is empty.
 *
 * @returns The live processes, oldest first.
 *
 * @example Nothing is running
 * ```ts
 * import { liveProcesses } from "@troupe/troupe/testing";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(liveProcesses(), []);
 * ```
 */
export function liveProcesses(): LiveProcess[] {
  return (runtime.hosting?.live() ?? []).map(({ name, id, daemon, owner }) => ({ name, id, daemon, owner }));
}

/**
 * Thrown by {@linkcode withLeakCheck} when a test left processes running.
 *
 * @example Reading what leaked
 * ```ts
 * import { ProcessLeakError } from "@troupe/troupe/testing";
 * import assert from "node:assert/strict";
 *
 * const error = new ProcessLeakError([{ name: "Process-7", id: 7, daemon: false, owner: 0 }]);
 * assert.match(error.message, /Process-7/);
 * assert.equal(error.leaked.length, 1);
 * ```
 */
export class ProcessLeakError extends ProcessError {
  /** The processes that were still running; they have been killed since. */
  readonly leaked: readonly LiveProcess[];

  /**
   * Creates the error for the given leaked processes.
   *
   * @param leaked The processes the test left running.
   */
  constructor(leaked: readonly LiveProcess[]) {
    super(
      `Cannot pass a test that leaves ${leaked.length} process(es) running: ` +
        `${leaked.map((p) => p.name).join(", ")}. join() or terminate() every process it starts`,
    );
    this.name = "ProcessLeakError";
    this.leaked = leaked;
  }
}

/**
 * Wraps a test function so the test fails if it leaves any process running
 * that it started (directly or through its children). The leaked processes
 * are killed before the test fails, so one leak does not spoil the next test.
 *
 * @typeParam Args The test function's parameters (such as `Deno.TestContext`).
 * @param fn The test body.
 * @returns The test body, checked for leaks.
 *
 * @example Failing a test that leaks
 * ```ts
 * import { Process } from "@troupe/troupe";
 * import { ProcessLeakError, withLeakCheck } from "@troupe/troupe/testing";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export function forever() { return new Promise(() => setInterval(() => {}, 1000)); }";
 * const { forever } = await import(module);
 *
 * const leaky = withLeakCheck(async () => {
 *   await new Process({ target: forever, module }).start();
 * });
 * await assert.rejects(leaky(), ProcessLeakError);
 * ```
 */
export function withLeakCheck<Args extends unknown[]>(
  fn: (...args: Args) => void | Promise<void>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    const before = new Set(liveProcesses().map((p) => p.id));
    let failed = false;
    let failure: unknown;
    try {
      await fn(...args);
    } catch (error) {
      failed = true;
      failure = error;
    }
    const leaked = (runtime.hosting?.live() ?? []).filter((p) => !before.has(p.id));
    for (const p of leaked) p.host.stop("kill");
    await Promise.all(leaked.map((p) => p.host.exited));
    if (failed) throw failure;
    if (leaked.length > 0) {
      throw new ProcessLeakError(leaked.map(({ name, id, daemon, owner }) => ({ name, id, daemon, owner })));
    }
  };
}
