/**
 * Managers: a process that holds objects (dicts, lists, namespaces, values,
 * queues, locks, your own types) for processes anywhere to use through
 * proxies, over an authenticated socket: Python's `multiprocessing.Manager`.
 *
 * ```ts
 * import { Manager } from "@troupe/troupe/manager";
 *
 * await using manager = await new Manager().start();
 * const d = await manager.dict<string, number>();
 * await d.set("a", 1);
 * console.log(await d.get("a")); // 1
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
// Keeps the child bootstraps in the module graph (see _bootstraps.ts).
import "../runtime/_bootstraps.ts";

export { AuthenticationError } from "../core/errors.ts";
export {
  type ConnectOptions,
  Manager,
  type ManagerAddress,
  type ManagerOptions,
  type RegisterOptions,
} from "./manager.ts";
export {
  ArrayProxy,
  BaseProxy,
  type CallOptions,
  type DictKey,
  DictProxy,
  ListProxy,
  NamespaceProxy,
  ValueProxy,
} from "./proxy.ts";
export {
  BarrierProxy,
  ConditionProxy,
  EventProxy,
  LockProxy,
  RLockProxy,
  SemaphoreProxy,
} from "./sync_proxy.ts";
