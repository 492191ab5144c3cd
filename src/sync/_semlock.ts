/**
 * The engine behind `Lock`, `RLock`, `Semaphore` and `BoundedSemaphore`, as
 * Python's `SemLock` is: a counting semaphore in a SharedArrayBuffer, so
 * every isolate that holds the buffer acquires and releases it directly,
 * plus who holds it and how deeply, for the locks.
 *
 * A process (an isolate) owns what it acquired: JavaScript has no threads
 * to tell apart inside one, so the owner is the process, as Python's is the
 * thread. Only the owner writes `OWNER` and `DEPTH`.
 *
 * @module
 */

import { runtime } from "../runtime/_runtime.ts";
import {
  type BlockingOptions,
  checkedDeadline,
  type Deadline,
  takeOne,
  waitChange,
  wake,
} from "../core/_futex.ts";
import { ProcessTimeoutError } from "../core/errors.ts";

const VALUE = 0;
/** Acquirers asleep on `VALUE`: a release notifies only when there are any. */
const WAITERS = 1;
const MAX = 2;
/** The owning process's id + 1; 0 when not held. */
const OWNER = 3;
/** How many times the owner holds it: 1 for a Lock, the recursion depth for an RLock. */
const DEPTH = 4;
const CELLS = 5;

/** Python's SEM_VALUE_MAX on Linux: what "unbounded" means. */
export const UNBOUNDED = 0x7fffffff;

/** This isolate's owner id: the root-wide process id + 1, so that 0 means nobody. */
function me(): number {
  return runtime.self.id + 1;
}

/** A semaphore in shared memory, with the owner bookkeeping locks need. */
export class SemLock {
  readonly buffer: SharedArrayBuffer;
  readonly #cells: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#cells = new Int32Array(buffer);
  }

  /** A new semaphore at `value`, which releases can raise up to `max`. */
  static create(value: number, max: number): SemLock {
    const engine = new SemLock(new SharedArrayBuffer(CELLS * 4));
    engine.#cells[VALUE] = value;
    engine.#cells[MAX] = max;
    return engine;
  }

  get value(): number {
    return Atomics.load(this.#cells, VALUE);
  }

  get max(): number {
    return this.#cells[MAX]!;
  }

  /** Takes one unit if there is one, without waiting. */
  tryAcquire(): boolean {
    return takeOne(this.#cells, VALUE);
  }

  /** Takes one unit, waiting until one is free or the deadline passes; false then. */
  async acquire(deadline: Deadline): Promise<boolean> {
    for (;;) {
      if (this.tryAcquire()) return true;
      if (!(await waitChange(this.#cells, VALUE, 0, deadline, WAITERS))) return this.tryAcquire();
    }
  }

  /** Gives one unit back; false (and nothing changes) when that would pass the maximum. */
  release(): boolean {
    const cells = this.#cells;
    const max = cells[MAX]!;
    let value = Atomics.load(cells, VALUE);
    for (;;) {
      if (value >= max) return false;
      const seen = Atomics.compareExchange(cells, VALUE, value, value + 1);
      if (seen === value) break;
      value = seen;
    }
    if (Atomics.load(cells, WAITERS) > 0) wake(cells, VALUE, 1);
    return true;
  }

  // Ownership, for locks.

  /** Records this process as the holder, `depth` times over (after an acquire). */
  own(depth = 1): void {
    Atomics.store(this.#cells, OWNER, me());
    Atomics.store(this.#cells, DEPTH, depth);
  }

  /** Forgets the holder (before the release that frees it). */
  disown(): void {
    Atomics.store(this.#cells, DEPTH, 0);
    Atomics.store(this.#cells, OWNER, 0);
  }

  /** Whether this process holds it: Python's `_is_mine()`. */
  isMine(): boolean {
    return Atomics.load(this.#cells, OWNER) === me() && Atomics.load(this.#cells, DEPTH) > 0;
  }

  /** How many times the holder holds it. */
  get depth(): number {
    return Atomics.load(this.#cells, DEPTH);
  }

  /** Counts one more hold by the owner (an RLock re-acquired). */
  deepen(): void {
    Atomics.add(this.#cells, DEPTH, 1);
  }

  /** Counts one hold less; the depth left. */
  shallow(): number {
    return Atomics.sub(this.#cells, DEPTH, 1) - 1;
  }

  /** Who holds it, for messages: "none", "this process" or "another process". */
  holder(): string {
    const owner = Atomics.load(this.#cells, OWNER);
    return owner === 0 ? "none" : owner === me() ? "this process" : "another process";
  }
}

const FOREVER: Deadline = { until: Infinity };

/**
 * Acquires `engine` as `options` say, for the fronts' `acquire`: a bad
 * option or an aborted signal rejects (naming `method`) before anything is
 * taken; `reenter` (an RLock's owner) may succeed without taking; `took`
 * runs once a unit is taken. The uncontended case costs no async function.
 */
export function acquireFor(
  engine: SemLock,
  method: string,
  options: BlockingOptions | undefined,
  took?: () => void,
  reenter?: () => boolean,
): Promise<boolean> {
  let deadline = FOREVER;
  if (options !== undefined) {
    try {
      deadline = checkedDeadline(method, options);
      deadline.signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (reenter?.()) return Promise.resolve(true);
  if (engine.tryAcquire()) {
    took?.();
    return Promise.resolve(true);
  }
  return engine.acquire(deadline).then((got) => {
    if (got) took?.();
    return got;
  });
}

/** The engine of each lock front, for the Condition and Value that use the lock. */
const engines = new WeakMap<object, SemLock>();

/** Records `engine` as the one behind `front`. */
export function setEngine(front: object, engine: SemLock): void {
  engines.set(front, engine);
}

/** The engine behind a Lock or RLock front; undefined for anything else. */
export function engineOf(front: unknown): SemLock | undefined {
  return typeof front === "object" && front !== null ? engines.get(front) : undefined;
}

/** The engine a revived front adopts instead of making its own; set only while one is built. */
let adopting: SemLock | undefined;

/** The engine the front being built should adopt, if it is being revived. */
export function adopted(): SemLock | undefined {
  return adopting;
}

/** Builds a front (`make`) over the existing semaphore in `buffer`. */
export function adoptEngine<T>(buffer: unknown, make: () => T): T {
  adopting = new SemLock(buffer as SharedArrayBuffer);
  try {
    return make();
  } finally {
    adopting = undefined;
  }
}

/** What `hold()` gives: releases once when disposed, whatever ends the block. */
function guard(release: () => void): Disposable {
  let held = true;
  return {
    [Symbol.dispose]() {
      if (!held) return;
      held = false;
      release();
    },
  };
}

/**
 * A guard once `acquiring` (an acquire with `options`) succeeds, or a
 * ProcessTimeoutError that names `what`.
 */
export async function holdOrTimeOut(
  acquiring: Promise<boolean>,
  release: () => void,
  what: string,
  options?: BlockingOptions,
): Promise<Disposable> {
  if (await acquiring) return guard(release);
  throw notHeld(what, options);
}

/** Why `hold()` failed: the lock was taken and the options did not let it wait (long enough). */
export function notHeld(what: string, options?: BlockingOptions): ProcessTimeoutError {
  return new ProcessTimeoutError(
    options?.block === false
      ? `Cannot hold the ${what} as it is taken: block is false, so it did not wait`
      : `Cannot hold the ${what} as it was not free within ${options?.timeout} ms`,
  );
}
