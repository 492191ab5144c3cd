/**
 * Process and pool targets for the lock and shared-memory tests. They are
 * handed locks, events and shared values in their `args` (worker backend),
 * and tell the test where they are through an Event, so the test awaits
 * instead of sleeping. Every wait here has a timeout too, so a bug fails the
 * test instead of hanging it.
 */

// Types only: a child rebuilds the shared objects in its args without this module importing them.
import type { Event, Lock, RawArray, RawValue, RLock, Semaphore, SharedArray, Value } from "../../mod.ts";
import { CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** Waits for `event`, or throws (so the child exits 1) when it is not set in time. */
async function waitOrFail(event: Event, what: string): Promise<void> {
  if (!(await event.wait(PATIENCE_MS))) throw new Error(`Cannot see ${what} within ${PATIENCE_MS} ms`);
}

/** Acquires `lock`, sets `held`, waits for `done`, then releases it. */
export async function holdLock(lock: Lock | RLock, held: Event, done: Event): Promise<void> {
  if (!(await lock.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the lock");
  held.set();
  await waitOrFail(done, "done");
  lock.release();
}

/** Acquires `lock`, sets `held` and returns with the lock still held. */
export async function acquireAndLeave(lock: Lock, held: Event): Promise<void> {
  if (!(await lock.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the lock");
  held.set();
}

/**
 * Acquires `lock` (waiting for the parent to release it), records what it
 * saw in `seen` (1: acquired), releases it and sets `done`.
 */
export async function acquireThenRelease(lock: Lock, started: Event, seen: RawArray<"i">): Promise<void> {
  started.set();
  const got = await lock.acquire({ timeout: PATIENCE_MS });
  seen.set(0, got ? 1 : -1);
  if (got) lock.release();
}

/** Acquires `rlock` `depth` times, sets `held`, waits for `done`, then releases it as many times. */
export async function holdRLockDeep(rlock: RLock, depth: number, held: Event, done: Event): Promise<void> {
  for (let i = 0; i < depth; i++) {
    if (!(await rlock.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the RLock");
  }
  held.set();
  await waitOrFail(done, "done");
  for (let i = 0; i < depth; i++) rlock.release();
}

/**
 * Tries to release `rlock`, which the parent holds, and records in `seen`
 * what happened: 1 for a ProcessError, 2 for anything else thrown, 3 when
 * the release went through.
 */
export function releaseOthersRLock(rlock: RLock, seen: RawArray<"i">): void {
  try {
    rlock.release();
    seen.set(0, 3);
  } catch (error) {
    seen.set(0, (error as Error).name === "ProcessError" ? 1 : 2);
  }
}

/** Releases `lock`, which another process holds. */
export function releaseLock(lock: Lock): void {
  lock.release();
}

/** Takes one unit of `sem` (waiting), sets `took`, and returns without giving it back. */
export async function takeUnit(sem: Semaphore, took: Event): Promise<void> {
  if (!(await sem.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the semaphore");
  took.set();
}

/**
 * Enters `sem` `rounds` times once `go` is set, counting the holders inside
 * in `counts`: [0] the current number, [1] the most ever seen, [2] how many
 * entries in all. Stays inside a few milliseconds each time so holders overlap.
 */
export async function crowd(sem: Semaphore, counts: RawArray<"i">, go: Event, rounds: number): Promise<void> {
  const cells = counts.getObj();
  await waitOrFail(go, "go");
  for (let i = 0; i < rounds; i++) {
    using _slot = await sem.hold({ timeout: PATIENCE_MS });
    const inside = Atomics.add(cells, 0, 1) + 1;
    Atomics.add(cells, 2, 1);
    for (let most = Atomics.load(cells, 1); inside > most;) {
      const seen = Atomics.compareExchange(cells, 1, most, inside);
      if (seen === most) break;
      most = seen;
    }
    // Slow inside the child (not to synchronize): a holder stays long enough for others to pile up.
    await new Promise((resolve) => setTimeout(resolve, 3));
    Atomics.sub(cells, 0, 1);
  }
}

/** Sets `event`. */
export function setEvent(event: Event): void {
  event.set();
}

/** Waits for `event`, then records in `seen[index]` whether the wait returned true (1) or false (0). */
export async function waitEvent(
  event: Event,
  started: Event,
  seen: RawArray<"i">,
  index: number,
): Promise<void> {
  started.set();
  seen.set(index, (await event.wait(PATIENCE_MS)) ? 1 : 0);
}

/** Adds 1 to `v` `times` times, each under its lock. */
export async function increment(v: Value<"i">, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    using _held = await v.hold({ timeout: PATIENCE_MS });
    v.value += 1;
  }
}

/** Adds 1 to `arr[index]` `times` times, each under the array's lock. */
export async function incrementElement(arr: SharedArray<"i">, index: number, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    using _held = await arr.hold({ timeout: PATIENCE_MS });
    arr.set(index, arr.get(index) + 1);
  }
}

/** Writes known values into every shared object it is given. */
export function writeShared(
  small: Value<"b">,
  big: Value<"q">,
  unsigned: Value<"Q">,
  real: RawValue<"d">,
  numbers: SharedArray<"i">,
  text: SharedArray<"c">,
  raw: RawArray<"h">,
): void {
  small.value = -7;
  big.value = -(2n ** 62n);
  unsigned.value = 2n ** 64n - 1n;
  real.value = 0.25;
  numbers.set(0, 10);
  numbers.set(-1, -30);
  text.value = "child";
  raw.set(1, 1234);
}

/**
 * Reports through `out` what it sees in `v` and `arr`, which the parent made
 * with one Lock: [0] v's value, [1] 1 if arr holds "parent", [2] 1 if both
 * typecodes came through, [3] 1 if holding v's lock excludes arr's (one lock).
 */
export async function readShared(v: Value<"L">, arr: SharedArray<"c">, out: RawArray<"d">): Promise<void> {
  out.set(0, Number(v.value));
  out.set(1, arr.value === "parent" ? 1 : 0);
  out.set(2, v.typecode === "L" && arr.typecode === "c" ? 1 : 0);
  using _held = await v.hold({ timeout: PATIENCE_MS });
  const also = await arr.acquire({ timeout: 0 });
  if (also) arr.release();
  out.set(3, also ? 0 : 1);
}

// A worker pool's initializer keeps its shared Value here, for its tasks.
let poolCounter: Value<"i"> | undefined;

/** A pool initializer: keeps the shared counter for `bump`. */
export function keepCounter(counter: Value<"i">): void {
  poolCounter = counter;
}

/** A pool task: adds 1 to the kept counter `times` times under its lock; returns how many it added. */
export async function bump(times: number): Promise<number> {
  if (!poolCounter) throw new Error("Cannot bump: the initializer did not run");
  for (let i = 0; i < times; i++) {
    using _held = await poolCounter.hold({ timeout: PATIENCE_MS });
    poolCounter.value += 1;
  }
  return times;
}

/** A pool task: the shared counter's value as this worker sees it. */
export function counterValue(): number {
  if (!poolCounter) throw new Error("Cannot read the counter: the initializer did not run");
  return poolCounter.value;
}

/** Anything, for a child that must not get far: the refusal tests never run it. */
export function noop(..._args: unknown[]): void {}

/** Seed 002's loop, indexed as in Python: `for i in range(len(a)): a[i] = -a[i]`; returns what it saw. */
export function negateByIndex(a: SharedArray<"i">, big: RawArray<"q">, seen: RawArray<"i">): void {
  for (let i = 0; i < a.length; i++) a[i] = -a[i]!;
  big[0] = big[0]! * 2n;
  big[big.length - 1] = -1n;
  seen[0] = a.length;
  seen[1] = [...a].reduce((sum, x) => sum + x, 0);
}
