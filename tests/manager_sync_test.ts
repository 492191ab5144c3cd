/**
 * A manager's Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition
 * and Barrier, through their proxies: Python's results and errors from the
 * main isolate (on a manager of each backend), then shared with children of
 * both backends (a subprocess child reaches the manager over its socket, a
 * worker child through shared memory). Who holds a lock is the process that
 * called: within one process every async task is the same caller.
 *
 * Nothing sleeps to synchronize: a child tells the test where it is
 * through a queue or an Event proxy, and a call made after another on the
 * same connection is answered after it, so "the wait is in the manager" is
 * a later call's answer.
 */

import assert from "node:assert/strict";
import {
  ActorExitedError,
  type Backend,
  BarrierProxy,
  BrokenBarrierError,
  type ConditionProxy,
  EventProxy,
  LockProxy,
  Manager,
  Process,
  ProcessError,
  ProcessTimeoutError,
  Queue,
  RLockProxy,
  SemaphoreProxy,
} from "../mod.ts";
import { BACKENDS, joined, PATIENCE_MS, processTest as test, QUICK_MS, started, within } from "./_helpers.ts";
import * as targets from "./testdata/manager_sync_targets.ts";

const module = targets.MODULE;

/**
 * How long a waiter that should not be notified waits before it times out:
 * long enough that the notify, which follows at once, comes first even on a
 * slow machine.
 */
const UNNOTIFIED_MS = 2_000;

/** A started manager on `backend`, with the Gauge type registered. */
function startManager(backend: Backend = "worker"): Promise<Manager> {
  const manager = new Manager({ backend });
  manager.register("Gauge", targets.gauge, { module });
  return manager.start();
}

/** A child running `target` of the targets module. */
function child<Args extends unknown[]>(
  target: (...args: Args) => unknown,
  args: NoInfer<Args>,
  backend: Backend,
): Process {
  return new Process({ target, args, module, backend });
}

/** Asserts that `promise` rejects with an error of exactly class `kind`, matching `message`. */
async function rejectsWith(
  promise: Promise<unknown>,
  kind: new (...args: never[]) => Error,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(within(promise), (error) => {
    assert.ok(error instanceof kind, `${String(error)} is a ${kind.name}`);
    assert.equal(Object.getPrototypeOf(error), kind.prototype, `${String(error)} is exactly a ${kind.name}`);
    if (message) assert.match((error as Error).message, message);
    return true;
  });
}

/** Asserts that `promise` rejects with exactly `reason`. */
async function rejectsWithReason(promise: Promise<unknown>, reason: unknown): Promise<void> {
  await assert.rejects(within(promise), (error) => {
    assert.equal(error, reason);
    return true;
  });
}

/** Runs `fn` and gives how long it took, in ms. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, performance.now() - start];
}

/** How a barrier wait settled. */
type Settled = { index: number } | { error: unknown };

function settle(waiting: Promise<number>): Promise<Settled> {
  return within(waiting).then((index) => ({ index }), (error: unknown) => ({ error }));
}

/** Asserts that `settled` is a rejection with a BrokenBarrierError, rebuilt here so instanceof works. */
function assertBroken(settled: Settled, what: string): void {
  assert.ok("error" in settled, `${what}: rejected, not ${JSON.stringify(settled)}`);
  const { error } = settled;
  assert.ok(error instanceof BrokenBarrierError, `${what}: ${String(error)} is a BrokenBarrierError`);
  assert.ok(error instanceof ProcessError, `${what}: a BrokenBarrierError is a ProcessError`);
  assert.equal(error.name, "BrokenBarrierError");
}

/** Passes `barrier` once with `parties` waits from this isolate; the sorted indexes. */
async function passOnce(barrier: BarrierProxy, parties: number): Promise<number[]> {
  const waits = Array.from({ length: parties }, () => barrier.wait(PATIENCE_MS));
  return (await within(Promise.all(waits))).toSorted();
}

/** Waiters started by {@linkcode startWaiters}. */
interface Waiters {
  /** Resolves once the last waiter has the lock and has called `wait()`; the others wait already. */
  readonly allWaiting: Promise<void>;
  /** What each waiter's `wait()` resolved to. */
  readonly results: Promise<boolean[]>;
}

/**
 * Starts `count` async tasks that each take the condition's lock (a Lock,
 * so they take turns) and wait on it with `timeoutMs`. The lock is free for
 * another task only once the last of them waits.
 */
function startWaiters(cond: ConditionProxy, count: number, timeoutMs: number): Waiters {
  const { promise: allWaiting, resolve } = Promise.withResolvers<void>();
  let ready = 0;
  const results = Array.from({ length: count }, async () => {
    assert.equal(await cond.acquire({ timeout: PATIENCE_MS }), true);
    try {
      const waiting = cond.wait(timeoutMs);
      if (++ready === count) resolve();
      return await waiting;
    } finally {
      await cond.release();
    }
  });
  return { allWaiting, results: within(Promise.all(results), timeoutMs + PATIENCE_MS) };
}

