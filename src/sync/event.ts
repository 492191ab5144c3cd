/**
 * `Event`: Python's `multiprocessing.Event`, a flag in shared memory that
 * processes wait on.
 *
 * @module
 */

import { checkedDeadline, waitChange, wake } from "../core/_futex.ts";
import { makeShareable, registerMemoryReviver, SHARED_KEY } from "../memory/_shared.ts";
import type { WaitOptions } from "./lock.ts";

const FLAG = 0;
const WAITERS = 1;

/** The buffer a revived Event adopts; set only while one is built. */
let adopted: SharedArrayBuffer | undefined;

/**
 * A flag that starts unset: `set()` wakes every process waiting on it, and
 * later waits return at once until `clear()`. Share it with worker-backend
 * children through their `args`.
 *
 * @example Waiting for a signal from a child
 * ```ts
 * import { Event } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const ready = new Event();
 * setTimeout(() => ready.set(), 10);
 * assert.equal(await ready.wait(5_000), true);
 * assert.equal(ready.isSet(), true);
 * ```
 */
export class Event {
  readonly #cells: Int32Array;

  /** Creates an unset event. */
  constructor() {
    const buffer = adopted ?? new SharedArrayBuffer(8);
    this.#cells = new Int32Array(buffer);
    makeShareable(this, () => ({ [SHARED_KEY]: "Event", buffer }), "Event");
  }

  /**
   * Whether the flag is set: Python's `is_set()`.
   *
   * @returns The flag.
   *
   * @example
   * ```ts
   * import { Event } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Event().isSet(), false);
   * ```
   */
  isSet(): boolean {
    return Atomics.load(this.#cells, FLAG) === 1;
  }

  /**
   * Sets the flag and wakes every waiter.
   *
   * @example
   * ```ts
   * import { Event } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const event = new Event();
   * event.set();
   * assert.equal(await event.wait(0), true);
   * ```
   */
  set(): void {
    const cells = this.#cells;
    if (Atomics.exchange(cells, FLAG, 1) === 0 && Atomics.load(cells, WAITERS) > 0) {
      wake(cells, FLAG);
    }
  }

  /**
   * Clears the flag: later waits wait again.
   *
   * @example
   * ```ts
   * import { Event } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const event = new Event();
   * event.set();
   * event.clear();
   * assert.equal(await event.wait(10), false);
   * ```
   */
  clear(): void {
    Atomics.store(this.#cells, FLAG, 0);
  }

  /**
   * Waits until the flag is set.
   *
   * @param timeoutMs Milliseconds to wait at most; none or `Infinity` waits as
   *   long as it takes, zero or less only looks.
   * @param options `signal` to stop waiting (the promise rejects with its reason).
   * @returns True once the flag is set, false when the timeout passed first.
   * @throws {TypeError} For a bad timeout or signal (the promise rejects).
   *
   * @example
   * ```ts
   * import { Event } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(await new Event().wait(10), false);
   * ```
   */
  async wait(timeoutMs?: number, options: WaitOptions = {}): Promise<boolean> {
    const deadline = checkedDeadline(
      "Event.wait",
      { timeout: timeoutMs, signal: options.signal },
      "timeoutMs",
    );
    deadline.signal?.throwIfAborted();
    for (;;) {
      if (this.isSet()) return true;
      if (!(await waitChange(this.#cells, FLAG, 0, deadline, WAITERS))) return this.isSet();
    }
  }

  /**
   * Python's repr.
   *
   * @returns `Event(set)` or `Event(unset)`.
   *
   * @example
   * ```ts
   * import { Event } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new Event()), "Event(unset)");
   * ```
   */
  toString(): string {
    return `Event(${this.isSet() ? "set" : "unset"})`;
  }
}

registerMemoryReviver("Event", (descriptor) => {
  adopted = descriptor.buffer as SharedArrayBuffer;
  try {
    return new Event();
  } finally {
    adopted = undefined;
  }
});
