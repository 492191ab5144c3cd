/**
 * `Barrier`: Python's `multiprocessing.Barrier` (threading's semantics, state
 * in shared memory), and the `BrokenBarrierError` its waiters get.
 *
 * @module
 */

import { checkDuration } from "../core/_duration.ts";
import { checkedDeadline } from "../core/_futex.ts";
import { findFunction, functionKey } from "../wire/_function_key.ts";
import { runtime } from "../runtime/_runtime.ts";
import {
  makeShareable,
  prepareRevived,
  reduce,
  registerMemoryReviver,
  revive,
  SHARED_KEY,
} from "../memory/_shared.ts";
import { Condition } from "./condition.ts";
import { ProcessError } from "../core/errors.ts";
import { Lock, type WaitOptions } from "./lock.ts";

const STATE = 0;
/** Parties inside wait(). */
const COUNT = 1;

// threading.Barrier's states.
const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

/**
 * Waiting at a barrier failed because it is broken: a party timed out or
 * stopped waiting, the action threw, or `abort()` or `reset()` was called.
 * Every party waiting then gets it, and so does every later `wait()` until
 * `reset()`. Python's `threading.BrokenBarrierError`.
 *
 * @example
 * ```ts
 * import { Barrier, BrokenBarrierError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const barrier = new Barrier(2);
 * await barrier.abort();
 * await assert.rejects(barrier.wait(), BrokenBarrierError);
 * ```
 */
export class BrokenBarrierError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message What broke the barrier.
   * @param options `cause`: the action's error, when it threw.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrokenBarrierError";
  }
}

/**
 * How a Barrier behaves.
 *
 * @example
 * ```ts
 * import { Barrier, type BarrierOptions } from "@troupe/troupe";
 *
 * const options: BarrierOptions = { timeout: 5_000 };
 * new Barrier(3, options);
 * ```
 */
export interface BarrierOptions {
  /**
   * Run once per cycle by the last party to arrive, before any is released;
   * if it throws, the barrier breaks. A barrier shared with other processes
   * needs a named function exported from `module` (they find it by name).
   */
  readonly action?: () => unknown;
  /** The default timeout of `wait`, in milliseconds; none or `Infinity` waits as long as it takes. */
  readonly timeout?: number;
  /** The module that exports `action`. @default {the main module} */
  readonly module?: string | URL;
}

/** The parts a revived Barrier adopts; set only while one is built. */
let adopted: Parts | undefined;

/** What a Barrier is made of, and how it names its action to other processes. */
interface Parts {
  readonly buffer: SharedArrayBuffer;
  readonly cond: Condition;
  readonly action: (() => unknown) | undefined;
  /** The action's function key, once another process needs it; null for none. */
  key?: string | null;
  readonly module: string;
}

/**
 * A barrier for a fixed number of parties: each `wait()` blocks until
 * `parties` processes (or async tasks) are waiting, then all are released
 * together, and the barrier is ready for the next cycle. Python's
 * `multiprocessing.Barrier`.
 *
 * `wait()` resolves to the party's arrival index, 0 to `parties - 1`, each
 * handed out once per cycle. A timeout breaks the barrier for every party
 * (`BrokenBarrierError`) until `reset()`; so does a signal aborting a wait,
 * where Python's KeyboardInterrupt would leave the others waiting.
 *
 * @example Three parties
 * ```ts
 * import { Barrier } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const barrier = new Barrier(3);
 * const indexes = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
 * assert.deepEqual(indexes.toSorted(), [0, 1, 2]);
 * ```
 */
export class Barrier {
  /** How many parties each cycle needs. */
  readonly parties: number;
  /** The default timeout of `wait`, in ms; undefined waits as long as it takes. */
  readonly timeout: number | undefined;
  readonly #cells: Int32Array;
  readonly #cond: Condition;
  readonly #action: (() => unknown) | undefined;

  /**
   * Creates a barrier.
   *
   * @param parties How many parties each cycle needs: an integer from 1.
   * @param options `action`, `timeout` and `module`.
   * @throws {RangeError} When `parties` is not a positive integer.
   * @throws {TypeError} When `action` is not a function or `timeout` not a number.
   */
  constructor(parties: number, options: BarrierOptions = {}) {
    const { action, timeout, module } = options;
    if (!Number.isInteger(parties) || parties < 1) {
      throw new RangeError(
        `Cannot create a Barrier as parties must be a positive integer: current value is ${String(parties)}`,
      );
    }
    if (action !== undefined && typeof action !== "function") {
      throw new TypeError(`Cannot create a Barrier as its action must be a function, not ${typeof action}`);
    }
    checkDuration(timeout, "create a Barrier", "timeout");
    this.parties = parties;
    this.timeout = timeout;
    const parts: Parts = adopted ?? {
      buffer: new SharedArrayBuffer(8),
      cond: new Condition(new Lock()),
      action,
      module: module === undefined ? runtime.mainModule : String(module),
    };
    this.#cells = new Int32Array(parts.buffer);
    this.#cond = parts.cond;
    this.#action = parts.action;
    makeShareable(this, () => ({
      [SHARED_KEY]: "Barrier",
      buffer: parts.buffer,
      cond: reduce(parts.cond),
      parties,
      timeout: timeout ?? null,
      // Another process finds the action by name, as a pool finds its functions.
      action: parts.key ??= action ? functionKey(action, "The Barrier's action", "Barrier") : null,
      module: parts.module,
    }), "Barrier");
  }