function woken(results: boolean[]): number {
  return results.filter(Boolean).length;
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

/** What a child reports for an error. */
type Caught = targets.Caught;

/** The error of a child's outcome, failing when it did not reject. */
function errorOf(outcome: unknown, what: string): Caught {
  assert.ok(outcome && typeof outcome === "object" && "error" in outcome, `${what} rejected`);
  return (outcome as { error: Caught }).error;
}

// ---------------------------------------------------------------------------
// From the main isolate, on a manager of each backend
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  const managed = (name: string, fn: (manager: Manager) => Promise<void>) =>
    test(`[${backend} manager] ${name}`, async () => {
      await using manager = await startManager(backend);
      await fn(manager);
    });

  // --- Lock ---

  managed(
    "LockProxy.acquire() resolves true when free and false, not an error, when the manager's timeout passes",
    async (manager) => {
      const lock = await manager.lock();
      assert.ok(lock instanceof LockProxy);
      assert.ok(!(lock instanceof RLockProxy));
      assert.equal(lock.typeid, "Lock");
      assert.equal(await lock.locked(), false);
      assert.equal(await lock.acquire(), true);
      assert.equal(await lock.locked(), true);
      // Not re-entrant: the process that holds it waits, and times out.
      const [late, waited] = await timed(() => lock.acquire({ timeout: 50 }));
      assert.equal(late, false);
      assert.ok(waited >= 45, `the acquire waited for its timeout (${Math.round(waited)} ms)`);
      await lock.release();
      assert.equal(await lock.acquire({ timeout: 50 }), true);
      await lock.release();
      assert.equal(await lock.locked(), false);
    },
  );

  managed(
    "LockProxy.acquire(): block false does not wait and ignores the timeout; a negative timeout counts as 0",
    async (manager) => {
      const lock = await manager.lock();
      assert.equal(await lock.acquire({ block: false }), true);
      const [results, elapsed] = await timed(async () => [
        await lock.acquire({ block: false, timeout: 5_000 }),
        await lock.acquire({ block: false, timeout: -1 }),
        await lock.acquire({ timeout: -100 }),
        await lock.acquire({ timeout: 0 }),
      ]);
      assert.deepEqual(results, [false, false, false, false]);
      assert.ok(elapsed < QUICK_MS, `none of them waited (${Math.round(elapsed)} ms)`);
      await lock.release();
      assert.equal(await lock.acquire({ block: false, timeout: 5_000 }), true);
      await lock.release();
      assert.equal(await lock.acquire({ timeout: -1 }), true, "a negative timeout on a free lock takes it");
      await lock.release();
    },
  );

  managed(
    "LockProxy.release() of an unlocked Lock rejects with a RangeError and changes nothing",
    async (manager) => {
      const lock = await manager.lock();
      await rejectsWith(lock.release(), RangeError, /not locked/);
      await lock.acquire();
      assert.equal(await lock.release(), undefined);
      await rejectsWith(lock.release(), RangeError, /not locked/);
      // The failed releases changed nothing: the lock is free, once.
      assert.equal(await lock.acquire({ block: false }), true);
      assert.equal(await lock.acquire({ block: false }), false);
      await lock.release();
      assert.equal(await lock.locked(), false);
    },
  );

  managed("LockProxy: waiting acquires are granted in turn, each as the holder releases", async (manager) => {
    const lock = await manager.lock();
    await lock.acquire();
    const first = lock.acquire({ timeout: PATIENCE_MS });
    // A second waiter with no timeout at all.
    const second = lock.acquire();
    // A Lock taken by one task may be released by another (here, this one).
    await lock.release();
    assert.equal(await within(first), true);
    assert.equal(await lock.locked(), true, "handed straight to the first waiter");
    await lock.release();
    assert.equal(await within(second), true);
    assert.equal(await lock.acquire({ block: false }), false, "the last waiter holds it");
    await lock.release();
    assert.equal(await lock.locked(), false);
  });

  managed(
    "LockProxy.acquire() aborted while waiting rejects with the signal's reason and takes nothing",
    async (manager) => {
      const lock = await manager.lock();
      await lock.acquire();
      const controller = new AbortController();
      const reason = new Error("stop waiting");
      const aborted = lock.acquire({ signal: controller.signal });
      assert.equal(await lock.locked(), true, "the acquire waits in the manager");
      controller.abort(reason);
      await rejectsWithReason(aborted, reason);
      // A waiter after the aborted one gets the lock as soon as it is released.
      const [got, elapsed] = await timed(async () => {
        const waiting = lock.acquire({ timeout: PATIENCE_MS });
        await lock.release();
        return await waiting;
      });
      assert.equal(got, true);
      assert.ok(elapsed < PATIENCE_MS / 2, `the waiter took ${Math.round(elapsed)} ms to see the release`);
      await lock.release();
      assert.equal(await lock.locked(), false, "the aborted acquire did not take it");

      // An already-aborted signal rejects at once, even on a free lock, and takes nothing.
      await rejectsWithReason(lock.acquire({ signal: AbortSignal.abort(reason) }), reason);
      await rejectsWithReason(lock.hold({ signal: AbortSignal.abort(reason) }), reason);
      assert.equal(await lock.locked(), false);

      // An abort that comes after the manager granted the lock gives it back.
      const raced = new AbortController();
      const granted = lock.acquire({ signal: raced.signal });
      raced.abort(reason);
      await rejectsWithReason(granted, reason);
      assert.equal(await lock.locked(), false, "the grant that raced the abort was given back");
      assert.equal(await lock.acquire({ block: false }), true);
      await lock.release();
    },
  );

  managed(
    "LockProxy.acquire() and hold() reject a bad option with a TypeError, free or held, and take nothing",
    async (manager) => {
      const lock = await manager.lock();
      for (const held of [false, true]) {
        for (const options of BAD_OPTIONS) {
          await assert.rejects(within(lock.acquire(options as never)), TypeError, Deno.inspect(options));
          await assert.rejects(within(lock.hold(options as never)), TypeError);
        }
        assert.equal(await lock.locked(), held, "no rejected acquire took the lock");
        if (!held) await lock.acquire();
      }
      await lock.release();
      await rejectsWith(lock.release(), RangeError);
    },
  );

  managed("LockProxy.hold() gives a guard that releases once, however the block ends", async (manager) => {
    const lock = await manager.lock();
    {
      await using _held = await lock.hold();
      assert.equal(await lock.locked(), true);
      assert.equal(await lock.acquire({ timeout: 0 }), false);
    }
    assert.equal(await lock.locked(), false);
    await assert.rejects(
      (async () => {
        await using _held = await lock.hold({ timeout: PATIENCE_MS });
        throw new Error("inside");
      })(),
      { message: "inside" },
    );
    assert.equal(await lock.locked(), false, "the throwing block released it");
    // Disposing twice releases once: the second dispose does not reject with a RangeError.
    const guard = await lock.hold();
    await guard[Symbol.asyncDispose]();
    await guard[Symbol.asyncDispose]();
    assert.equal(await lock.acquire({ block: false }), true);
    assert.equal(await lock.acquire({ block: false }), false, "released once, so held once now");
    await lock.release();
  });

  managed(
    "LockProxy.hold() rejects with ProcessTimeoutError when the lock is not free in time",
    async (manager) => {
      const lock = await manager.lock();
      await lock.acquire();
      await rejectsWith(
        lock.hold({ timeout: 20 }),
        ProcessTimeoutError,
        /^Cannot hold the Lock as it was not free within 20 ms/,
      );
      await rejectsWith(
        lock.hold({ block: false }),
        ProcessTimeoutError,
        /^Cannot hold the Lock as it is taken: block is false/,
      );
      const reason = new Error("aborted hold");
      await rejectsWithReason(lock.hold({ signal: AbortSignal.abort(reason) }), reason);
      await lock.release();
      await rejectsWith(lock.release(), RangeError, undefined);
    },
  );

  // --- RLock ---

  managed("RLockProxy: the holding process re-enters and must release as many times", async (manager) => {
    const lock = await manager.rlock();
    assert.ok(lock instanceof RLockProxy && lock instanceof LockProxy);
    assert.equal(lock.typeid, "RLock");
    assert.equal(await lock.acquire(), true);
    assert.equal(await lock.acquire({ block: false }), true);
    assert.equal(await lock.acquire({ timeout: 0 }), true);
    assert.equal(await lock.acquire({ timeout: -5 }), true);
    // Another task of this process is the same caller: it re-enters too.
    assert.deepEqual(await Promise.all([lock.acquire({ block: false }), lock.acquire({ block: false })]), [
      true,
      true,
    ]);
    for (let i = 0; i < 5; i++) {
      await lock.release();
      assert.equal(await lock.locked(), true, `still held after ${i + 1} of 6 releases`);
    }
    await lock.release();
    assert.equal(await lock.locked(), false);
    await rejectsWith(
      lock.release(),
      ProcessError,
      /^Cannot release the RLock as this process does not hold it: held by none/,
    );
    // hold() nests, each guard releasing one level.
    {
      await using _outer = await lock.hold();
      {
        await using _inner = await lock.hold({ timeout: 0 });
      }
      assert.equal(await lock.locked(), true, "the outer level is still held");
    }
    assert.equal(await lock.locked(), false);
  });

  managed(
    "RLockProxy.acquire() rejects a bad option or an aborted signal, even when it would re-enter",
    async (manager) => {
      const lock = await manager.rlock();
      const reason = new Error("already aborted");
      for (const held of [false, true]) {
        for (const options of BAD_OPTIONS) {
          await assert.rejects(within(lock.acquire(options as never)), TypeError, Deno.inspect(options));
        }
        await rejectsWithReason(lock.acquire({ signal: AbortSignal.abort(reason) }), reason);
        assert.equal(await lock.locked(), held, "nothing was taken");
        if (!held) await lock.acquire();
      }
      await lock.release();
      assert.equal(await lock.locked(), false, "held once: one release frees it");
    },
  );

  // --- Semaphore and BoundedSemaphore ---

  managed(
    "SemaphoreProxy: acquire and release move getValue(), which may pass the initial value",
    async (manager) => {
      const sem = await manager.semaphore(2);
      assert.ok(sem instanceof SemaphoreProxy);
      assert.equal(sem.typeid, "Semaphore");
      assert.equal(await sem.getValue(), 2);
      assert.equal(await sem.acquire(), true);
      assert.equal(await sem.acquire(), true);
      assert.equal(await sem.getValue(), 0);
      assert.equal(await sem.acquire({ block: false }), false);
      const [late, waited] = await timed(() => sem.acquire({ timeout: 50 }));
      assert.equal(late, false);
      assert.ok(waited >= 45, `the acquire waited for its timeout (${Math.round(waited)} ms)`);
      const [results, elapsed] = await timed(async () => [
        await sem.acquire({ block: false, timeout: 5_000 }),
        await sem.acquire({ timeout: -100 }),
      ]);
      assert.deepEqual(results, [false, false]);
      assert.ok(elapsed < QUICK_MS, `neither waited (${Math.round(elapsed)} ms)`);
      for (const value of [1, 2, 3, 4]) {
        assert.equal(await sem.release(), undefined);
        assert.equal(await sem.getValue(), value);
      }
      assert.equal(await (await manager.semaphore()).getValue(), 1, "the default value is 1");
      assert.equal(await (await manager.semaphore(0)).getValue(), 0);
      for (const bad of [-1, 1.5, NaN]) {
        await rejectsWith(manager.semaphore(bad), RangeError, /integer >= 0/);
        await rejectsWith(manager.boundedSemaphore(bad), RangeError);
      }
    },
  );

  managed(
    "BoundedSemaphore: a release above the initial value rejects with a RangeError and changes nothing",
    async (manager) => {
      const sem = await manager.boundedSemaphore(2);
      assert.ok(sem instanceof SemaphoreProxy);
      assert.equal(sem.typeid, "BoundedSemaphore");
      await rejectsWith(sem.release(), RangeError, /above its initial value/);
      assert.equal(await sem.getValue(), 2);
      await sem.acquire();
      await sem.release();
      await rejectsWith(sem.release(), RangeError);
      assert.equal(await sem.getValue(), 2);
      await rejectsWith((await manager.boundedSemaphore()).release(), RangeError, undefined);
    },
  );

  managed(
    "SemaphoreProxy: waiters wake one per release; an aborted acquire takes nothing",
    async (manager) => {
      const sem = await manager.semaphore(0);
      const first = sem.acquire({ timeout: PATIENCE_MS });
      const second = sem.acquire({ timeout: PATIENCE_MS });
      await sem.release();
      assert.equal(await within(first), true, "the first waiter got the first unit");
      assert.equal(await sem.getValue(), 0, "the unit went to the waiter, not to the count");
      await sem.release();
      assert.equal(await within(second), true);
      assert.equal(await sem.getValue(), 0);

      const controller = new AbortController();
      const reason = new Error("stop waiting");
      const aborted = sem.acquire({ signal: controller.signal });
      assert.equal(await sem.getValue(), 0, "the acquire waits in the manager");
      controller.abort(reason);
      await rejectsWithReason(aborted, reason);
      await sem.release();
      assert.equal(await sem.getValue(), 1, "the aborted acquire took nothing");
      assert.equal(await sem.acquire({ block: false }), true);
      const [got, elapsed] = await timed(async () => {
        const next = sem.acquire({ timeout: PATIENCE_MS });
        await sem.release();
        return await next;
      });
      assert.equal(got, true);
      assert.ok(elapsed < PATIENCE_MS / 2, `the waiter took ${Math.round(elapsed)} ms to see the release`);
      assert.equal(await sem.getValue(), 0);
    },
  );

  managed(
    "SemaphoreProxy.hold() gives the unit back on dispose and rejects with ProcessTimeoutError on timeout",
    async (manager) => {
      const sem = await manager.boundedSemaphore(1);
      {
        await using _held = await sem.hold();
        assert.equal(await sem.getValue(), 0);
        await rejectsWith(
          sem.hold({ timeout: 20 }),
          ProcessTimeoutError,
          /^Cannot hold the BoundedSemaphore /,
        );
        await rejectsWith(sem.hold({ block: false }), ProcessTimeoutError, /block is false/);
      }
      assert.equal(await sem.getValue(), 1);
      const guard = await sem.hold();
      await guard[Symbol.asyncDispose]();
      await guard[Symbol.asyncDispose]();
      assert.equal(await sem.getValue(), 1, "a second dispose gives nothing back (no RangeError either)");
      const plain = await manager.semaphore(0);
      await rejectsWith(plain.hold({ timeout: 0 }), ProcessTimeoutError, /^Cannot hold the Semaphore /);
      assert.equal(await plain.getValue(), 0);
    },
  );

  // --- Event ---

  managed(
    "EventProxy: set, clear and isSet; wait() resolves true once set and false on timeout",
    async (manager) => {
      const event = await manager.event();
      assert.ok(event instanceof EventProxy);
      assert.equal(event.typeid, "Event");
      assert.equal(await event.isSet(), false);
      const [late, waited] = await timed(() => event.wait(50));
      assert.equal(late, false);
      assert.ok(waited >= 45, `the wait waited for its timeout (${Math.round(waited)} ms)`);
      assert.equal(await event.wait(0), false);
      assert.equal(await event.wait(-10), false, "a negative timeout only looks");
      await event.set();
      assert.equal(await event.isSet(), true);
      assert.equal(await event.wait(0), true);
      assert.equal(await event.wait(-10), true);
      assert.equal(await event.wait(), true, "no timeout on a set event returns at once");
      await event.set();
      assert.equal(await event.isSet(), true, "setting twice keeps it set");
      await event.clear();
      assert.equal(await event.isSet(), false);
      assert.equal(await event.wait(20), false, "a cleared event makes waits wait again");
      await event.clear();
      assert.equal(await event.isSet(), false, "clearing twice keeps it clear");
    },
  );

  managed(
    "EventProxy.set() wakes every waiter; an aborted wait rejects with the signal's reason",
    async (manager) => {
      const event = await manager.event();
      const controller = new AbortController();
      const reason = new Error("stop waiting");
      const aborted = event.wait(undefined, { signal: controller.signal });
      const waiters = [event.wait(PATIENCE_MS), event.wait(), event.wait(PATIENCE_MS)];
      controller.abort(reason);
      await rejectsWithReason(aborted, reason);
      await rejectsWithReason(event.wait(PATIENCE_MS, { signal: AbortSignal.abort(reason) }), reason);
      const [results, elapsed] = await timed(async () => {
        await event.set();
        return await within(Promise.all(waiters));
      });
      assert.deepEqual(results, [true, true, true]);
      assert.ok(elapsed < PATIENCE_MS / 2, "woken by set(), not by the timeout");
      for (const timeout of ["10", NaN, 10n]) {
        await assert.rejects(within(event.wait(timeout as never)), TypeError, String(timeout));
      }
    },
  );

  // --- Condition ---

  managed(
    "ConditionProxy: wait, waitFor, notify and notifyAll without holding the lock reject with ProcessError",
    async (manager) => {
      const conditions = [
        await manager.condition(),
        await manager.condition(await manager.lock()),
        await manager.condition(await manager.rlock()),
      ];
      for (const cond of conditions) {
        await rejectsWith(
          cond.wait(10),
          ProcessError,
          /^Cannot wait on the Condition as this process does not hold its lock/,
        );
        await rejectsWith(cond.waitFor(() => false, 10), ProcessError);
        await rejectsWith(cond.notify(), ProcessError, /^Cannot notify on the Condition /);
        await rejectsWith(cond.notifyAll(), ProcessError);
        // Held, then released: not held any more.
        await cond.acquire();
        await cond.notify();
        await cond.notifyAll();
        await cond.release();
        await rejectsWith(cond.wait(10), ProcessError, /does not hold its lock/);
        await rejectsWith(cond.notify(), ProcessError, /does not hold its lock/);
        // waitFor with a predicate already true needs no wait, as in Python.
        assert.equal(await cond.waitFor(() => 1), 1);
      }
    },
  );

  managed(
    "Manager.condition(): the default lock is an RLock; a given lock is that very lock; anything else is a TypeError",
    async (manager) => {
      const rcond = await manager.condition();
      assert.equal(rcond.typeid, "Condition");
      assert.equal(await rcond.acquire(), true);
      assert.equal(await rcond.acquire({ block: false }), true, "an RLock: the holder re-enters");
      await rcond.release();
      await rcond.release();
      await rejectsWith(rcond.release(), ProcessError, /held by none/);

      const lock = await manager.lock();
      const cond = await manager.condition(lock);
      {
        await using _held = await cond.hold();
        assert.equal(await lock.locked(), true, "the condition's lock is the lock given");
        assert.equal(await cond.acquire({ block: false }), false, "a Lock: not re-entrant");
      }
      assert.equal(await lock.locked(), false);
      await lock.acquire();
      await rejectsWith(cond.hold({ timeout: 20 }), ProcessTimeoutError, /^Cannot hold the Condition /);
      await cond.release();
      assert.equal(await lock.locked(), false, "releasing the condition released the lock");

      for (const notALock of [await manager.semaphore(), await manager.event(), await manager.dict()]) {
        await rejectsWith(
          manager.condition(notALock as never),
          TypeError,
          /Lock or RLock of the same manager/,
        );
      }
    },
  );

  managed("ConditionProxy.wait() resolves false on timeout, with the lock held again", async (manager) => {
    const lock = await manager.lock();
    const cond = await manager.condition(lock);
    await cond.acquire();
    const [notified, waited] = await timed(() => cond.wait(50));
    assert.equal(notified, false);
    assert.ok(waited >= 45, `the wait ran to its timeout (${Math.round(waited)} ms)`);
    assert.equal(await lock.acquire({ block: false }), false, "the lock is held again");
    const [quick, elapsed] = await timed(() => cond.wait(-10));
    assert.equal(quick, false, "a negative timeout counts as 0");
    assert.ok(elapsed < QUICK_MS);
    await cond.release();
    assert.equal(await lock.locked(), false, "one release frees it");
  });

  managed(
    "ConditionProxy.wait() lets go of every level of an RLock while it waits, and an abort restores them",
    async (manager) => {
      const rlock = await manager.rlock();
      const cond = await manager.condition(rlock);
      await cond.acquire();
      await cond.acquire();
      const controller = new AbortController();
      const reason = new Error("stop waiting");
      const waiting = cond.wait(PATIENCE_MS, { signal: controller.signal });
      assert.equal(await rlock.locked(), false, "while it waits, the RLock is free");
      controller.abort(reason);
      await rejectsWithReason(waiting, reason);
      assert.equal(await rlock.locked(), true, "held again after the abort");
      await cond.release();
      assert.equal(await rlock.locked(), true, "both levels came back");
      await cond.release();
      assert.equal(await rlock.locked(), false);
      await rejectsWith(cond.release(), ProcessError, /held by none/);
    },
  );

  managed(
    "ConditionProxy.notify(n) wakes at most n of the current waiters; the rest time out",
    async (manager) => {
      const cond = await manager.condition(await manager.lock());
      for (const n of [1, 2]) {
        const waiters = startWaiters(cond, 3, UNNOTIFIED_MS);
        await within(waiters.allWaiting);
        {
          await using _held = await cond.hold({ timeout: PATIENCE_MS });
          await cond.notify(n);
        }
        const results = await waiters.results;
        assert.equal(woken(results), n, `notify(${n}): ${results}`);
      }
    },
  );

  managed(
    "ConditionProxy.notifyAll() wakes every waiter; a notify with none waiting is kept for no later one",
    async (manager) => {
      const lock = await manager.lock();
      const cond = await manager.condition(lock);
      const waiters = startWaiters(cond, 4, PATIENCE_MS);
      await within(waiters.allWaiting);
      const [results, elapsed] = await timed(async () => {
        {
          await using _held = await cond.hold({ timeout: PATIENCE_MS });
          await cond.notifyAll();
        }
        return await waiters.results;
      });
      assert.deepEqual(results, [true, true, true, true]);
      assert.ok(elapsed < PATIENCE_MS / 2, `the waiters took ${Math.round(elapsed)} ms to wake`);
      assert.equal(await lock.locked(), false);

      {
        await using _held = await cond.hold();
        await cond.notify();
        await cond.notify(5);
        await cond.notifyAll();
        const [late, waited] = await timed(() => cond.wait(50));
        assert.equal(late, false, "no notify was kept for a later waiter");
        assert.ok(waited >= 45, `the wait ran to its timeout (${Math.round(waited)} ms)`);
      }
      // notify(3) with one waiter wakes that one and keeps nothing for the next.
      const one = startWaiters(cond, 1, PATIENCE_MS);
      await within(one.allWaiting);
      {
        await using _held = await cond.hold({ timeout: PATIENCE_MS });
        await cond.notify(3);
      }
      assert.deepEqual(await one.results, [true]);
      assert.deepEqual(await startWaiters(cond, 1, 50).results, [false], "a later waiter is not woken");
    },
  );

  managed(
    "ConditionProxy.waitFor() returns the predicate's value: at once, after notifies, or falsy on timeout",
    async (manager) => {
      const cond = await manager.condition(await manager.lock());
      await cond.acquire();
      assert.equal(await cond.waitFor(() => "ready"), "ready", "already true: no wait");
      const [never, waited] = await timed(() => cond.waitFor(() => 0, 50));
      assert.equal(never, 0, "the last (falsy) value, after the timeout");
      assert.ok(waited >= 45, `waitFor ran to its timeout (${Math.round(waited)} ms)`);
      assert.equal(await cond.waitFor(() => "", 0), "");
      await cond.release();

      // Made true by another task: a notify that leaves it false does not end the wait.
      const flag = await manager.value("i", 0);
      let checks = 0;
      const waiting = (async () => {
        await using _held = await cond.hold({ timeout: PATIENCE_MS });
        return await cond.waitFor(async () => (checks++, await flag.get()), PATIENCE_MS);
      })();
      for (const value of [0, 42]) {
        await using _held = await cond.hold({ timeout: PATIENCE_MS });
        await flag.set(value);
        await cond.notifyAll();
      }
      assert.equal(await within(waiting), 42);
      // The task asked for the lock first, so it checked 0 and waited before the first notify.
      assert.ok(checks >= 2, `the predicate was checked again after a notify (${checks} checks)`);
    },
  );

  managed(
    "ConditionProxy.wait() aborted rejects with the signal's reason, holds the lock again, and takes no later notify",
    async (manager) => {
      const lock = await manager.lock();
      const cond = await manager.condition(lock);
      const reason = new Error("stop waiting");
      await cond.acquire();
      const controller = new AbortController();
      const waiting = cond.wait(PATIENCE_MS, { signal: controller.signal });
      assert.equal(await lock.locked(), false, "it waits, with the lock let go");
      controller.abort(reason);
      await rejectsWithReason(waiting, reason);
      assert.equal(await lock.acquire({ block: false }), false, "the lock is held again");
      // An already-aborted signal rejects at once, with the lock still held.
      await rejectsWithReason(cond.wait(PATIENCE_MS, { signal: AbortSignal.abort(reason) }), reason);
      await rejectsWithReason(
        cond.waitFor(() => false, PATIENCE_MS, { signal: AbortSignal.abort(reason) }),
        reason,
      );
      assert.equal(await lock.locked(), true);
      await cond.release();
      assert.equal(await lock.locked(), false);
      // The aborted waiter takes no later notify: it goes to a live waiter.
      const live = startWaiters(cond, 1, PATIENCE_MS);
      await within(live.allWaiting);
      {
        await using _held = await cond.hold({ timeout: PATIENCE_MS });
        await cond.notify(1);
      }
      assert.deepEqual(await live.results, [true]);
    },
  );

  // --- Barrier ---

  managed(
    "BarrierProxy.wait() hands out each index from 0 to parties - 1 once per cycle, over several cycles",
    async (manager) => {
      const parties = 3, cycles = 3;
      const barrier = await manager.barrier(parties);
      assert.ok(barrier instanceof BarrierProxy);
      assert.equal(barrier.typeid, "Barrier");
      // Each party runs its own loop, so a fast one comes back while the others still leave the last cycle.
      const seen: number[][] = Array.from({ length: cycles }, () => []);
      await within(Promise.all(
        Array.from({ length: parties }, async () => {
          for (let cycle = 0; cycle < cycles; cycle++) seen[cycle]!.push(await barrier.wait(PATIENCE_MS));
        }),
      ));
      for (const [cycle, indexes] of seen.entries()) {
        assert.deepEqual(indexes.toSorted(), [0, 1, 2], `cycle ${cycle}`);
      }
      assert.equal(await barrier.nWaiting(), 0);
      assert.equal(await barrier.broken(), false);
      const one = await manager.barrier(1);
      assert.deepEqual(
        [await one.wait(), await one.wait(0), await one.wait()],
        [0, 0, 0],
        "Barrier(1) never waits",
      );
      for (const bad of [0, -1, 1.5]) await rejectsWith(manager.barrier(bad), RangeError, /positive integer/);
    },
  );

  managed("BarrierProxy.nWaiting() counts the parties of the current cycle", async (manager) => {
    const barrier = await manager.barrier(3);
    assert.equal(await barrier.nWaiting(), 0);
    const first = barrier.wait(PATIENCE_MS);
    assert.equal(await barrier.nWaiting(), 1);
    const second = barrier.wait(PATIENCE_MS);
    assert.equal(await barrier.nWaiting(), 2);
    const third = barrier.wait(PATIENCE_MS);
    assert.deepEqual(await within(Promise.all([first, second, third])), [0, 1, 2]);
    assert.equal(await barrier.nWaiting(), 0, "a new cycle starts empty");
    assert.equal(await barrier.broken(), false);
  });

  managed(
    "BarrierProxy.wait() timeout breaks the barrier for every party, now and later, until reset()",
    async (manager) => {
      const barrier = await manager.barrier(3);
      const patient = settle(barrier.wait());
      const [impatient, waited] = await timed(() => settle(barrier.wait(50)));
      assertBroken(impatient, "the party that timed out");
      assert.ok(waited >= 45, `it waited for its timeout (${Math.round(waited)} ms)`);
      assertBroken(await patient, "the party with no timeout");
      assert.equal(await barrier.broken(), true);
      assert.equal(await barrier.nWaiting(), 0);
      const [later, elapsed] = await timed(() => settle(barrier.wait(PATIENCE_MS)));
      assertBroken(later, "a later party");
      assert.ok(elapsed < QUICK_MS, "a broken barrier rejects at once");
      await barrier.reset();
      assert.equal(await barrier.broken(), false);
      assert.deepEqual(await passOnce(barrier, 3), [0, 1, 2], "usable again after reset()");
    },
  );

  managed(
    "Manager.barrier()'s timeout is the default of wait(), which a wait's own timeout overrides",
    async (manager) => {
      const barrier = await manager.barrier(2, { timeout: 50 });
      const [alone, waited] = await timed(() => settle(barrier.wait()));
      assertBroken(alone, "a party alone past the default timeout");
      assert.ok(waited >= 45, `it waited for the default timeout (${Math.round(waited)} ms)`);
      await barrier.reset();
      const patient = settle(barrier.wait(PATIENCE_MS));
      // Let the default timeout pass (a timed wait in the manager, not a synchronization).
      assert.equal(await (await manager.event()).wait(150), false);
      assert.equal(await barrier.broken(), false, "the wait's own timeout overrode the default");
      assert.equal(await barrier.nWaiting(), 1);
      assert.equal(await barrier.wait(PATIENCE_MS), 1);
      assert.deepEqual(await patient, { index: 0 });
    },
  );

  managed(
    "BarrierProxy.abort() breaks the barrier for the parties waiting and every later one",
    async (manager) => {
      const barrier = await manager.barrier(3);
      const waiting = [settle(barrier.wait(PATIENCE_MS)), settle(barrier.wait())];
      assert.equal(await barrier.nWaiting(), 2);
      await barrier.abort();
      for (const [i, outcome] of (await Promise.all(waiting)).entries()) {
        assertBroken(outcome, `waiting party ${i}`);
      }
      assert.equal(await barrier.broken(), true);
      assert.equal(await barrier.nWaiting(), 0);
      assertBroken(await settle(barrier.wait(PATIENCE_MS)), "a later party");
      await barrier.reset();
      assert.deepEqual(await passOnce(barrier, 3), [0, 1, 2]);
    },
  );

  managed(
    "BarrierProxy.reset() while parties wait sends them BrokenBarrierError and leaves the barrier usable",
    async (manager) => {
      const barrier = await manager.barrier(3);
      const waiting = [settle(barrier.wait(PATIENCE_MS)), settle(barrier.wait(PATIENCE_MS))];
      assert.equal(await barrier.nWaiting(), 2);
      await barrier.reset();
      for (const [i, outcome] of (await Promise.all(waiting)).entries()) {
        assertBroken(outcome, `waiting party ${i}`);
      }
      assert.equal(await barrier.broken(), false, "reset, not broken");
      assert.equal(await barrier.nWaiting(), 0);
      assert.deepEqual(await passOnce(barrier, 3), [0, 1, 2]);
    },
  );

  managed(
    "BarrierProxy.wait() aborted by a signal rejects with its reason and breaks the barrier for every party",
    async (manager) => {
      const barrier = await manager.barrier(3);
      const reason = new Error("stop waiting");
      // An already-aborted signal rejects at once and leaves the barrier alone.
      await rejectsWithReason(barrier.wait(PATIENCE_MS, { signal: AbortSignal.abort(reason) }), reason);
      assert.equal(await barrier.broken(), false);
      assert.equal(await barrier.nWaiting(), 0);
      const other = settle(barrier.wait(PATIENCE_MS));
      const controller = new AbortController();
      const aborted = barrier.wait(PATIENCE_MS, { signal: controller.signal });
      assert.equal(await barrier.nWaiting(), 2);
      controller.abort(reason);
      await rejectsWithReason(aborted, reason);
      assertBroken(await other, "the other party");
      assert.equal(await barrier.broken(), true);
    },
  );

  // --- Shutdown ---

  test(`[${backend} manager] Waits in flight reject with ActorExitedError when the manager shuts down`, async () => {
    const manager = await startManager(backend);
    try {
      const lock = await manager.lock();
      const sem = await manager.semaphore(0);
      const event = await manager.event();
      const cond = await manager.condition();
      const barrier = await manager.barrier(2);
      await lock.acquire();
      await cond.acquire();
      // Checked from the start: each wait rejects while shutdown() is still going on.
      const pending = [lock.acquire(), sem.acquire(), event.wait(), cond.wait(), barrier.wait()].map((
        waiting: Promise<unknown>,
      ) => assert.rejects(within(waiting), ActorExitedError));
      assert.equal(await barrier.nWaiting(), 1, "the waits are in the manager");
      await manager.shutdown();
      await Promise.all(pending);
      await assert.rejects(within(lock.release()), ActorExitedError, "and every later call");
    } finally {
      await manager.shutdown();
    }
  });
}

