/**
 * Process targets (and one registered type) for the tests of a manager's
 * locks, semaphores, event, condition and barrier. The children are given
 * proxies in their `args` and report what they saw through a queue, so a
 * test awaits a `get` (with a timeout) instead of sleeping. Every wait here
 * has a timeout too, so a bug fails the test instead of hanging it.
 */

import {
  type BarrierProxy,
  type BaseProxy,
  BrokenBarrierError,
  type ConditionProxy,
  type EventProxy,
  type LockProxy,
  ProcessError,
  type Queue,
  type SemaphoreProxy,
  type ValueProxy,
} from "../../mod.ts";
import * as helpers from "../_helpers.ts";
import { CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** What a caught error looks like once reported through a queue, with the classes it was an instance of here. */
export interface Caught extends helpers.Caught {
  /** `instanceof ProcessError`, in the child. */
  processError: boolean;
  /** `instanceof BrokenBarrierError`, in the child. */
  brokenBarrier: boolean;
  /** `instanceof RangeError`, in the child. */
  rangeError: boolean;
}

export function caught(error: unknown): Caught {
  return {
    ...helpers.caught(error),
    processError: error instanceof ProcessError,
    brokenBarrier: error instanceof BrokenBarrierError,
    rangeError: error instanceof RangeError,
  };
}

/** How a promise settled: its value, or its error as `caught` shows it. */
export type Outcome<T = unknown> = helpers.Outcome<T, Caught>;

export function outcome<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return helpers.outcome(promise, caught);
}

/** Waits for `event`, or throws (so the child exits 1) when it is not set in time. */
async function waitOrFail(event: EventProxy, what: string): Promise<void> {
  if (!(await event.wait(PATIENCE_MS))) throw new Error(`Cannot see ${what} within ${PATIENCE_MS} ms`);
}

// --- A registered type (its factory runs in the manager's process) ---

/** Counts who is inside a section, and the most that ever were at once. */
export class Gauge {
  #inside = 0;
  #peak = 0;
  #entries = 0;

  enter(): number {
    this.#inside++;
    this.#entries++;
    this.#peak = Math.max(this.#peak, this.#inside);
    return this.#inside;
  }

  leave(): void {
    this.#inside--;
  }

  /** [inside now, most inside at once, entries in all]. */
  counts(): [number, number, number] {
    return [this.#inside, this.#peak, this.#entries];
  }
}

export function gauge(): Gauge {
  return new Gauge();
}

// --- Locks ---

/** Adds 1 to `value` `times` times, each read and write under `lock`. */
export async function addUnderLock(lock: LockProxy, value: ValueProxy<number>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await using _held = await lock.hold({ timeout: PATIENCE_MS });
    const read = await value.get();
    await value.set(read + 1);
  }
}

/**
 * Acquires `lock` `depth` times, sets `held`, waits for `done`, sets
 * `releasing` and releases it as many times.
 */
