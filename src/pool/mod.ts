/**
 * A pool of worker processes: Python's `multiprocessing.Pool`, with
 * `apply`, `map`, `imap` and their async forms, retries, per-task timeouts,
 * and a crashed worker replaced without losing a task.
 *
 * ```ts
 * import { Pool } from "@troupe/troupe/pool";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using pool = new Pool({ processes: 2 });
 *   console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * }
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
// Keeps the child bootstraps in the module graph (see _bootstraps.ts).
import "../runtime/_bootstraps.ts";

export {
  type ApplyAsyncOptions,
  AsyncResult,
  type ImapOptions,
  type MapAsyncOptions,
  type MapOptions,
  Pool,
  PoolClosedError,
  type PoolOptions,
  type PoolState,
  type PoolStats,
  type ResultWaitOptions,
  type RunOptions,
  type WorkCounts,
  WorkerCrashedError,
  type WorkerStats,
} from "./pool.ts";