// ---------------------------------------------------------------------------
// Across processes: children of both backends
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  test(`[${backend} manager] No lost updates: 2 worker and 2 subprocess children each add 1 to a managed Value 100 times under lock.hold()`, async () => {
    await using manager = await startManager(backend);
    const lock = await manager.lock();
    const value = await manager.value("i", 0);
    const times = 100;
    const children = ["worker", "worker", "subprocess", "subprocess"].map((childBackend) =>
      child(targets.addUnderLock, [lock, value, times], childBackend as Backend)
    );
    await started(...children);
    for (const p of children) await joined(p);
    assert.equal(await value.get(), 4 * times);
    assert.equal(await lock.locked(), false, "every hold was released");
  });
}

for (const [holderBackend, waiterBackend] of [["subprocess", "worker"], ["worker", "subprocess"]] as const) {
  test(`A Lock a ${holderBackend} child holds blocks a ${waiterBackend} child until the holder releases it`, async () => {
    await using manager = await startManager();
    const lock = await manager.lock();
    const [held, done, releasing] = [await manager.event(), await manager.event(), await manager.event()];
    const out = new Queue<unknown>();
    const holder = child(targets.holdLock, [lock, 1, held, done, releasing], holderBackend);
    await started(holder);
    assert.equal(await held.wait(PATIENCE_MS), true, "the holder has the lock");
    assert.equal(await lock.acquire({ timeout: 0 }), false, "the parent cannot take it either");
    const waiter = child(targets.tryThenWait, [lock, releasing, out], waiterBackend);
    await started(waiter);
    assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { blockFalse: false, zeroTimeout: false });
    assert.equal(await out.get({ timeout: PATIENCE_MS }), "waiting");
    await done.set();
    assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { got: true, afterRelease: true });
    await joined(holder);
    await joined(waiter);
    assert.equal(await lock.locked(), false);
  });
}

