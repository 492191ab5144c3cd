/**
 * troupe brings Python's `multiprocessing` to Deno: processes you start,
 * join and terminate with Python's semantics. A process is an isolate (a
 * Deno worker, the default) or, with `backend: "subprocess"`, an OS process
 * of its own in a permission sandbox; the main isolate hosts them all, and
 * {@linkcode shutdown} ends a program the way Python's exit does. Test code
 * that starts processes with `withLeakCheck` from `@troupe/troupe/testing`.
 *
 * ```ts
 * import { Process, currentProcess } from "@troupe/troupe";
 *
 * export function task(name: string) {
 *   console.log(`${name} is running in ${currentProcess().name}`);
 * }
 *
 * if (import.meta.main) {
 *   const p = new Process({ target: task, args: ["we"] });
 *   await p.start();
 *   await p.join();
 *   console.log(p.exitCode); // 0
 * }
 * ```
 *
 * @module
 */

export {
  ActorExitedError,
  ActorRef,
  type AskOptions,
  type Behaviour,
  serve,
  type ServeOptions,
} from "./src/runtime/actor.ts";
export { Barrier, type BarrierOptions, BrokenBarrierError } from "./src/sync/barrier.ts";
export { Condition } from "./src/sync/condition.ts";
export { AuthenticationError, ProcessError, ProcessTimeoutError } from "./src/core/errors.ts";
export { Event } from "./src/sync/event.ts";
export { type AcquireOptions, Lock, RLock, type WaitOptions } from "./src/sync/lock.ts";
export {
  type ConnectOptions,
  Manager,
  type ManagerAddress,
  type ManagerOptions,
  type RegisterOptions,
} from "./src/manager/manager.ts";
export { BrokenPipeError, Connection, EOFError, Pipe, type RecvOptions } from "./src/channels/pipe.ts";
export {
  JoinableQueue,
  type JoinOptions,
  Queue,
  QueueClosedError,
  QueueEmptyError,
  QueueFullError,
  type QueueWaitOptions,
  SimpleQueue,
} from "./src/channels/queue.ts";
export {
  type ApplyAsyncOptions,
  AsyncResult,
  type MapAsyncOptions,
  type MapOptions,
  Pool,
  PoolClosedError,
  type PoolOptions,
  type PoolState,
  type PoolStats,
  type ResultWaitOptions,
  type RunOptions,
  WorkerCrashedError,
  type WorkerStats,
} from "./src/pool/pool.ts";
export {
  activeChildren,
  type Backend,
  cpuCount,
  currentProcess,
  parentProcess,
  Process,
  type ProcessOptions,
  type ProcessPermissions,
} from "./src/runtime/process.ts";
export {
  ArrayProxy,
  BaseProxy,
  type CallOptions,
  type DictKey,
  DictProxy,
  ListProxy,
  NamespaceProxy,
  ValueProxy,
} from "./src/manager/proxy.ts";
export { BoundedSemaphore, Semaphore } from "./src/sync/semaphore.ts";
export {
  BarrierProxy,
  ConditionProxy,
  EventProxy,
  LockProxy,
  RLockProxy,
  SemaphoreProxy,
} from "./src/manager/sync_proxy.ts";
export {
  type ElementOf,
  RawArray,
  RawValue,
  SharedArray,
  type SharedOptions,
  type StorageOf,
  type Typecode,
  type TypecodeStorage,
  Value,
} from "./src/sync/shared_memory.ts";
export {
  AccessDeniedError,
  NoSuchProcessError,
  type OsProcessInfo,
  pids,
  processInfo,
} from "./src/runtime/process_info.ts";
export { type ProcessStatus, ps, type PsOptions } from "./src/runtime/ps.ts";
export { shutdown, type ShutdownOptions } from "./src/runtime/shutdown.ts";
export {
  type ChildInfo,
  type ChildSpec,
  MAILBOX_SIZE,
  Supervisor,
  SupervisorError,
  type SupervisorEventDetail,
  type SupervisorOptions,
} from "./src/supervision/supervisor.ts";
