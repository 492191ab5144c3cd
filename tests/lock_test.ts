/**
 * Lock, RLock, Semaphore, BoundedSemaphore and Event: Python's result shapes
 * and errors from the main isolate, then the same primitives shared with
 * worker children through their `args`. A wake-up is always an awaited
 * event (a waiter started first, then released, then awaited), never a sleep.
 */

import assert from "node:assert/strict";
import {
  BoundedSemaphore,
  Event,
  Lock,
  Process,
  ProcessError,
  ProcessTimeoutError,
  RawArray,
  RLock,
  Semaphore,
} from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { joined, PATIENCE_MS, QUICK_MS, started, within } from "./_helpers.ts";
import * as targets from "./testdata/sync_targets.ts";

const module = targets.MODULE;

/** Waits for `event`, failing rather than hanging. */
async function seen(event: Event, what: string): Promise<void> {
  assert.equal(await event.wait(PATIENCE_MS), true, `${what} within ${PATIENCE_MS} ms`);
}

/** Options a caller might pass by mistake. */
const BAD_OPTIONS = [
  { block: "yes" },
  { block: 1 },
  { timeout: "10" },
  { timeout: NaN },
  { timeout: 10n },
  { signal: {} },
  { signal: "stop" },
] as const;

// ---------------------------------------------------------------------------
// Lock
// ---------------------------------------------------------------------------

Deno.test("Lock.acquire() resolves true when free and false, not an error, when the timeout passes", async () => {
  const lock = new Lock();
  assert.equal(await lock.acquire(), true);
  const start = performance.now();
  assert.equal(await lock.acquire({ timeout: 50 }), false);
  assert.ok(performance.now() - start >= 45, "the acquire waited for its timeout");
  lock.release();
  assert.equal(await lock.acquire({ timeout: 50 }), true);
  lock.release();
});

Deno.test("Lock.acquire({ block: false }) does not wait, and ignores the timeout", async () => {
  const lock = new Lock();
  assert.equal(await lock.acquire({ block: false }), true);
  const start = performance.now();
  assert.equal(await lock.acquire({ block: false, timeout: 5_000 }), false);
  assert.equal(await lock.acquire({ block: false, timeout: -1 }), false);
  assert.ok(performance.now() - start < QUICK_MS, "block: false did not wait");
  lock.release();
  assert.equal(await lock.acquire({ block: false, timeout: 5_000 }), true);
  lock.release();
});

Deno.test("Lock.acquire(): a negative timeout counts as 0", async () => {
  const lock = new Lock();
  assert.equal(await lock.acquire({ timeout: -1 }), true);
  const start = performance.now();
  assert.equal(await lock.acquire({ timeout: -100 }), false);
  assert.equal(await lock.acquire({ timeout: 0 }), false);
  assert.ok(performance.now() - start < QUICK_MS, "a negative timeout did not wait");
  lock.release();
});

Deno.test("Lock is not re-entrant: the process that holds it waits to acquire it again", async () => {
  const lock = new Lock();
  await lock.acquire();
  assert.equal(await lock.acquire({ timeout: 20 }), false);
  lock.release();
});

Deno.test("Lock.release() of an unlocked lock throws a RangeError", async () => {
  const lock = new Lock();
  assert.throws(() => lock.release(), { name: "RangeError", message: /not locked/ });
  await lock.acquire();
  assert.equal(lock.release(), undefined);
  assert.throws(() => lock.release(), RangeError);
  // The failed release changed nothing: the lock is free, once.
  assert.equal(await lock.acquire({ block: false }), true);
  assert.equal(await lock.acquire({ block: false }), false);
  lock.release();
});

Deno.test("Lock: a waiting acquire() resolves true once the holder releases", async () => {
  const lock = new Lock();
  await lock.acquire();
  const waiting = lock.acquire({ timeout: PATIENCE_MS });
  const forever = (async () => {
    // A second waiter with no timeout at all.
    return await lock.acquire();
  })();
  lock.release();
  assert.equal(await within(waiting), true);
  lock.release();
  assert.equal(await within(forever), true);
  assert.equal(await lock.acquire({ block: false }), false, "the last waiter holds it");
  lock.release();
});