for (const childBackend of BACKENDS) {
  const label = `[${childBackend} child]`;

  test(`${label} Any process may release a Lock; a child's aborted acquire takes nothing`, async () => {
    await using manager = await startManager();
    const lock = await manager.lock();
    const out = new Queue<unknown>();

    // The parent releases a lock a child left held.
    const leaver = child(targets.acquireAndLeave, [lock, out], childBackend);
    await started(leaver);
    assert.equal(await out.get({ timeout: PATIENCE_MS }), true);
    await joined(leaver);
    assert.equal(await lock.acquire({ timeout: 0 }), false, "still held after the child exited");
    await lock.release();
    assert.equal(await lock.locked(), false);

    // A child releases the parent's lock.
    await lock.acquire();
    const releaser = child(targets.releaseLock, [lock, out], childBackend);
    await started(releaser);
    assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { value: undefined });
    await joined(releaser);
    assert.equal(await lock.locked(), false, "the child's release freed it");

    // A child's acquire aborted while it waits: the parent's release frees the lock.
    await lock.acquire();
    const aborter = child(targets.abortAcquire, [lock, out], childBackend);
    await started(aborter);
    assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), {
      lockedMeanwhile: true,
      rejectedWithReason: true,
    });
    await joined(aborter);
    await lock.release();
    assert.equal(await lock.locked(), false, "the aborted acquire took nothing");
    assert.equal(await lock.acquire({ block: false }), true);
    await lock.release();
  });

  test(`${label} An RLock a child holds cannot be released or re-entered by the parent, nor the parent's by a child`, async () => {
    await using manager = await startManager();
    const rlock = await manager.rlock();
    const [held, done, releasing] = [await manager.event(), await manager.event(), await manager.event()];
    const holder = child(targets.holdLock, [rlock, 2, held, done, releasing], childBackend);
    await started(holder);
    assert.equal(await held.wait(PATIENCE_MS), true, "the child holds the RLock twice");
    await rejectsWith(rlock.release(), ProcessError, /does not hold it: held by another process/);
    assert.equal(await rlock.acquire({ timeout: 0 }), false, "the parent does not re-enter the child's hold");
    assert.equal(await rlock.acquire({ block: false }), false);
    assert.equal(await rlock.locked(), true, "the failed release changed nothing");
    const waiting = rlock.acquire({ timeout: PATIENCE_MS });
    await done.set();
    assert.equal(await within(waiting), true, "the parent gets it once the child released both levels");
    await joined(holder);

    // Now the parent holds it: a child's release is refused.
    const out = new Queue<unknown>();
    const releaser = child(targets.releaseLock, [rlock, out], childBackend);
    await started(releaser);
    const error = errorOf(await out.get({ timeout: PATIENCE_MS }), "the child's release");
    assert.equal(error.name, "ProcessError");
    assert.ok(error.processError, "a ProcessError in the child too");
    assert.match(error.message, /held by another process/);
    await joined(releaser);
    assert.equal(await rlock.locked(), true);
    await rlock.release();
    assert.equal(await rlock.locked(), false);
  });

  test(`${label} Condition hand-off: the parent's notify wakes the child's waitFor, and the child's wakes the parent's`, async () => {
    await using manager = await startManager();
    const rlock = await manager.rlock();
    const cond = await manager.condition(rlock);
    const flag = await manager.value("i", 0);
    const out = new Queue<unknown>();

    // The child waits; the parent can take the lock only once the child's wait lets go of it.
    const waiter = child(targets.awaitFlag, [cond, flag, out], childBackend);
    await started(waiter);
    assert.equal(await out.get({ timeout: PATIENCE_MS }), "holding");
    assert.equal(await cond.acquire({ timeout: PATIENCE_MS }), true);
    await flag.set(7);
    await cond.notify();
    await cond.release();
    assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { got: 7 });
    await joined(waiter);
    assert.equal(await rlock.locked(), false, "the child let go of the lock");

    // The parent waits holding two levels; the child can take the lock only once both are let go.
    await flag.set(0);
    await cond.acquire();
    await cond.acquire();
    const raiser = child(targets.raiseFlag, [cond, flag, 9], childBackend);
    await started(raiser);
    assert.equal(await cond.waitFor(() => flag.get(), PATIENCE_MS), 9);
    await joined(raiser);
    await cond.release();
    assert.equal(await rlock.locked(), true, "both levels came back after the wait");
    await cond.release();
    assert.equal(await rlock.locked(), false);
  });

  test(`${label} A child that does not hold a Condition's lock gets ProcessError, even while the parent holds it`, async () => {
    await using manager = await startManager();
    const cond = await manager.condition();
    await cond.acquire();
    const out = new Queue<unknown>();
    const p = child(targets.misuseCondition, [cond, out], childBackend);
    await started(p);
    const report = await out.get({ timeout: PATIENCE_MS }) as Record<string, unknown>;
    await joined(p);
    for (const method of ["wait", "waitFor", "notify", "notifyAll", "release"]) {
      const error = errorOf(report[method], method);
      assert.equal(error.name, "ProcessError", method);
      assert.ok(error.processError, `${method}: a ProcessError in the child`);
    }
    assert.match(errorOf(report.notify, "notify").message, /does not hold its lock/);
    assert.match(errorOf(report.release, "release").message, /held by another process/);
    // The parent still holds it, and may notify.
    await cond.notify();
    await cond.release();
    await rejectsWith(cond.release(), ProcessError);
  });

  test(`${label} A child blocked in lock.acquire() rejects with ActorExitedError when the manager shuts down`, async () => {
    const manager = await startManager();
    try {
      const lock = await manager.lock();
      await lock.acquire();
      const out = new Queue<unknown>();
      const p = child(targets.acquireUntilShutdown, [lock, out], childBackend);
      await started(p);
      assert.equal(await out.get({ timeout: PATIENCE_MS }), "waiting");
      await manager.shutdown();
      // The child's acquire waits 300 s: an answer within PATIENCE_MS means the shutdown ended it.
      const error = errorOf(await out.get({ timeout: PATIENCE_MS }), "the child's acquire");
      assert.equal(error.name, "ActorExitedError");
      await joined(p);
    } finally {
      await manager.shutdown();
    }
  });

  test(`${label} A unit a child takes from a Semaphore is gone for the parent; a child's over-release of a BoundedSemaphore is a RangeError`, async () => {
    await using manager = await startManager();
    const sem = await manager.semaphore(1);
    const bounded = await manager.boundedSemaphore(1);
    const out = new Queue<unknown>();
    const p = child(targets.takeAndOverRelease, [sem, bounded, out], childBackend);
    await started(p);
    const report = await out.get({ timeout: PATIENCE_MS }) as { took: boolean; overRelease: unknown };
    await joined(p);
    assert.equal(report.took, true);
    const error = errorOf(report.overRelease, "the over-release");
    assert.equal(error.name, "RangeError");
    assert.ok(error.rangeError, "a RangeError in the child");
    assert.equal(await sem.getValue(), 0);
    assert.equal(await sem.acquire({ timeout: 0 }), false);
    await sem.release();
    assert.equal(await sem.getValue(), 1, "the parent gave it back");
    assert.equal(await bounded.getValue(), 1, "the refused release changed nothing");
  });
}