export async function holdLock(
  lock: LockProxy,
  depth: number,
  held: EventProxy,
  done: EventProxy,
  releasing: EventProxy,
): Promise<void> {
  for (let i = 0; i < depth; i++) {
    if (!(await lock.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the lock");
  }
  await held.set();
  await waitOrFail(done, "done");
  await releasing.set();
  for (let i = 0; i < depth; i++) await lock.release();
}

/**
 * Tries `lock`, which another process holds, without waiting and with a
 * zero timeout, and reports that; then waits for it, says so once the
 * acquire is in the manager, and reports whether the holder had said it
 * was releasing by the time it got it.
 */
export async function tryThenWait(
  lock: LockProxy,
  releasing: EventProxy,
  out: Queue<unknown>,
): Promise<void> {
  await out.put({
    blockFalse: await lock.acquire({ block: false }),
    zeroTimeout: await lock.acquire({ timeout: 0 }),
  });
  const waiting = lock.acquire({ timeout: PATIENCE_MS });
  // Answered after the acquire, which is then waiting in the manager.
  await lock.locked();
  await out.put("waiting");
  const got = await waiting;
  const afterRelease = await releasing.isSet();
  if (got) await lock.release();
  await out.put({ got, afterRelease });
}

/** Acquires `lock` and returns with it still held. */
export async function acquireAndLeave(lock: LockProxy, out: Queue<unknown>): Promise<void> {
  await out.put(await lock.acquire({ timeout: PATIENCE_MS }));
}

/** Releases `lock` (one another process holds) and reports how that went. */
export async function releaseLock(lock: LockProxy, out: Queue<unknown>): Promise<void> {
  await out.put(await outcome(lock.release()));
}

/**
 * Waits for `lock` (another process holds it) with a signal it aborts once
 * the acquire is in the manager (a later call on the same connection was
 * answered), and reports whether the acquire rejected with its reason.
 */
export async function abortAcquire(lock: LockProxy, out: Queue<unknown>): Promise<void> {
  const controller = new AbortController();
  const reason = new Error("the child stopped waiting");
  const waiting = lock.acquire({ signal: controller.signal, timeout: PATIENCE_MS });
  const lockedMeanwhile = await lock.locked();
  controller.abort(reason);
  let same = false;
  try {
    await waiting;
  } catch (error) {
    same = error === reason;
  }
  await out.put({ lockedMeanwhile, rejectedWithReason: same });
}

/**
 * Waits for `lock` (another process holds it) far longer than the test
 * waits, says so once the acquire is in the manager, and reports how it ended.
 */
export async function acquireUntilShutdown(lock: LockProxy, out: Queue<unknown>): Promise<void> {
  const waiting = outcome(lock.acquire({ timeout: 10 * PATIENCE_MS }));
  await lock.locked();
  await out.put("waiting");
  await out.put(await waiting);
}

// --- Semaphores ---

/** Waits for `go`, then enters the section `rounds` times under `sem`, counted by `gauge`. */
export async function crowd(
  sem: SemaphoreProxy,
  gauge: BaseProxy,
  go: EventProxy,
  rounds: number,
): Promise<void> {
  await waitOrFail(go, "go");
  for (let i = 0; i < rounds; i++) {
    await using _held = await sem.hold({ timeout: PATIENCE_MS });
    await gauge.call("enter");
    // A round trip inside, so the others have a chance to come in too.
    await sem.getValue();
    await gauge.call("leave");
  }
}

/** Takes a unit of `sem` and returns without giving it back; then tries a bounded one over its limit. */
export async function takeAndOverRelease(
  sem: SemaphoreProxy,
  bounded: SemaphoreProxy,
  out: Queue<unknown>,
): Promise<void> {
  await out.put({
    took: await sem.acquire({ timeout: PATIENCE_MS }),
    overRelease: await outcome(bounded.release()),
  });
}

// --- Event ---

/** Says it is ready, waits for `waitOn`, reports what it saw, then sets `thenSet`. */
export async function waitThenSet(
  waitOn: EventProxy,
  thenSet: EventProxy,
  out: Queue<unknown>,
): Promise<void> {
  const before = await waitOn.isSet();
  await out.put("ready");
  const got = await waitOn.wait(PATIENCE_MS);
  await thenSet.set();
  await out.put({ before, got });
}

// --- Condition ---

/**
 * Takes the condition's lock, says so, and waits until `flag` is non-zero
 * (the parent can take the lock only once this waits); reports the flag.
 */
export async function awaitFlag(
  cond: ConditionProxy,
  flag: ValueProxy<number>,
  out: Queue<unknown>,
): Promise<void> {
  if (!(await cond.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the condition");
  await out.put("holding");
  const got = await cond.waitFor(() => flag.get(), PATIENCE_MS);
  await cond.release();
  await out.put({ got });
}

/** Takes the condition's lock (once the parent's wait lets go of it), raises `flag` and notifies. */
export async function raiseFlag(
  cond: ConditionProxy,
  flag: ValueProxy<number>,
  value: number,
): Promise<void> {
  await using _held = await cond.hold({ timeout: PATIENCE_MS });
  await flag.set(value);
  await cond.notifyAll();
}

/** Calls wait, waitFor, notify and notifyAll without holding the lock, and reports how each went. */
export async function misuseCondition(cond: ConditionProxy, out: Queue<unknown>): Promise<void> {
  await out.put({
    wait: await outcome(cond.wait(10)),
    waitFor: await outcome(cond.waitFor(() => false, 10)),
    notify: await outcome(cond.notify()),
    notifyAll: await outcome(cond.notifyAll()),
    release: await outcome(cond.release()),
  });
}

// --- Barrier ---

/** Passes `barrier` `cycles` times and reports the arrival index of each. */
export async function passBarrier(barrier: BarrierProxy, cycles: number, out: Queue<unknown>): Promise<void> {
  const indexes: number[] = [];
  for (let i = 0; i < cycles; i++) indexes.push(await barrier.wait(PATIENCE_MS));
  await out.put(indexes);
}

/** Waits once at each barrier, with the timeout given (null: none of its own), and reports how each wait ended. */
export async function waitAtBarriers(
  waits: [BarrierProxy, number | null][],
  out: Queue<unknown>,
): Promise<void> {
  const outcomes: Outcome<number>[] = [];
  for (const [barrier, timeout] of waits) outcomes.push(await outcome(barrier.wait(timeout ?? undefined)));
  await out.put(outcomes);
}
