/**
 * `ps()`: a snapshot of every live troupe process, wherever it was started,
 * as a process table (seed 004's psutil section, for troupe's own processes).
 * `processInfo()` describes any OS process; this describes troupe's.
 *
 * @module
 */

import type { Backend } from "./process.ts";
import { runtime } from "./_runtime.ts";
import { checkDuration } from "./_duration.ts";

/**
 * One live troupe process, as {@linkcode ps} found it.
 *
 * @example
 * ```ts
 * import { Process, ps, type ProcessStatus } from "@troupe/troupe";
 *
 * const p = new Process();
 * await p.start();
 * const rows: ProcessStatus[] = await ps();
 * console.log(rows.map((row) => `${row.name} ${row.backend} ${row.status}`));
 * await p.join();
 * ```
 */
export interface ProcessStatus {
  /** Its name ("Process-1", "PoolWorker-3", "Supervisor-1:cache"). */
  readonly name: string;
  /** Its OS process id: its own for a subprocess, the main process's for a worker. */
  readonly pid: number;
  /** The name of the process that started it ("MainProcess" for the main module). */
  readonly parent: string;
  /** Where it runs: an isolate of the main OS process, or an OS process of its own. */
  readonly backend: Backend;
  /**
   * "starting" until its target runs; "running" when it answered the probe;
   * "busy" when it did not in time: synchronous work holds its event loop.
   */
  readonly status: "starting" | "running" | "busy";
  /** Milliseconds since it was started. */
  readonly uptimeMs: number;
  /**
   * How many processes a pool or supervisor replaced with this one (0 for the
   * first of its place); null if its creator did not answer (it is busy).
   */
  readonly restarts: number | null;
  /** Messages waiting in its mailbox; null if its creator did not answer. */
  readonly mailbox: number | null;
  /** Tasks it finished, for a pool worker; null for any other process, or if its creator is busy. */
  readonly tasksDone: number | null;
  /** A subprocess's resident memory in bytes (null for a worker, which shares its OS process's). */
  readonly rss: number | null;
  /** A worker's V8 heap in use, in bytes (null for a subprocess, or a worker that is busy). */
  readonly heapUsed: number | null;
  /**
   * CPU time in seconds, where the OS gives it (Linux, with read permission
   * for `/proc`): a subprocess's, or a worker's thread's.
   */
  readonly cpuTime: { readonly user: number; readonly system: number } | null;
}

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