test("A Semaphore(2) shared by 2 worker and 2 subprocess children never lets more than 2 in at once", async () => {
  await using manager = await startManager();
  const sem = await manager.semaphore(2);
  const gauge = await manager.create("Gauge");
  const go = await manager.event();
  const rounds = 10;
  const children = [...BACKENDS, ...BACKENDS].map((childBackend) =>
    child(targets.crowd, [sem, gauge, go, rounds], childBackend)
  );
  await started(...children);
  await go.set();
  for (const p of children) await joined(p);
  const [inside, peak, entries] = await gauge.call<[number, number, number]>("counts");
  assert.equal(entries, 4 * rounds, "every child entered every round");
  assert.equal(inside, 0, "everyone left");
  assert.ok(peak <= 2, `${peak} were inside at once`);
  assert.equal(await sem.getValue(), 2, "every unit was given back");
});

test("Event: the parent's set() wakes a waiting worker and subprocess child, and a child's set() wakes the parent", async () => {
  await using manager = await startManager();
  const go = await manager.event();
  const back = await manager.event();
  const out = new Queue<unknown>();
  const children = BACKENDS.map((childBackend) => child(targets.waitThenSet, [go, back, out], childBackend));
  await started(...children);
  assert.deepEqual(
    [await out.get({ timeout: PATIENCE_MS }), await out.get({ timeout: PATIENCE_MS })],
    ["ready", "ready"],
  );
  const waitingBack = back.wait(PATIENCE_MS);
  await go.set();
  assert.equal(await within(waitingBack), true, "a child's set() woke the parent");
  assert.deepEqual(
    [await out.get({ timeout: PATIENCE_MS }), await out.get({ timeout: PATIENCE_MS })],
    [{ before: false, got: true }, { before: false, got: true }],
  );
  for (const p of children) await joined(p);
  assert.equal(await back.isSet(), true);
});

