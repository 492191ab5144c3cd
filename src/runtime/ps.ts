/**
 * `ps()`: a snapshot of every live troupe process, wherever it was started,
 * as a process table (seed 004's psutil section, for troupe's own processes).
 * `processInfo()` describes any OS process; this describes troupe's.
 *
 * @module
 */

import type { ProcessStatus } from "./_protocol.ts";
import { runtime } from "./_runtime.ts";
import { checkDuration } from "../core/_duration.ts";

export type { ProcessStatus } from "./_protocol.ts";

/** Options for {@linkcode ps}. */
export interface PsOptions {
  /**
   * How long each process has to answer with its heap and mailbox before it
   * is reported "busy" (`Infinity`: as long as it lives). @default {200}
   */
  timeoutMs?: number;
  /** Rejects the snapshot with the signal's reason on abort. */
  signal?: AbortSignal;
}

/**
 * A snapshot of every live troupe process: every child, grandchild, pool
 * worker and supervised child, whoever started it, oldest first. The main
 * process itself is not listed (`processInfo()` describes it). Works in any
 * process: a child asks the main process, which knows them all.
 *
 * A worker whose synchronous work holds its event loop cannot answer in
 * time: it is reported "busy", without its heap, but with its CPU time.
 *
 * @param options How long each process may take to answer, and a signal.
 * @returns One row per live process.
 * @throws {TypeError} When `timeoutMs` is not a number (NaN included).
 * @throws {RangeError} When `timeoutMs` is negative.
 *
 * @example
 * ```ts
 * import { Pool, ps } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export function square(x) { return x * x; }";
 * const { square } = await import(module);
 * await using pool = new Pool({ processes: 2, module });
 * await pool.map(square, [1, 2, 3]);
 * const workers = (await ps()).filter((row) => row.name.startsWith("PoolWorker"));
 * assert.equal(workers.length, 2);
 * console.table(workers);
 * ```
 */
export function ps(options: PsOptions = {}): Promise<ProcessStatus[]> {
  const { timeoutMs = 200, signal } = options;
  checkDuration(timeoutMs, "take a process snapshot", "timeoutMs");
  if (!(timeoutMs >= 0)) {
    throw new RangeError(
      `Cannot take a process snapshot as timeoutMs must be a number >= 0: current value is ${
        String(timeoutMs)
      }`,
    );
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const rows = runtime.ps(timeoutMs).then((rows) => [...rows]);
  if (!signal) return rows;
  const { promise, resolve, reject } = Promise.withResolvers<ProcessStatus[]>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  rows.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  return promise;
}