  /**
   * Waits until `parties` parties wait, then releases them all.
   *
   * @param timeoutMs Milliseconds to wait at most (`Infinity`: no limit). @default {the barrier's timeout}
   * @param options `signal` to stop waiting (which breaks the barrier).
   * @returns This party's arrival index, from 0 to `parties - 1`.
   * @throws {BrokenBarrierError} When the barrier is or becomes broken (the promise rejects).
   *
   * @example
   * ```ts
   * import { Barrier } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(await new Barrier(1).wait(), 0);
   * ```
   */
  async wait(timeoutMs: number | undefined = this.timeout, options: WaitOptions = {}): Promise<number> {
    const { until, signal } = checkedDeadline(
      "Barrier.wait",
      { timeout: timeoutMs, signal: options.signal },
      "timeoutMs",
    );
    const cells = this.#cells, cond = this.#cond;
    await cond.acquire(signal ? { signal } : {});
    try {
      // Wait while the previous cycle drains or a reset is under way.
      while (this.#state === DRAINING || this.#state === RESETTING) await cond.wait(undefined, options);
      if (this.#state === BROKEN) throw this.#brokenError();
      const index = Atomics.add(cells, COUNT, 1);
      try {
        if (index + 1 === this.parties) await this.#trip();
        else await this.#awaitTrip(until, signal);
        return index;
      } finally {
        // The last party out opens the barrier for the next cycle.
        if (Atomics.sub(cells, COUNT, 1) === 1 && (this.#state === DRAINING || this.#state === RESETTING)) {
          this.#setState(FILLING);
        }
      }
    } finally {
      cond.release();
    }
  }

  /**
   * Breaks the barrier: every party waiting, and every later `wait()`, gets
   * a BrokenBarrierError until `reset()`.
   *
   * @example
   * ```ts
   * import { Barrier } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const barrier = new Barrier(2);
   * await barrier.abort();
   * assert.equal(barrier.broken, true);
   * ```
   */
  async abort(): Promise<void> {
    using _held = await this.#cond.hold();
    this.#setState(BROKEN);
  }

  /**
   * Returns the barrier to its empty state; parties waiting now get a
   * BrokenBarrierError.
   *
   * @example
   * ```ts
   * import { Barrier } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const barrier = new Barrier(2);
   * await barrier.abort();
   * await barrier.reset();
   * assert.equal(barrier.broken, false);
   * ```
   */
  async reset(): Promise<void> {
    using _held = await this.#cond.hold();
    if (Atomics.load(this.#cells, COUNT) > 0) {
      // Those waiting see the reset; the last one out opens the barrier.
      if (this.#state === FILLING || this.#state === BROKEN) this.#setState(RESETTING);
    } else {
      this.#setState(FILLING);
    }
  }

  /**
   * How many parties wait in the current cycle: Python's `n_waiting`.
   *
   * @example
   * ```ts
   * import { Barrier } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Barrier(2).nWaiting, 0);
   * ```
   */
  get nWaiting(): number {
    return this.#state === FILLING ? Atomics.load(this.#cells, COUNT) : 0;
  }

  /**
   * Whether the barrier is broken.
   *
   * @example
   * ```ts
   * import { Barrier } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Barrier(2).broken, false);
   * ```
   */
  get broken(): boolean {
    return this.#state === BROKEN;
  }

  get #state(): number {
    return Atomics.load(this.#cells, STATE);
  }

  /** Sets the state and wakes every waiter to look at it (under the lock). */
  #setState(state: number): void {
    Atomics.store(this.#cells, STATE, state);
    this.#cond.notifyAll();
  }

  /** The last party: runs the action, then lets everyone go. */
  async #trip(): Promise<void> {
    try {
      await this.#action?.();
    } catch (error) {
      // As in Python: this party gets the action's error, the others a broken barrier.
      this.#setState(BROKEN);
      throw error;
    }
    this.#setState(DRAINING);
  }

  /** The others: wait to be let go, breaking the barrier on timeout or abort. */
  async #awaitTrip(until: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      const left = until - performance.now();
      const tripped = await this.#cond.waitFor(
        () => this.#state !== FILLING,
        until === Infinity ? undefined : Math.max(0, left),
        signal ? { signal } : {},
      );
      if (!tripped) {
        this.#setState(BROKEN);
        throw new BrokenBarrierError(
          `Cannot pass the barrier as it was not full within the timeout: it is now broken for every party; ` +
            "reset() it to use it again",
        );
      }
    } catch (error) {
      if (signal?.aborted && error === signal.reason) this.#setState(BROKEN);
      throw error;
    }
    if (this.#state < 0) throw this.#brokenError();
  }

  #brokenError(): BrokenBarrierError {
    return new BrokenBarrierError(
      "Cannot pass the barrier as it is broken (a party timed out or stopped waiting, or it was aborted " +
        "or reset): reset() it to use it again",
    );
  }
}

registerMemoryReviver("Barrier", (descriptor) => {
  const { buffer, cond, parties, timeout, action, module } = descriptor as unknown as {
    buffer: SharedArrayBuffer;
    cond: unknown;
    parties: number;
    timeout: number | null;
    action: string | null;
    module: string;
  };
  // Found before the process's target runs (a miss fails its start), not
  // while the barrier's lock is held.
  let found: (() => unknown) | undefined;
  if (action !== null) {
    prepareRevived(
      import(module).then((namespace) => found = findFunction(namespace, action, module, "Barrier")),
    );
  }
  adopted = {
    buffer,
    cond: revive(cond) as Condition,
    action: action === null ? undefined : () => found!(),
    key: action,
    module,
  };
  try {
    return new Barrier(parties, timeout === null ? {} : { timeout });
  } finally {
    adopted = undefined;
  }
});
