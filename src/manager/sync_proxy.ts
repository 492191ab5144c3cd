/**
 * Proxies on a manager's locks, semaphores, event, condition and barrier:
 * the same methods and results as the shared-memory primitives, usable
 * from any process, subprocesses included. Each call is a round trip to
 * the manager; a wait's timeout runs there, and a signal that aborts a
 * wait cancels it there, so nothing is taken for a caller that has gone.
 *
 * @module
 */

import { BrokenBarrierError } from "../sync/barrier.ts";
import { checkedDeadline } from "../core/_futex.ts";
import { notHeld } from "../sync/_semlock.ts";
import { ProcessError } from "../core/errors.ts";
import type { AcquireOptions, WaitOptions } from "../sync/lock.ts";
import { BaseProxy, setProxyClass } from "./proxy.ts";

/** This process, as the manager tells its callers apart (who holds a lock). */
const CALLER = crypto.randomUUID();

/** Errors whose class the manager's answers can only name: the ones these proxies throw, rebuilt. */
const REBUILT: Record<string, (message: string) => Error> = {
  BrokenBarrierError: (message) => new BrokenBarrierError(message),
  ProcessError: (message) => new ProcessError(message),
};

function rebuilt(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const rebuild = REBUILT[error.name];
  if (!rebuild || error.constructor !== Error) return error;
  const again = rebuild(error.message);
  again.stack = error.stack ?? "";
  return again;
}

/** Calls `method` without waiting: rejects with the manager's error, rebuilt. */
async function quick<T>(proxy: BaseProxy, method: string, args: readonly unknown[] = []): Promise<T> {
  try {
    return await proxy.call<T>(method, [CALLER, ...args]);
  } catch (error) {
    throw rebuilt(error);
  }
}

/**
 * Calls a waiting `method` with Python's block and timeout; an abort of
 * `signal` cancels the wait in the manager and rejects with its reason.
 * `undo` gives back what a wait got after all, if the grant raced the abort.
 */
async function waiting<T>(
  proxy: BaseProxy,
  method: string,
  options: AcquireOptions,
  undo?: (got: T) => Promise<void>,
  name = "timeout",
): Promise<T> {
  checkedDeadline(method, options, name).signal?.throwIfAborted();
  const { block = true, timeout, signal } = options;
  const wait = crypto.randomUUID();
  const onAbort = () => proxy.call("cancel", [wait]).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  let got: T;
  try {
    got = await proxy.call<T>(method, [CALLER, { block, timeout: timeout ?? null, wait }]);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw rebuilt(error);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted) {
    await undo?.(got);
    throw signal.reason;
  }
  return got;
}

/** A guard that releases once, for `hold()`. */
async function holding(
  acquired: Promise<boolean>,
  release: () => Promise<void>,
  what: string,
  options: AcquireOptions,
): Promise<AsyncDisposable> {
  if (!(await acquired)) throw notHeld(what, options);
  let held = true;
  return {
    async [Symbol.asyncDispose]() {
      if (!held) return;
      held = false;
      await release();
    },
  };
}

/**
 * A proxy on a manager's `Lock` (Python's `manager.Lock()`): held by one
 * process at a time, releasable by any. `hold()` gives an async guard:
 * `await using _ = await lock.hold()`.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const lock = await manager.lock();
 * assert.equal(await lock.acquire(), true);
 * assert.equal(await lock.acquire({ timeout: 10 }), false);
 * await lock.release();
 * ```
 */
export class LockProxy extends BaseProxy {
  /** Acquires the lock: true once held, false when `block` is false or the timeout passed first. */
  acquire(options: AcquireOptions = {}): Promise<boolean> {
    return waiting(this, "acquire", options, (got) => got ? this.release() : Promise.resolve());
  }

  /** Releases the lock; rejects with a RangeError when it is not locked (a ProcessError for an RLock not held). */
  release(): Promise<void> {
    return quick(this, "release");
  }

  /** Acquires it and gives an async guard that releases it; rejects with ProcessTimeoutError on timeout. */
  hold(options: AcquireOptions = {}): Promise<AsyncDisposable> {
    return holding(this.acquire(options), () => this.release(), this.typeid, options);
  }

  /** Whether anyone holds it. */
  locked(): Promise<boolean> {
    return quick(this, "locked");
  }
}

/**
 * A proxy on a manager's `RLock`: the process that holds it may acquire it
 * again, and only it may release it.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const lock = await manager.rlock();
 * assert.equal(await lock.acquire(), true);
 * assert.equal(await lock.acquire(), true);
 * await lock.release();
 * await lock.release();
 * ```
 */
export class RLockProxy extends LockProxy {}

/**
 * A proxy on a manager's `Semaphore` or `BoundedSemaphore`.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const sem = await manager.semaphore(2);
 * await sem.acquire();
 * assert.equal(await sem.getValue(), 1);
 * await sem.release();
 * ```
 */
export class SemaphoreProxy extends BaseProxy {
  /** Takes one unit: true, or false when `block` is false or the timeout passed first. */
  acquire(options: AcquireOptions = {}): Promise<boolean> {
    return waiting(this, "acquire", options, (got) => got ? this.release() : Promise.resolve());
  }

  /** Gives one unit back; a BoundedSemaphore rejects with a RangeError above its initial value. */
  async release(): Promise<void> {
    try {
      await this.call("release");
    } catch (error) {
      throw rebuilt(error);
    }
  }

