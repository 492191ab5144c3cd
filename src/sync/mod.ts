/**
 * Synchronization and shared memory between processes of one OS process:
 * Python's `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`, `Event`,
 * `Condition`, `Barrier`, `Value` and `Array`, in `SharedArrayBuffer`s,
 * waited on without blocking the event loop.
 *
 * ```ts
 * import { Lock } from "@troupe/troupe/sync";
 *
 * const lock = new Lock();
 * {
 *   using _held = await lock.hold();
 *   console.log("held"); // held
 * }
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
export { Barrier, type BarrierOptions, BrokenBarrierError } from "./barrier.ts";
export { Condition } from "./condition.ts";
export { Event } from "./event.ts";
export { type AcquireOptions, Lock, RLock, type WaitOptions } from "./lock.ts";
export { BoundedSemaphore, Semaphore } from "./semaphore.ts";
export {
  type ElementOf,
  RawArray,
  RawValue,
  SharedArray,
  type SharedOptions,
  type StorageOf,
  SynchronizedBase,
  type Typecode,
  type TypecodeStorage,
  Value,
} from "./shared_memory.ts";
