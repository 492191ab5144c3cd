/**
 * `Lock` and `RLock`: Python's `multiprocessing` locks, in shared memory, so
 * a worker-backend child given one in its `args` excludes its parent and
 * siblings. Waiting never blocks the event loop.
 *
 * @module
 */

import { acquireFor, adopted, adoptEngine, holdOrTimeOut, SemLock, setEngine } from "./_semlock.ts";
import { makeShareable, registerMemoryReviver, SHARED_KEY } from "../memory/_shared.ts";
import { ProcessError } from "../core/errors.ts";

/**
 * How `acquire` waits: Python's `block` and `timeout`, and a signal.
 *
 * @example Trying without waiting
 * ```ts
 * import { Lock } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const lock = new Lock();
 * await lock.acquire();
 * assert.equal(await lock.acquire({ block: false }), false);
 * lock.release();
 * ```
 */
export interface AcquireOptions {
  /** `false` tries once and does not wait (the timeout is then ignored). @default {true} */
  readonly block?: boolean;
  /** Milliseconds to wait at most; none or `Infinity` waits as long as it takes, negative counts as 0. */
  readonly timeout?: number;
  /** Stops waiting: the call rejects with the signal's reason and takes nothing. */
  readonly signal?: AbortSignal;
}

/**
 * How a wait that takes its timeout first (`Event.wait(timeoutMs)`) can be
 * cancelled.
 *
 * @example Cancelling a wait
 * ```ts
 * import { Event } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const event = new Event();
 * await assert.rejects(event.wait(undefined, { signal: AbortSignal.abort() }));
 * ```
 */
export interface WaitOptions {
  /** Stops waiting: the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * A lock, Python's `multiprocessing.Lock`: held by one process at a time,
 * and, unlike an `RLock`, releasable by any process. A process that
 * acquires it again while holding it waits, as in Python.
 *
 * `acquire` resolves to Python's booleans: true once held, false when the
 * timeout passed first. Releasing an unlocked lock throws a RangeError
 * (Python's ValueError). Prefer `using _ = await lock.hold()`, which
 * releases however the block ends, to a bare acquire and release.
 *
 * Pass it in the `args` of a `backend: "worker"` Process (or a Pool's
 * `initargs`) to share it; it cannot be sent to a subprocess, nor through a
 * queue, pipe or pool task (as in Python: locks are shared by inheritance).
 *
 * @example Guarding a block
 * ```ts
 * import { Lock } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const lock = new Lock();
 * {
 *   using _held = await lock.hold();
 *   assert.equal(await lock.acquire({ timeout: 0 }), false);
 * }
 * assert.equal(await lock.acquire({ timeout: 0 }), true);
 * lock.release();
 * ```
 */
export class Lock {
  readonly #engine: SemLock;

  /** Creates an unlocked lock. */
  constructor() {
    const engine = this.#engine = adopted() ?? SemLock.create(1, 1);
    setEngine(this, engine);
    makeShareable(this, () => ({ [SHARED_KEY]: "Lock", buffer: engine.buffer }), "Lock");
  }

  /**
   * Acquires the lock, waiting for as long as `options` allow.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns Whether the lock is now held by this process.
   * @throws {TypeError} For a bad option (the promise rejects).
   *
   * @example Acquiring with a timeout
   * ```ts
   * import { Lock } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const lock = new Lock();
   * assert.equal(await lock.acquire({ timeout: 100 }), true);
   * assert.equal(await lock.acquire({ timeout: 10 }), false);
   * lock.release();
   * ```
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const engine = this.#engine;
    return acquireFor(engine, "Lock.acquire", options, () => engine.own());
  }

  /**
   * Releases the lock; any process may, as in Python.
   *
   * @throws {RangeError} When the lock is not locked.
   *
   * @example Releasing twice is an error
   * ```ts
   * import { Lock } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const lock = new Lock();
   * await lock.acquire();
   * lock.release();
   * assert.throws(() => lock.release(), RangeError);
   * ```
   */
  release(): void {
    const engine = this.#engine;
    if (engine.value > 0) {
      throw new RangeError("Cannot release the Lock as it is not locked: release it once per acquire");
    }
    engine.disown();
    engine.release();
  }

