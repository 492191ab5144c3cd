/**
 * The semlock on its own (`src/_semlock.ts`): the counting semaphore in
 * shared memory behind every Lock, RLock, Semaphore and BoundedSemaphore,
 * with the owner and depth the locks keep in it.
 */

import assert from "node:assert/strict";
import type { Deadline } from "../src/core/_futex.ts";
import {
  acquireFor,
  adopted,
  adoptEngine,
  engineOf,
  holdOrTimeOut,
  notHeld,
  SemLock,
  setEngine,
  UNBOUNDED,
} from "../src/sync/_semlock.ts";
import { ProcessTimeoutError } from "../mod.ts";
import { PATIENCE_MS, within } from "./_helpers.ts";

function after(ms: number, signal?: AbortSignal): Deadline {
  return { until: performance.now() + ms, signal };
}

Deno.test("a semlock counts down to 0 on acquires and back up to its maximum on releases", () => {
  const table: [number, number][] = [[0, 1], [1, 1], [3, 3], [2, 5], [1, UNBOUNDED]];
  for (const [value, max] of table) {
    const sem = SemLock.create(value, max);
    assert.equal(sem.value, value);
    assert.equal(sem.max, max);
    for (let i = 0; i < value; i++) assert.equal(sem.tryAcquire(), true, `acquire ${i + 1} of ${value}`);
    assert.equal(sem.tryAcquire(), false, `at 0, from ${value}`);
    assert.equal(sem.value, 0);
    const releases = Math.min(max, value + 10);
    for (let i = 0; i < releases; i++) assert.equal(sem.release(), true, `release ${i + 1}`);
    assert.equal(sem.value, releases);
    if (max !== UNBOUNDED) {
      assert.equal(sem.release(), false, `a release past ${max} is refused`);
      assert.equal(sem.value, max, "and changes nothing");
    }
  }
});

Deno.test("views of one buffer share the count, as isolates that hold it do", () => {
  const sem = SemLock.create(2, 2);
  const other = new SemLock(sem.buffer);
  assert.equal(other.tryAcquire(), true);
  assert.equal(sem.value, 1);
  assert.equal(sem.tryAcquire(), true);
  assert.equal(other.tryAcquire(), false);
  assert.equal(other.release(), true);
  assert.equal(sem.value, 1);
});

Deno.test("acquire waits for a release, and gives up at its deadline", async () => {
  const sem = SemLock.create(0, 1);
  const start = performance.now();
  assert.equal(await sem.acquire(after(30)), false);
  assert.ok(performance.now() - start >= 29, "it waited for its deadline");
  assert.equal(await sem.acquire({ until: 0 }), false);

  const waiting = sem.acquire(after(PATIENCE_MS));
  const released = performance.now();
  assert.equal(new SemLock(sem.buffer).release(), true);
  assert.equal(await within(waiting), true);
  assert.ok(performance.now() - released < PATIENCE_MS / 2, "woken by the release");
  assert.equal(sem.value, 0, "the waiter took the unit released");
});

Deno.test("a release wakes one waiter per unit, and each unit is taken once", async () => {
  const sem = SemLock.create(0, 3);
  const waiters = [0, 1, 2].map(() => sem.acquire(after(PATIENCE_MS)));
  for (let i = 0; i < 3; i++) sem.release();
  assert.deepEqual(await within(Promise.all(waiters)), [true, true, true]);
  assert.equal(sem.value, 0);
});

Deno.test("an aborted acquire rejects with the reason and takes nothing", async () => {
  const sem = SemLock.create(0, 1);
  const reason = new Error("give up");
  const controller = new AbortController();
  const waiting = sem.acquire(after(PATIENCE_MS, controller.signal));
  controller.abort(reason);
  await assert.rejects(within(waiting), (e) => e === reason);
  sem.release();
  assert.equal(sem.value, 1, "the unit released is still there");
});

Deno.test("the owner is this process, at the depth it holds it", () => {
  const sem = SemLock.create(1, 1);
  assert.equal(sem.isMine(), false);
  assert.equal(sem.holder(), "none");
  assert.equal(sem.depth, 0);
  sem.tryAcquire();
  sem.own();
  assert.equal(sem.isMine(), true);
  assert.equal(sem.holder(), "this process");
  assert.equal(new SemLock(sem.buffer).isMine(), true, "every view in this process sees it as its own");
  assert.equal(sem.depth, 1);
  sem.deepen();
  sem.deepen();
  assert.equal(sem.depth, 3);
  assert.equal(sem.shallow(), 2);
  assert.equal(sem.shallow(), 1);
  assert.equal(sem.isMine(), true);
  sem.disown();
  assert.equal(sem.isMine(), false);
  assert.equal(sem.holder(), "none");
  assert.equal(sem.depth, 0);
  sem.own(4);
  assert.equal(sem.depth, 4, "an owner may start deeper");
});