Deno.test("Lock.acquire() aborted while waiting rejects with the signal's reason and takes nothing", async () => {
  const lock = new Lock();
  await lock.acquire();
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  const waiting = lock.acquire({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  // Still held by this process, and still released just once.
  assert.equal(String(lock), "Lock(owner=this process)");
  lock.release();
  assert.equal(await lock.acquire({ block: false }), true, "the aborted acquire did not take it");
  // An already-aborted signal on a held lock rejects at once.
  await assert.rejects(lock.acquire({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  lock.release();
  assert.throws(() => lock.release(), RangeError);
});

Deno.test("Lock: a waiter after an aborted one wakes as soon as the lock is released", async () => {
  const lock = new Lock();
  await lock.acquire();
  const controller = new AbortController();
  const aborted = lock.acquire({ signal: controller.signal });
  controller.abort(new Error("gave up"));
  await assert.rejects(aborted, { message: "gave up" });
  const start = performance.now();
  const waiting = lock.acquire({ timeout: PATIENCE_MS });
  lock.release();
  assert.equal(await waiting, true);
  const elapsed = performance.now() - start;
  assert.ok(elapsed < PATIENCE_MS / 2, `the waiter took ${Math.round(elapsed)} ms to see the release`);
  lock.release();
});

Deno.test("Lock.acquire() rejects a bad option with a TypeError, free or held, and takes nothing", async () => {
  const lock = new Lock();
  for (const options of BAD_OPTIONS) {
    await assert.rejects(lock.acquire(options as never), { name: "TypeError", message: /^Lock\.acquire: / });
  }
  assert.equal(String(lock), "Lock(owner=none)", "a rejected acquire of a free lock took nothing");
  await lock.acquire();
  for (const options of BAD_OPTIONS) {
    await assert.rejects(lock.acquire(options as never), { name: "TypeError", message: /^Lock\.acquire: / });
  }
  lock.release();
  assert.throws(() => lock.release(), RangeError, "no rejected acquire took the lock");
  await assert.rejects(lock.hold({ timeout: "1" } as never), TypeError);
  assert.equal(String(lock), "Lock(owner=none)");
});

Deno.test("Lock.acquire() with an already-aborted signal rejects at once, even on a free lock", async () => {
  const lock = new Lock();
  const reason = new Error("already aborted");
  await assert.rejects(lock.acquire({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  await assert.rejects(lock.hold({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  assert.equal(String(lock), "Lock(owner=none)", "nothing was taken");
  assert.equal(await lock.acquire({ block: false }), true);
  lock.release();
});

Deno.test("Lock.hold() releases on dispose, once, however the block ends", async () => {
  const lock = new Lock();
  {
    using _held = await lock.hold();
    assert.equal(String(lock), "Lock(owner=this process)");
    assert.equal(await lock.acquire({ timeout: 0 }), false);
  }
  assert.equal(String(lock), "Lock(owner=none)");
  await assert.rejects(
    (async () => {
      using _held = await lock.hold({ timeout: PATIENCE_MS });
      throw new Error("inside");
    })(),
    { message: "inside" },
  );
  assert.equal(await lock.acquire({ block: false }), true, "the throwing block released it");
  lock.release();
  // Disposing twice releases once: the second dispose does not throw RangeError.
  const guard = await lock.hold();
  guard[Symbol.dispose]();
  guard[Symbol.dispose]();
  assert.equal(await lock.acquire({ block: false }), true);
  lock.release();
});

Deno.test("Lock.hold() rejects with ProcessTimeoutError when the lock is not free in time", async () => {
  const lock = new Lock();
  await lock.acquire();
  await assert.rejects(lock.hold({ timeout: 20 }), (error) => {
    assert.ok(error instanceof ProcessTimeoutError);
    assert.match(error.message, /^Cannot hold the Lock as it was not free within 20 ms/);
    return true;
  });
  await assert.rejects(lock.hold({ block: false }), {
    name: "ProcessTimeoutError",
    message: /^Cannot hold the Lock as it is taken: block is false/,
  });
  const reason = new Error("aborted hold");
  await assert.rejects(lock.hold({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  lock.release();
  assert.throws(() => lock.release(), RangeError, "no failed hold took the lock");
});

Deno.test("Lock.toString() names the holder", async () => {
  const lock = new Lock();
  assert.equal(String(lock), "Lock(owner=none)");
  await lock.acquire();
  assert.equal(lock.toString(), "Lock(owner=this process)");
  lock.release();
  assert.equal(`${lock}`, "Lock(owner=none)");
});

// ---------------------------------------------------------------------------
// RLock
// ---------------------------------------------------------------------------

Deno.test("RLock: the holder re-enters, and must release as many times", async () => {
  const lock = new RLock();
  assert.equal(String(lock), "RLock(none, 0)");
  assert.equal(await lock.acquire(), true);
  assert.equal(await lock.acquire({ block: false }), true);
  assert.equal(await lock.acquire({ timeout: 0 }), true);
  assert.equal(String(lock), "RLock(this process, 3)");
  lock.release();
  assert.equal(String(lock), "RLock(this process, 2)");
  lock.release();
  lock.release();
  assert.equal(String(lock), "RLock(none, 0)");
  assert.throws(() => lock.release(), ProcessError);
});

Deno.test("RLock.release() of an unowned lock throws a ProcessError", () => {
  const lock = new RLock();
  assert.throws(() => lock.release(), (error) => {
    assert.ok(error instanceof ProcessError);
    assert.equal(error.name, "ProcessError");
    assert.match(error.message, /^Cannot release the RLock as this process does not hold it: held by none/);
    return true;
  });
  assert.equal(String(lock), "RLock(none, 0)");
});

Deno.test("RLock.acquire() rejects a bad option or an aborted signal, even when it would re-enter", async () => {
  const lock = new RLock();
  const reason = new Error("already aborted");
  for (const held of [false, true]) {
    for (const options of BAD_OPTIONS) {
      await assert.rejects(lock.acquire(options as never), {
        name: "TypeError",
        message: /^RLock\.acquire: /,
      });
    }
    await assert.rejects(lock.acquire({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
    assert.equal(String(lock), held ? "RLock(this process, 1)" : "RLock(none, 0)", "nothing was taken");
    if (!held) await lock.acquire();
  }
  lock.release();
  assert.equal(String(lock), "RLock(none, 0)");
});

Deno.test("RLock.hold() nests, each guard releasing one level", async () => {
  const lock = new RLock();
  {
    using _outer = await lock.hold();
    {
      using _inner = await lock.hold({ timeout: 0 });
      assert.equal(String(lock), "RLock(this process, 2)");
    }
    assert.equal(String(lock), "RLock(this process, 1)");
  }
  assert.equal(String(lock), "RLock(none, 0)");
});

Deno.test("RLock.acquire(): a negative timeout counts as 0, and block false ignores the timeout", async () => {
  // Only another process can make this one wait for an RLock: see the worker tests below.
  const lock = new RLock();
  assert.equal(await lock.acquire({ timeout: -5 }), true);
  assert.equal(await lock.acquire({ block: false, timeout: 5_000 }), true);
  assert.equal(String(lock), "RLock(this process, 2)");
  lock.release();
  lock.release();
  assert.equal(String(lock), "RLock(none, 0)");
});

// ---------------------------------------------------------------------------
// Semaphore and BoundedSemaphore
// ---------------------------------------------------------------------------

Deno.test("Semaphore: acquire and release move getValue(), which may pass the initial value", async () => {
  // Python's test_semaphore.
  const sem = new Semaphore(2);
  assert.equal(sem.getValue(), 2);
  assert.equal(await sem.acquire(), true);
  assert.equal(sem.getValue(), 1);
  assert.equal(await sem.acquire(), true);
  assert.equal(sem.getValue(), 0);
  assert.equal(await sem.acquire({ block: false }), false);
  assert.equal(sem.getValue(), 0);
  assert.equal(sem.release(), undefined);
  assert.equal(sem.getValue(), 1);
  sem.release();
  assert.equal(sem.getValue(), 2);
  sem.release();
  assert.equal(sem.getValue(), 3);
  sem.release();
  assert.equal(sem.getValue(), 4);
  assert.equal(new Semaphore().getValue(), 1, "the default value is 1");
  assert.equal(new Semaphore(0).getValue(), 0);
});

Deno.test("Semaphore.acquire(): false on timeout, block false ignores the timeout, negative counts as 0", async () => {
  const sem = new Semaphore(0);
  let start = performance.now();
  assert.equal(await sem.acquire({ timeout: 50 }), false);
  assert.ok(performance.now() - start >= 45, "the acquire waited for its timeout");
  start = performance.now();
  assert.equal(await sem.acquire({ block: false, timeout: 5_000 }), false);
  assert.equal(await sem.acquire({ timeout: -100 }), false);
  assert.ok(performance.now() - start < QUICK_MS, "neither waited");
  assert.equal(sem.getValue(), 0);
  sem.release();
  assert.equal(await sem.acquire({ timeout: -1 }), true);
  assert.equal(sem.getValue(), 0);
});

Deno.test("Semaphore: waiters wake one per release", async () => {
  const sem = new Semaphore(0);
  const first = sem.acquire({ timeout: PATIENCE_MS });
  const second = sem.acquire({ timeout: PATIENCE_MS });
  sem.release();
  sem.release();
  assert.deepEqual(await within(Promise.all([first, second])), [true, true]);
  assert.equal(sem.getValue(), 0);
});

Deno.test("Semaphore.acquire() aborted while waiting rejects with the signal's reason and takes nothing", async () => {
  const sem = new Semaphore(0);
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  const waiting = sem.acquire({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  assert.equal(sem.getValue(), 0);
  sem.release();
  assert.equal(sem.getValue(), 1, "the aborted acquire took nothing");
  // A waiter after the aborted one wakes at the next release.
  assert.equal(await sem.acquire({ block: false }), true);
  const start = performance.now();
  const next = sem.acquire({ timeout: PATIENCE_MS });
  sem.release();
  assert.equal(await next, true);
  assert.ok(performance.now() - start < PATIENCE_MS / 2, "woken by the release, not the timeout");
  // An already-aborted signal while the count is 0 rejects at once, and takes nothing.
  await assert.rejects(sem.acquire({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  sem.release();
  assert.equal(sem.getValue(), 1);
});

Deno.test("Semaphore.acquire() rejects a bad option or an aborted signal with a unit free or not, and takes nothing", async () => {
  const reason = new Error("already aborted");
  for (const value of [0, 1]) {
    for (const sem of [new Semaphore(value), new BoundedSemaphore(value)]) {
      const kind = sem instanceof BoundedSemaphore ? "BoundedSemaphore" : "Semaphore";
      for (const options of BAD_OPTIONS) {
        await assert.rejects(sem.acquire(options as never), {
          name: "TypeError",
          message: new RegExp(`^${kind}\\.acquire: `),
        });
      }
      await assert.rejects(sem.acquire({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
      assert.equal(sem.getValue(), value, `${kind}(${value}) kept its value`);
    }
  }
});

Deno.test("Semaphore rejects a value that is not an integer from 0 to 2^31 - 1 with a RangeError", () => {
  for (const value of [-1, 1.5, NaN, 2 ** 31, Infinity]) {
    assert.throws(() => new Semaphore(value), RangeError, `Semaphore(${value})`);
    assert.throws(() => new BoundedSemaphore(value), RangeError, `BoundedSemaphore(${value})`);
  }
  assert.equal(new Semaphore(2 ** 31 - 1).getValue(), 2 ** 31 - 1);
});

Deno.test("BoundedSemaphore.release() above the initial value throws a RangeError and changes nothing", async () => {
  const sem = new BoundedSemaphore(2);
  assert.throws(() => sem.release(), { name: "RangeError", message: /above its initial value/ });
  assert.equal(sem.getValue(), 2);
  assert.equal(await sem.acquire(), true);
  assert.equal(sem.getValue(), 1);
  sem.release();
  assert.equal(sem.getValue(), 2);
  assert.throws(() => sem.release(), RangeError);
  assert.equal(sem.getValue(), 2);
  assert.ok(sem instanceof Semaphore);
  assert.throws(() => new BoundedSemaphore(0).release(), RangeError);
  assert.equal(new BoundedSemaphore().getValue(), 1, "the default value is 1");
});

Deno.test("Semaphore.hold() gives the unit back on dispose, and rejects with ProcessTimeoutError on timeout", async () => {
  const sem = new BoundedSemaphore(1);
  {
    using _slot = await sem.hold();
    assert.equal(sem.getValue(), 0);
    await assert.rejects(sem.hold({ timeout: 20 }), {
      name: "ProcessTimeoutError",
      message: /^Cannot hold the BoundedSemaphore as it was not free within 20 ms/,
    });
    await assert.rejects(sem.hold({ block: false }), ProcessTimeoutError);
  }
  assert.equal(sem.getValue(), 1);
  const plain = new Semaphore(0);
  await assert.rejects(plain.hold({ timeout: 0 }), {
    name: "ProcessTimeoutError",
    message: /^Cannot hold the Semaphore /,
  });
  assert.equal(plain.getValue(), 0);
});

Deno.test("Semaphore.toString() and BoundedSemaphore.toString() show the value", async () => {
  const sem = new Semaphore(3);
  assert.equal(String(sem), "Semaphore(value=3)");
  await sem.acquire();
  assert.equal(String(sem), "Semaphore(value=2)");
  const bounded = new BoundedSemaphore(2);
  assert.equal(String(bounded), "BoundedSemaphore(value=2, maxvalue=2)");
  await bounded.acquire();
  assert.equal(String(bounded), "BoundedSemaphore(value=1, maxvalue=2)");
});

// ---------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------

Deno.test("Event.wait() resolves true once set and false when the timeout passes first", async () => {
  const event = new Event();
  assert.equal(event.isSet(), false);
  const start = performance.now();
  assert.equal(await event.wait(50), false);
  assert.ok(performance.now() - start >= 45, "the wait waited for its timeout");
  assert.equal(await event.wait(0), false);
  assert.equal(await event.wait(-10), false, "a negative timeout only looks");
  event.set();
  assert.equal(event.isSet(), true);
  assert.equal(await event.wait(0), true);
  assert.equal(await event.wait(-10), true);
  assert.equal(await event.wait(), true, "no timeout on a set event returns at once");
  event.set();
  assert.equal(event.isSet(), true, "setting twice keeps it set");
});

Deno.test("Event.clear() makes later waits wait again", async () => {
  const event = new Event();
  event.set();
  event.clear();
  assert.equal(event.isSet(), false);
  assert.equal(await event.wait(20), false);
  event.clear();
  assert.equal(event.isSet(), false, "clearing twice keeps it clear");
});

Deno.test("Event.set() wakes every waiter", async () => {
  const event = new Event();
  const waiters = [event.wait(PATIENCE_MS), event.wait(PATIENCE_MS), event.wait(), event.wait(PATIENCE_MS)];
  const start = performance.now();
  event.set();
  assert.deepEqual(await within(Promise.all(waiters)), [true, true, true, true]);
  assert.ok(performance.now() - start < PATIENCE_MS / 2, "woken by set(), not by the timeout");
});

Deno.test("Event.wait() aborted rejects with the signal's reason", async () => {
  const event = new Event();
  const controller = new AbortController();
  const reason = new Error("stop waiting");
  const waiting = event.wait(undefined, { signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  await assert.rejects(event.wait(PATIENCE_MS, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  // A waiter after the aborted one still wakes at set().
  const next = event.wait(PATIENCE_MS);
  event.set();
  assert.equal(await within(next), true);
});

Deno.test("Event.wait() rejects a bad timeout or signal with a TypeError", async () => {
  const event = new Event();
  for (const timeout of ["10", NaN, 10n, null]) {
    await assert.rejects(event.wait(timeout as never), { name: "TypeError", message: /^Event\.wait: / });
  }
  await assert.rejects(event.wait(10, { signal: {} as AbortSignal }), TypeError);
  event.set();
  await assert.rejects(event.wait("10" as never), TypeError, "even when set");
});

Deno.test("Event.toString() shows whether it is set", () => {
  const event = new Event();
  assert.equal(String(event), "Event(unset)");
  event.set();
  assert.equal(String(event), "Event(set)");
  event.clear();
  assert.equal(String(event), "Event(unset)");
});

// ---------------------------------------------------------------------------
// Shared with worker children
// ---------------------------------------------------------------------------

function test(name: string, fn: () => Promise<void>): void {
  Deno.test(`[worker] ${name}`, withLeakCheck(fn));
}

test("a Lock a child holds excludes the parent until the child releases it", async () => {
  const lock = new Lock();
  const held = new Event();
  const done = new Event();
  const p = new Process({ target: targets.holdLock, args: [lock, held, done], module, backend: "worker" });
  await started(p);
  await seen(held, "the child holding the lock");
  assert.equal(await lock.acquire({ timeout: 0 }), false);
  assert.equal(await lock.acquire({ block: false }), false);
  assert.equal(String(lock), "Lock(owner=another process)");
  const waiting = lock.acquire({ timeout: PATIENCE_MS });
  done.set();
  assert.equal(await waiting, true, "the parent gets the lock the child released");
  assert.equal(String(lock), "Lock(owner=this process)");
  await joined(p);
  lock.release();
});

test("any process may release a Lock: the parent releases one its child left held", async () => {
  const lock = new Lock();
  const held = new Event();
  const p = new Process({ target: targets.acquireAndLeave, args: [lock, held], module, backend: "worker" });
  await started(p);
  await seen(held, "the child holding the lock");
  await joined(p);
  assert.equal(await lock.acquire({ timeout: 0 }), false, "still held after the child exited");
  lock.release();
  assert.equal(String(lock), "Lock(owner=none)");
  assert.equal(await lock.acquire({ timeout: 0 }), true);
  lock.release();
});

test("any process may release a Lock: a child releases the parent's, and a waiting child gets it", async () => {
  const lock = new Lock();
  await lock.acquire();
  const releaser = new Process({ target: targets.releaseLock, args: [lock], module, backend: "worker" });
  await started(releaser);
  await joined(releaser);
  assert.equal(String(lock), "Lock(owner=none)");
  assert.throws(() => lock.release(), RangeError, "the child's release freed it");

  // A child waiting to acquire gets the lock when the parent releases it.
  await lock.acquire();
  const ready = new Event();
  const outcome = new RawArray("i", 1);
  const waiter = new Process({
    target: targets.acquireThenRelease,
    args: [lock, ready, outcome],
    module,
    backend: "worker",
  });
  await started(waiter);
  await seen(ready, "the child about to acquire");
  lock.release();
  await joined(waiter);
  assert.equal(outcome.get(0), 1, "the child acquired the lock");
  assert.equal(String(lock), "Lock(owner=none)");
});

test("a child waiting for a Lock gets it as soon as the parent releases, after an aborted acquire", async () => {
  const lock = new Lock();
  await lock.acquire();
  const controller = new AbortController();
  const aborted = lock.acquire({ signal: controller.signal });
  controller.abort(new Error("gave up"));
  await assert.rejects(aborted, { message: "gave up" });
  const ready = new Event();
  const outcome = new RawArray("i", 1);
  const waiter = new Process({
    target: targets.acquireThenRelease,
    args: [lock, ready, outcome],
    module,
    backend: "worker",
  });
  await started(waiter);
  await seen(ready, "the child about to acquire");
  lock.release();
  // The child waits up to 30 s: joined within PATIENCE_MS means the release woke it.
  await joined(waiter);
  assert.equal(outcome.get(0), 1, "the child acquired the lock");
});

test("an RLock a child holds cannot be released by the parent (ProcessError)", async () => {
  const lock = new RLock();
  const held = new Event();
  const done = new Event();
  const p = new Process({
    target: targets.holdRLockDeep,
    args: [lock, 2, held, done],
    module,
    backend: "worker",
  });
  await started(p);
  await seen(held, "the child holding the RLock");
  assert.equal(String(lock), "RLock(another process, 2)");
  assert.throws(() => lock.release(), {
    name: "ProcessError",
    message: /does not hold it: held by another process/,
  });
  assert.equal(await lock.acquire({ timeout: 0 }), false, "the parent does not re-enter the child's hold");
  assert.equal(String(lock), "RLock(another process, 2)", "the failed release changed nothing");
  for (const options of BAD_OPTIONS) {
    await assert.rejects(lock.acquire(options as never), { name: "TypeError", message: /^RLock\.acquire: / });
  }
  const waiting = lock.acquire({ timeout: PATIENCE_MS });
  done.set();
  assert.equal(await waiting, true);
  assert.equal(String(lock), "RLock(this process, 1)");
  await joined(p);
  lock.release();
  assert.equal(String(lock), "RLock(none, 0)");
});

test("a child cannot release an RLock the parent holds (ProcessError in the child)", async () => {
  const lock = new RLock();
  await lock.acquire();
  const outcome = new RawArray("i", 1);
  const p = new Process({
    target: targets.releaseOthersRLock,
    args: [lock, outcome],
    module,
    backend: "worker",
  });
  await started(p);
  await joined(p);
  assert.equal(outcome.get(0), 1, "1: the child's release threw a ProcessError");
  assert.equal(String(lock), "RLock(this process, 1)");
  lock.release();
});

test("a Semaphore(2) shared by 4 children never lets more than 2 in at once", async () => {
  const sem = new Semaphore(2);
  // [0] holders inside now, [1] the most inside at once, [2] entries in all.
  const counts = new RawArray("i", 3);
  const go = new Event();
  const rounds = 25;
  const children = Array.from(
    { length: 4 },
    () => new Process({ target: targets.crowd, args: [sem, counts, go, rounds], module, backend: "worker" }),
  );
  await started(...children);
  go.set();
  for (const p of children) await joined(p);
  assert.equal(counts.get(2), 4 * rounds, "every child entered every round");
  assert.equal(counts.get(0), 0, "everyone left");
  assert.ok(counts.get(1) <= 2, `${counts.get(1)} were inside at once`);
  assert.equal(counts.get(1), 2, "two children did get in together");
  assert.equal(sem.getValue(), 2, "every unit was given back");
});

test("a unit a child takes from a Semaphore is gone for the parent, and the parent may give it back", async () => {
  const sem = new BoundedSemaphore(1);
  const took = new Event();
  const p = new Process({ target: targets.takeUnit, args: [sem, took], module, backend: "worker" });
  await started(p);
  await seen(took, "the child taking the unit");
  await joined(p);
  assert.equal(sem.getValue(), 0);
  assert.equal(await sem.acquire({ timeout: 0 }), false);
  assert.equal(String(sem), "BoundedSemaphore(value=0, maxvalue=1)", "the bound crossed too");
  sem.release();
  assert.equal(sem.getValue(), 1);
  assert.throws(() => sem.release(), RangeError);
});

test("Event.set() in a child wakes the parent's wait", async () => {
  const event = new Event();
  const waiting = event.wait(PATIENCE_MS);
  const p = new Process({ target: targets.setEvent, args: [event], module, backend: "worker" });
  await started(p);
  assert.equal(await waiting, true);
  assert.equal(event.isSet(), true);
  await joined(p);
});

test("Event.set() in the parent wakes every waiting child", async () => {
  const event = new Event();
  const outcome = new RawArray("i", [-1, -1, -1]);
  const ready = [new Event(), new Event(), new Event()];
  const children = ready.map((r, i) =>
    new Process({ target: targets.waitEvent, args: [event, r, outcome, i], module, backend: "worker" })
  );
  await started(...children);
  for (const [i, r] of ready.entries()) await seen(r, `child ${i} about to wait`);
  event.set();
  for (const p of children) await joined(p);
  assert.deepEqual([...outcome], [1, 1, 1]);
});

Deno.test("Lock.acquire() waiting without a timeout in the main isolate wakes for a release from a timer there", async () => {
  // Nothing else keeps the event loop going: the release's wake-up itself must.
  const lock = new Lock();
  await lock.acquire();
  const waiting = lock.acquire();
  setTimeout(() => lock.release(), 10);
  assert.equal(await waiting, true);
  lock.release();
});