  /**
   * Acquires the lock and gives a guard that releases it when disposed:
   * Python's `with lock:`.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns A Disposable that releases the lock once.
   * @throws {ProcessTimeoutError} When the lock was not free in time (the promise rejects).
   *
   * @example With `using`
   * ```ts
   * import { Lock } from "@troupe/troupe";
   *
   * const lock = new Lock();
   * {
   *   using _held = await lock.hold({ timeout: 1000 });
   *   // … this process alone runs here …
   * }
   * ```
   */
  hold(options?: AcquireOptions): Promise<Disposable> {
    return holdOrTimeOut(this.acquire(options), () => this.release(), "Lock", options);
  }

  /**
   * Python's repr: who holds the lock.
   *
   * @returns `Lock(owner=none)`, `Lock(owner=this process)` or `Lock(owner=another process)`.
   *
   * @example
   * ```ts
   * import { Lock } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new Lock()), "Lock(owner=none)");
   * ```
   */
  toString(): string {
    return `Lock(owner=${this.#engine.holder()})`;
  }
}

/**
 * A re-entrant lock, Python's `multiprocessing.RLock`: the process that
 * holds it may acquire it again, and must release it as many times. Only
 * that process may release it: anyone else gets a ProcessError (Python's
 * AssertionError).
 *
 * The owner is the process (the isolate), as Python's is the thread: two
 * async tasks of one process are the same owner, so they do not exclude
 * each other through an RLock. Use a `Lock` for that.
 *
 * @example Re-entering
 * ```ts
 * import { RLock } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const lock = new RLock();
 * assert.equal(await lock.acquire(), true);
 * assert.equal(await lock.acquire({ block: false }), true);
 * lock.release();
 * lock.release();
 * assert.throws(() => lock.release());
 * ```
 */
export class RLock {
  readonly #engine: SemLock;

  /** Creates an unlocked re-entrant lock. */
  constructor() {
    const engine = this.#engine = adopted() ?? SemLock.create(1, 1);
    setEngine(this, engine);
    makeShareable(this, () => ({ [SHARED_KEY]: "RLock", buffer: engine.buffer }), "RLock");
  }

  /**
   * Acquires the lock, or holds it once more if this process already does.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns Whether the lock is now held by this process.
   * @throws {TypeError} For a bad option (the promise rejects).
   *
   * @example
   * ```ts
   * import { RLock } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const lock = new RLock();
   * assert.equal(await lock.acquire({ timeout: 100 }), true);
   * lock.release();
   * ```
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    const engine = this.#engine;
    const reenter = () => {
      if (!engine.isMine()) return false;
      engine.deepen();
      return true;
    };
    return acquireFor(engine, "RLock.acquire", options, () => engine.own(), reenter);
  }

  /**
   * Releases one hold; the last one frees the lock.
   *
   * @throws {ProcessError} When this process does not hold the lock.
   *
   * @example
   * ```ts
   * import { ProcessError, RLock } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => new RLock().release(), ProcessError);
   * ```
   */
  release(): void {
    const engine = this.#engine;
    if (!engine.isMine()) {
      throw new ProcessError(
        `Cannot release the RLock as this process does not hold it: held by ${engine.holder()}`,
      );
    }
    if (engine.shallow() > 0) return;
    engine.disown();
    engine.release();
  }

  /**
   * Acquires the lock and gives a guard that releases it when disposed.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns A Disposable that releases one hold, once.
   * @throws {ProcessTimeoutError} When the lock was not free in time (the promise rejects).
   *
   * @example
   * ```ts
   * import { RLock } from "@troupe/troupe";
   *
   * const lock = new RLock();
   * using _outer = await lock.hold();
   * using _inner = await lock.hold();
   * ```
   */
  hold(options?: AcquireOptions): Promise<Disposable> {
    return holdOrTimeOut(this.acquire(options), () => this.release(), "RLock", options);
  }

  /**
   * Python's repr: who holds the lock, and how many times.
   *
   * @returns For instance `RLock(this process, 2)` or `RLock(none, 0)`.
   *
   * @example
   * ```ts
   * import { RLock } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new RLock()), "RLock(none, 0)");
   * ```
   */
  toString(): string {
    const engine = this.#engine;
    return `RLock(${engine.holder()}, ${engine.holder() === "none" ? 0 : engine.depth})`;
  }
}

registerMemoryReviver("Lock", (d) => adoptEngine(d.buffer, () => new Lock()));
registerMemoryReviver("RLock", (d) => adoptEngine(d.buffer, () => new RLock()));