Deno.test("acquireFor refuses a bad option or an aborted signal before taking anything", async () => {
  const sem = SemLock.create(1, 1);
  let took = 0;
  await assert.rejects(
    acquireFor(sem, "Lock.acquire", { timeout: NaN }, () => took++),
    (error) => error instanceof TypeError && /^Lock\.acquire: timeout/.test(error.message),
  );
  const reason = new Error("aborted");
  await assert.rejects(
    acquireFor(sem, "Lock.acquire", { signal: AbortSignal.abort(reason) }, () => took++),
    (e) => e === reason,
  );
  assert.equal(sem.value, 1);
  assert.equal(took, 0);
});

Deno.test("acquireFor calls took once for each unit taken, and never when none was", async () => {
  const sem = SemLock.create(1, 1);
  let took = 0;
  assert.equal(await acquireFor(sem, "Lock.acquire", undefined, () => took++), true);
  assert.equal(took, 1);
  assert.equal(await acquireFor(sem, "Lock.acquire", { block: false }, () => took++), false);
  assert.equal(await acquireFor(sem, "Lock.acquire", { timeout: 10 }, () => took++), false);
  assert.equal(took, 1);
  const waiting = acquireFor(sem, "Lock.acquire", { timeout: PATIENCE_MS }, () => took++);
  sem.release();
  assert.equal(await within(waiting), true);
  assert.equal(took, 2);
});

Deno.test("acquireFor lets a re-entering owner through without taking a unit", async () => {
  const sem = SemLock.create(0, 1);
  let took = 0;
  assert.equal(await acquireFor(sem, "RLock.acquire", { block: false }, () => took++, () => true), true);
  assert.equal(took, 0);
  assert.equal(sem.value, 0);
  assert.equal(await acquireFor(sem, "RLock.acquire", { block: false }, () => took++, () => false), false);
});

Deno.test("holdOrTimeOut gives a guard that releases once, or a ProcessTimeoutError naming what", async () => {
  let releases = 0;
  {
    using _held = await holdOrTimeOut(Promise.resolve(true), () => releases++, "lock");
    assert.equal(releases, 0);
  }
  assert.equal(releases, 1, "released when the block ends");
  const guard = await holdOrTimeOut(Promise.resolve(true), () => releases++, "lock");
  guard[Symbol.dispose]();
  guard[Symbol.dispose]();
  assert.equal(releases, 2, "disposing twice releases once");
  await assert.rejects(
    holdOrTimeOut(Promise.resolve(false), () => releases++, "semaphore", { timeout: 5 }),
    (e) => {
      assert.ok(e instanceof ProcessTimeoutError);
      assert.equal(e.message, "Cannot hold the semaphore as it was not free within 5 ms");
      return true;
    },
  );
  assert.equal(releases, 2, "nothing to release when nothing was taken");
  assert.equal(
    notHeld("lock", { block: false }).message,
    "Cannot hold the lock as it is taken: block is false, so it did not wait",
  );
});

Deno.test("engineOf finds the engine recorded for a front, and nothing for anything else", () => {
  const front = {};
  const engine = SemLock.create(1, 1);
  setEngine(front, engine);
  assert.equal(engineOf(front), engine);
  for (const other of [{}, null, undefined, 1, "lock"]) assert.equal(engineOf(other), undefined);
});

Deno.test("adoptEngine offers the engine over a buffer only while the front is built", () => {
  const original = SemLock.create(2, 2);
  assert.equal(adopted(), undefined);
  const seen = adoptEngine(original.buffer, () => adopted());
  assert.ok(seen instanceof SemLock);
  assert.equal(seen.buffer, original.buffer);
  assert.equal(adopted(), undefined, "gone once built");
  assert.throws(() =>
    adoptEngine(original.buffer, () => {
      throw new Error("failed");
    })
  );
  assert.equal(adopted(), undefined, "gone when building fails");
});
