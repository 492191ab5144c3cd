/**
 * `Semaphore` and `BoundedSemaphore`: Python's counting semaphores, in
 * shared memory, for worker-backend children to share through their `args`.
 *
 * @module
 */

import { acquireFor, adopted, adoptEngine, holdOrTimeOut, SemLock, UNBOUNDED } from "./_semlock.ts";
import { makeShareable, registerMemoryReviver, SHARED_KEY } from "../memory/_shared.ts";
import type { AcquireOptions } from "./lock.ts";

/**
 * A counting semaphore, Python's `multiprocessing.Semaphore`: `acquire`
 * takes one unit, waiting while there is none; `release` gives one back and
 * may raise the count past its initial value (a `BoundedSemaphore` may not).
 * Any process may release.
 *
 * @example At most two at a time
 * ```ts
 * import { Semaphore } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const sem = new Semaphore(2);
 * await sem.acquire();
 * await sem.acquire();
 * assert.equal(await sem.acquire({ timeout: 10 }), false);
 * sem.release();
 * assert.equal(sem.getValue(), 1);
 * ```
 */
export class Semaphore {
  readonly #engine: SemLock;

  /**
   * Creates a semaphore.
   *
   * @param value The initial count. @default {1}
   * @throws {RangeError} When `value` is not an integer from 0 to 2^31 - 1.
   */
  constructor(value = 1) {
    const bounded = new.target === BoundedSemaphore;
    const kind = bounded ? "BoundedSemaphore" : "Semaphore";
    let engine = adopted();
    if (!engine) {
      if (!Number.isInteger(value) || value < 0 || value > UNBOUNDED) {
        throw new RangeError(
          `Cannot create a ${kind} as its value must be an integer from 0 to ${UNBOUNDED}: ` +
            `current value is ${String(value)}`,
        );
      }
      engine = SemLock.create(value, bounded ? value : UNBOUNDED);
    }
    this.#engine = engine;
    makeShareable(this, () => ({ [SHARED_KEY]: kind, buffer: engine.buffer }), kind);
  }

  /**
   * Takes one unit, waiting while the count is 0.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns Whether a unit was taken.
   * @throws {TypeError} For a bad option (the promise rejects).
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(0);
   * assert.equal(await sem.acquire({ block: false }), false);
   * ```
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return acquireFor(this.#engine, `${this.#kind}.acquire`, options);
  }

  /**
   * Gives one unit back, waking one waiter.
   *
   * @throws {RangeError} For a BoundedSemaphore already at its initial value.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(1);
   * sem.release();
   * assert.equal(sem.getValue(), 2);
   * ```
   */
  release(): void {
    if (!this.#engine.release()) {
      const limit = this instanceof BoundedSemaphore ? "its initial value" : "the largest value";
      throw new RangeError(
        `Cannot release the ${this.#kind} above ${limit}: current value is ${this.#engine.max}`,
      );
    }
  }

  /**
   * Takes one unit and gives a guard that gives it back when disposed.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns A Disposable that releases once.
   * @throws {ProcessTimeoutError} When no unit was free in time (the promise rejects).
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   *
   * const sem = new Semaphore(3);
   * {
   *   using _slot = await sem.hold();
   *   // … at most three processes run here at once …
   * }
   * ```
   */
  hold(options?: AcquireOptions): Promise<Disposable> {
    return holdOrTimeOut(this.acquire(options), () => this.release(), this.#kind, options);
  }

  /**
   * The current count: Python's `get_value()`.
   *
   * @returns How many units are free.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Semaphore(3).getValue(), 3);
   * ```
   */
  getValue(): number {
    return this.#engine.value;
  }

  /**
   * Python's repr.
   *
   * @returns `Semaphore(value=N)`, or `BoundedSemaphore(value=N, maxvalue=M)`.
   *
   * @example
   * ```ts
   * import { BoundedSemaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new BoundedSemaphore(2)), "BoundedSemaphore(value=2, maxvalue=2)");
   * ```
   */
  toString(): string {
    const { value, max } = this.#engine;
    return this instanceof BoundedSemaphore
      ? `BoundedSemaphore(value=${value}, maxvalue=${max})`
      : `Semaphore(value=${value})`;
  }

  get #kind(): string {
    return this instanceof BoundedSemaphore ? "BoundedSemaphore" : "Semaphore";
  }
}

/**
 * A semaphore that cannot be released above its initial value, Python's
 * `multiprocessing.BoundedSemaphore`: one release too many throws a
 * RangeError (Python's ValueError) and changes nothing.
 *
 * @example Over-release
 * ```ts
 * import { BoundedSemaphore } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const sem = new BoundedSemaphore(1);
 * assert.throws(() => sem.release(), RangeError);
 * ```
 */
export class BoundedSemaphore extends Semaphore {}

registerMemoryReviver("Semaphore", (d) => adoptEngine(d.buffer, () => new Semaphore()));
registerMemoryReviver("BoundedSemaphore", (d) => adoptEngine(d.buffer, () => new BoundedSemaphore()));