  /** Takes one unit and gives an async guard that gives it back. */
  hold(options: AcquireOptions = {}): Promise<AsyncDisposable> {
    return holding(this.acquire(options), () => this.release(), this.typeid, options);
  }

  /** The current count. */
  getValue(): Promise<number> {
    return this.call("getValue");
  }
}

/**
 * A proxy on a manager's `Event`.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const event = await manager.event();
 * await event.set();
 * assert.equal(await event.wait(0), true);
 * ```
 */
export class EventProxy extends BaseProxy {
  /** Sets the flag and wakes every waiter. */
  set(): Promise<void> {
    return this.call("set");
  }

  /** Clears the flag. */
  clear(): Promise<void> {
    return this.call("clear");
  }

  /** Whether the flag is set. */
  isSet(): Promise<boolean> {
    return this.call("isSet");
  }

  /** Waits until the flag is set: true, or false when `timeoutMs` passed first. */
  wait(timeoutMs?: number, options: WaitOptions = {}): Promise<boolean> {
    return waiting(this, "wait", { ...timed(timeoutMs), ...options }, undefined, "timeoutMs");
  }
}

/**
 * A proxy on a manager's `Condition`, over one of the manager's locks (a
 * new RLock by default). `waitFor` checks its predicate here, in the caller.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const cond = await manager.condition();
 * await cond.acquire();
 * assert.equal(await cond.wait(10), false);
 * await cond.release();
 * ```
 */
export class ConditionProxy extends BaseProxy {
  /** Acquires the underlying lock. */
  acquire(options: AcquireOptions = {}): Promise<boolean> {
    return waiting(this, "acquire", options, (got) => got ? this.release() : Promise.resolve());
  }

  /** Releases the underlying lock. */
  release(): Promise<void> {
    return quick(this, "release");
  }

  /** Acquires the lock and gives an async guard that releases it. */
  hold(options: AcquireOptions = {}): Promise<AsyncDisposable> {
    return holding(this.acquire(options), () => this.release(), "Condition", options);
  }

  /** Releases the lock, sleeps until notified, takes the lock back: true if notified, false on timeout. */
  wait(timeoutMs?: number, options: WaitOptions = {}): Promise<boolean> {
    return waiting(this, "wait", { ...timed(timeoutMs), ...options }, undefined, "timeoutMs");
  }

  /** Waits until `predicate` is truthy, checked here after each wake-up; its last value. */
  async waitFor<T>(
    predicate: () => T | Promise<T>,
    timeoutMs?: number,
    options: WaitOptions = {},
  ): Promise<T> {
    checkedDeadline("waitFor", { timeout: timeoutMs }, "timeoutMs");
    const until = timeoutMs === undefined ? Infinity : performance.now() + Math.max(0, timeoutMs);
    let result = await predicate();
    while (!result) {
      const left = until - performance.now();
      if (left <= 0) break;
      await this.wait(left === Infinity ? undefined : left, options);
      result = await predicate();
    }
    return result;
  }

  /** Wakes at most `n` of the processes waiting now; rejects with a RangeError for a bad `n`. */
  notify(n = 1): Promise<void> {
    if (typeof n !== "number" || !(n >= 0)) {
      return Promise.reject(
        new RangeError(`Cannot notify as n must be a number >= 0: current value is ${String(n)}`),
      );
    }
    return quick(this, "notify", [n]);
  }

  /** Wakes every process waiting now. */
  notifyAll(): Promise<void> {
    return quick(this, "notifyAll");
  }
}

/**
 * A proxy on a manager's `Barrier` (no action: it would run in the
 * manager). A timeout, an abort or a reset breaks it for every party.
 *
 * @example
 * ```ts
 * import { Manager } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using manager = await new Manager().start();
 * const barrier = await manager.barrier(2);
 * const indexes = await Promise.all([barrier.wait(), barrier.wait()]);
 * assert.deepEqual(indexes.toSorted(), [0, 1]);
 * ```
 */
export class BarrierProxy extends BaseProxy {
  /** Waits for every party; this party's arrival index. */
  wait(timeoutMs?: number, options: WaitOptions = {}): Promise<number> {
    return waiting(this, "wait", { ...timed(timeoutMs), ...options }, undefined, "timeoutMs");
  }

  /** Breaks the barrier for every party. */
  abort(): Promise<void> {
    return this.call("abort");
  }

  /** Returns the barrier to its empty state; parties waiting get BrokenBarrierError. */
  reset(): Promise<void> {
    return this.call("reset");
  }

  /** How many parties wait in this cycle. */
  nWaiting(): Promise<number> {
    return this.call("nWaiting");
  }

  /** Whether the barrier is broken. */
  broken(): Promise<boolean> {
    return this.call("broken");
  }
}

/** A wait's timeout as options: none or `Infinity` waits as long as it takes. */
function timed(timeoutMs: number | undefined): AcquireOptions {
  return timeoutMs === undefined ? {} : { timeout: timeoutMs };
}

setProxyClass("Lock", LockProxy);
setProxyClass("RLock", RLockProxy);
setProxyClass("Semaphore", SemaphoreProxy);
setProxyClass("BoundedSemaphore", SemaphoreProxy);
setProxyClass("Event", EventProxy);
setProxyClass("Condition", ConditionProxy);
setProxyClass("Barrier", BarrierProxy);