test("Barrier(3) with the main isolate, a worker and a subprocess child hands out 0, 1 and 2 in each of 2 cycles", async () => {
  await using manager = await startManager();
  const barrier = await manager.barrier(3);
  const out = new Queue<number[]>();
  const cycles = 2;
  const children = BACKENDS.map((childBackend) =>
    child(targets.passBarrier, [barrier, cycles, out], childBackend)
  );
  await started(...children);
  const mine: number[] = [];
  for (let cycle = 0; cycle < cycles; cycle++) mine.push(await barrier.wait(PATIENCE_MS));
  const theirs = [await out.get({ timeout: PATIENCE_MS }), await out.get({ timeout: PATIENCE_MS })];
  for (const p of children) await joined(p);
  for (let cycle = 0; cycle < cycles; cycle++) {
    const indexes = [mine[cycle], ...theirs.map((indexes) => indexes[cycle])];
    assert.deepEqual(indexes.toSorted(), [0, 1, 2], `cycle ${cycle}: ${indexes}`);
  }
  assert.equal(await barrier.nWaiting(), 0);
  assert.equal(await barrier.broken(), false);
});

test("Barrier: a child's timeout breaks it for the parent; the default timeout and abort() break it for children, as BrokenBarrierError", async () => {
  await using manager = await startManager();
  // Four parties, three come: only a timeout ends the wait.
  const shared = await manager.barrier(4);
  const byDefault = await manager.barrier(3, { timeout: 100 });
  const aborted = await manager.barrier(3);
  const out = new Queue<targets.Outcome<number>[]>();
  const parent = settle(shared.wait());
  const children = BACKENDS.map((childBackend) =>
    child(targets.waitAtBarriers, [[[shared, 100], [byDefault, null], [aborted, null]], out], childBackend)
  );
  await started(...children);
  assertBroken(await parent, "the parent, by a child's timeout");
  await aborted.abort();
  const reports = [await out.get({ timeout: PATIENCE_MS }), await out.get({ timeout: PATIENCE_MS })];
  for (const p of children) await joined(p);
  for (const [i, report] of reports.entries()) {
    for (const [j, outcome] of report.entries()) {
      const error = errorOf(outcome, `child ${i}, barrier ${j}`);
      assert.equal(error.name, "BrokenBarrierError");
      assert.ok(error.brokenBarrier, `child ${i}, barrier ${j}: a BrokenBarrierError in the child`);
      assert.ok(error.processError, `child ${i}, barrier ${j}: a ProcessError in the child`);
    }
  }
  for (const barrier of [shared, byDefault, aborted]) assert.equal(await barrier.broken(), true);
});

