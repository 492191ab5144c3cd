/**
 * `Condition`: Python's `multiprocessing.Condition`, a lock and the
 * processes waiting to be notified under it, in shared memory.
 *
 * @module
 */

import { checkedDeadline, type Deadline, takeOne, waitChange, wake } from "../core/_futex.ts";
import { engineOf, type SemLock } from "./_semlock.ts";
import { makeShareable, reduce, registerMemoryReviver, revive, SHARED_KEY } from "../memory/_shared.ts";
import { ProcessError } from "../core/errors.ts";
import { type AcquireOptions, type Lock, RLock, type WaitOptions } from "./lock.ts";

// How notify() wakes exactly n of the processes waiting when it is called:
// under the lock, a waiter counts itself in SLEEPERS and notes SEQ. notify(n)
// (also under the lock) moves k = min(n, SLEEPERS) from SLEEPERS to TOKENS
// and bumps SEQ. A waiter that sees SEQ move past the value it noted claims
// a token; with none left it sleeps on. A waiter that times out takes the
// lock back first and then, under it, claims a token left for it or
// uncounts itself, so the counts never drift.
/** Bumped by every notify that wakes anyone; what waiters sleep on. */
const SEQ = 0;
/** Waiters not yet notified. Changed only under the lock. */
const SLEEPERS = 1;
/** Notifies not yet claimed by a waiter. */
const TOKENS = 2;

const FOREVER: Deadline = { until: Infinity };

/** The parts a revived Condition adopts; set only while one is built. */
let adopted: { lock: Lock | RLock; buffer: SharedArrayBuffer } | undefined;

/**
 * A condition variable: a lock (an `RLock` unless given one) and a way to
 * sleep until another process, holding the lock, calls `notify`. `wait`
 * and `notify` need the lock held by this process (a ProcessError
 * otherwise, Python's AssertionError); `wait` releases it while it sleeps,
 * all recursion levels of an RLock included, and takes it back before it
 * returns, whatever happens.
 *
 * `notify(n)` wakes at most `n` of the processes waiting when it is called.
 * Unlike Python's, it does not wait for them to wake, so it need not be
 * awaited.
 *
 * The default RLock is owned by the process, as Python's is by the thread:
 * async tasks of one process are the same owner, so for a condition shared
 * by tasks in one process, give it a `Lock`.
 *
 * @example A producer and a consumer
 * ```ts
 * import { Condition, Lock } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const cond = new Condition(new Lock());
 * const items: number[] = [];
 * const consumer = (async () => {
 *   using _held = await cond.hold();
 *   await cond.waitFor(() => items.length > 0, 5_000);
 *   return items.shift();
 * })();
 * {
 *   using _held = await cond.hold();
 *   items.push(42);
 *   cond.notify();
 * }
 * assert.equal(await consumer, 42);
 * ```
 */
export class Condition {
  readonly #lock: Lock | RLock;
  readonly #engine: SemLock;
  readonly #cells: Int32Array;

  /**
   * Creates a condition.
   *
   * @param lock The lock to use: a Lock or an RLock. @default {new RLock()}
   * @throws {TypeError} When `lock` is neither.
   */
  constructor(lock?: Lock | RLock) {
    const parts = adopted ?? { lock: lock ?? new RLock(), buffer: new SharedArrayBuffer(12) };
    const engine = engineOf(parts.lock);
    if (!engine) {
      throw new TypeError(`Cannot create a Condition over ${String(lock)}: give it a Lock or an RLock`);
    }
    this.#lock = parts.lock;
    this.#engine = engine;
    this.#cells = new Int32Array(parts.buffer);
    makeShareable(
      this,
      () => ({ [SHARED_KEY]: "Condition", buffer: parts.buffer, lock: reduce(parts.lock) }),
      "Condition",
    );
  }

  /**
   * Acquires the underlying lock.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns Whether the lock is now held.
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const cond = new Condition();
   * assert.equal(await cond.acquire(), true);
   * cond.release();
   * ```
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /**
   * Releases the underlying lock.
   *
   * @throws {RangeError | ProcessError} As the lock's own release does.
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   *
   * const cond = new Condition();
   * await cond.acquire();
   * cond.release();
   * ```
   */
  release(): void {
    this.#lock.release();
  }

  /**
   * Acquires the underlying lock and gives a guard that releases it.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   * @returns A Disposable that releases once.
   * @throws {ProcessTimeoutError} When the lock was not free in time (the promise rejects).
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * cond.notifyAll();
   * ```
   */
  hold(options?: AcquireOptions): Promise<Disposable> {
    return this.#lock.hold(options);
  }

