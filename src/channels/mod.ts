/**
 * Queues and pipes between processes: Python's `Queue`, `SimpleQueue`,
 * `JoinableQueue` and `Pipe()`, bounded or not, each with timeouts and
 * AbortSignals, over shared memory rings.
 *
 * ```ts
 * import { Queue } from "@troupe/troupe/queue";
 *
 * const q = new Queue<number>();
 * await q.put(1);
 * console.log(await q.get()); // 1
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
export { BrokenPipeError, Connection, EOFError, Pipe, type RecvOptions } from "./pipe.ts";
export {
  JoinableQueue,
  type JoinOptions,
  Queue,
  QueueClosedError,
  QueueEmptyError,
  QueueFullError,
  type QueueWaitOptions,
  SimpleQueue,
} from "./queue.ts";