// ---------------------------------------------------------------------------
// Bugs found and fixed: their regression tests
// ---------------------------------------------------------------------------

// Was a bug (src/_managed_sync.ts, Line.wait): the manager's timer is
// setTimeout(settle, timeout), and a delay above 2^31 - 1 ms (Infinity
// included) fires after 1 ms, so such a wait gives up at once. The
// shared-memory Lock waits for `timeout: Infinity`, as for no timeout.
test(
  "[worker manager] LockProxy.acquire() with timeout Infinity or 2 ** 31 ms waits for the release",
  async () => {
    await using manager = await startManager();
    const lock = await manager.lock();
    const pause = await manager.event();
    await lock.acquire();
    for (const timeout of [Infinity, 2 ** 31]) {
      const waiting = lock.acquire({ timeout });
      // Let a moment pass (a timed wait in the manager), then release.
      assert.equal(await pause.wait(50), false);
      await lock.release();
      assert.equal(await within(waiting), true, `timeout ${timeout}: got the lock once released`);
    }
    await lock.release();
  },
);

// Was a bug (src/_manager_server.ts, conditionLock): the lock is looked up by its
// id alone, so another manager's lock is accepted when this manager holds a
// lock of the same id, and the Condition silently uses that one instead.
test(
  "Manager.condition() rejects a lock of another manager with a TypeError, whatever its id",
  async () => {
    await using first = await startManager();
    await using second = await startManager();
    const foreign = await first.lock();
    const own = await second.lock();
    assert.equal(String(foreign), String(own), "the same typeid and id");
    await rejectsWith(second.condition(foreign), TypeError, /Lock or RLock of the same manager/);
  },
);

// Was a bug (src/_managed_sync.ts, ManagedLock.restore): after a Condition's wait,
// restore() re-enters an RLock that another task of the same process took
// meanwhile (the same caller), then sets the depth to the waiter's, dropping
// that task's level: one release then frees a lock that should still be held.
// The shared-memory Condition gives the levels back (condition_test.ts).
test(
  "[worker manager] ConditionProxy.wait() keeps the level another task of the process took while it waited",
  async () => {
    await using manager = await startManager();
    const rlock = await manager.rlock();
    const cond = await manager.condition(rlock);
    await cond.acquire();
    await cond.acquire();
    const waiting = cond.wait(PATIENCE_MS);
    assert.equal(await rlock.locked(), false);
    assert.equal(await cond.acquire({ block: false }), true, "another task takes the free RLock");
    await cond.notify();
    await cond.release();
    assert.equal(await within(waiting), true);
    await cond.release();
    assert.equal(await rlock.locked(), true, "one of the waiter's two levels is still held");
    await cond.release();
    assert.equal(await rlock.locked(), false);
  },
);