  /**
   * Releases the lock, sleeps until notified, and takes the lock back.
   *
   * @param timeoutMs Milliseconds to wait at most; none or `Infinity` waits as long as it takes.
   * @param options `signal` to stop waiting: the lock is taken back, then the promise rejects.
   * @returns True if notified, false when the timeout passed first.
   * @throws {ProcessError} When this process does not hold the lock (the promise rejects).
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * assert.equal(await cond.wait(10), false);
   * ```
   */
  async wait(timeoutMs?: number, options: WaitOptions = {}): Promise<boolean> {
    const deadline = checkedDeadline(
      "Condition.wait",
      { timeout: timeoutMs, signal: options.signal },
      "timeoutMs",
    );
    this.#assertHeld("wait");
    deadline.signal?.throwIfAborted();
    const cells = this.#cells, engine = this.#engine;
    Atomics.add(cells, SLEEPERS, 1);
    const arrived = Atomics.load(cells, SEQ);
    // Let go of every hold (an RLock may be held several times), as Python does.
    const depth = engine.depth;
    engine.disown();
    engine.release();
    let notified = false;
    try {
      let seen = arrived;
      while (!notified) {
        if (!(await waitChange(cells, SEQ, seen, deadline))) break;
        seen = Atomics.load(cells, SEQ);
        if (seen !== arrived) notified = takeOne(cells, TOKENS);
      }
    } finally {
      await engine.acquire(FOREVER);
      engine.own(depth);
      // Timed out or aborted: under the lock again, take a notify that came
      // for us meanwhile, or stop counting as a sleeper.
      if (!notified) {
        if (Atomics.load(cells, SEQ) !== arrived && takeOne(cells, TOKENS)) notified = true;
        else Atomics.sub(cells, SLEEPERS, 1);
      }
    }
    return notified;
  }

  /**
   * Waits until `predicate` returns something truthy, re-checking it after
   * each notify, with the lock held.
   *
   * @typeParam T What the predicate returns.
   * @param predicate Checked first, then after every wake-up.
   * @param timeoutMs Milliseconds to wait at most, in all; none or `Infinity` waits as long as it takes.
   * @param options `signal` to stop waiting.
   * @returns The predicate's last result: truthy, or falsy when time ran out.
   * @throws {ProcessError} When this process does not hold the lock (the promise rejects).
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * assert.equal(await cond.waitFor(() => 0, 10), 0);
   * ```
   */
  async waitFor<T>(predicate: () => T, timeoutMs?: number, options: WaitOptions = {}): Promise<T> {
    const { until } = checkedDeadline(
      "Condition.waitFor",
      { timeout: timeoutMs, signal: options.signal },
      "timeoutMs",
    );
    let result = predicate();
    while (!result) {
      const left = until - performance.now();
      if (left <= 0) break;
      await this.wait(left === Infinity ? undefined : left, options);
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes at most `n` of the processes waiting now.
   *
   * @param n How many to wake. @default {1}
   * @throws {ProcessError} When this process does not hold the lock.
   * @throws {RangeError} When `n` is negative or not a number.
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * cond.notify(2);
   * ```
   */
  notify(n = 1): void {
    if (typeof n !== "number" || !(n >= 0)) {
      throw new RangeError(`Cannot notify as n must be a number >= 0: current value is ${String(n)}`);
    }
    this.#assertHeld("notify");
    const cells = this.#cells;
    const woken = Math.min(n, Atomics.load(cells, SLEEPERS));
    if (woken === 0) return;
    Atomics.sub(cells, SLEEPERS, woken);
    Atomics.add(cells, TOKENS, woken);
    Atomics.add(cells, SEQ, 1);
    // Every sleeper re-checks: the futex does not wake them in arrival order.
    wake(cells, SEQ);
  }

  /**
   * Wakes every process waiting now.
   *
   * @throws {ProcessError} When this process does not hold the lock.
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   *
   * const cond = new Condition();
   * using _held = await cond.hold();
   * cond.notifyAll();
   * ```
   */
  notifyAll(): void {
    this.notify(Infinity);
  }

  /**
   * Python's repr: the lock, and how many processes wait.
   *
   * @returns For instance `Condition(RLock(none, 0), 0)`.
   *
   * @example
   * ```ts
   * import { Condition } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new Condition()), "Condition(RLock(none, 0), 0)");
   * ```
   */
  toString(): string {
    return `Condition(${this.#lock}, ${Atomics.load(this.#cells, SLEEPERS)})`;
  }

  #assertHeld(method: string): void {
    if (!this.#engine.isMine()) {
      throw new ProcessError(
        `Cannot ${method} on the Condition as this process does not hold its lock: acquire it first`,
      );
    }
  }
}

registerMemoryReviver("Condition", (descriptor) => {
  adopted = {
    lock: revive(descriptor.lock) as Lock | RLock,
    buffer: descriptor.buffer as SharedArrayBuffer,
  };
  try {
    return new Condition();
  } finally {
    adopted = undefined;
  }
});
