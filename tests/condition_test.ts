import assert from "node:assert/strict";
import { Condition, Event, Lock, Process, ProcessError, Queue, RLock, Value } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { type Caught, joined, PATIENCE_MS, within } from "./_helpers.ts";
import * as targets from "./testdata/barrier_targets.ts";

const module = targets.MODULE;

/**
 * How long a waiter that should not be notified waits before it times
 * out: long enough that the notify, which follows at once, comes first even
 * on a slow machine.
 */
const UNNOTIFIED_MS = 1_000;

/** Waiters started by {@linkcode startWaiters}. */
interface Waiters {
  /** Resolves once every waiter is inside `wait()` (the lock is then free). */
  readonly allWaiting: Promise<void>;
  /** What each waiter's `wait()` resolved to. */
  readonly results: Promise<boolean[]>;
}

/**
 * Starts `count` async tasks that each take the condition's lock and wait
 * on it with `timeoutMs`. The last one to take the lock resolves
 * `allWaiting` just before its `wait()`, which counts it as a waiter and
 * lets go of the lock before it returns its promise; the resolution is
 * seen only after that.
 */
function startWaiters(cond: Condition, count: number, timeoutMs: number): Waiters {
  const { promise: allWaiting, resolve } = Promise.withResolvers<void>();
  let ready = 0;
  const results = Array.from({ length: count }, async () => {
    assert.equal(await cond.acquire({ timeout: PATIENCE_MS }), true);
    try {
      if (++ready === count) resolve();
      return await cond.wait(timeoutMs);
    } finally {
      cond.release();
    }
  });
  return { allWaiting, results: Promise.all(results) };
}

/** How many of `results` are true. */
function woken(results: boolean[]): number {
  return results.filter(Boolean).length;
}

// ---------------------------------------------------------------------------
// One process (several async tasks share a Lock-based condition)
// ---------------------------------------------------------------------------

Deno.test("Condition.notify(1) wakes exactly one of three waiters; the other two time out", async () => {
  const cond = new Condition(new Lock());
  const waiters = startWaiters(cond, 3, UNNOTIFIED_MS);
  await within(waiters.allWaiting);
  assert.equal(await cond.acquire({ timeout: PATIENCE_MS }), true);
  assert.equal(String(cond), "Condition(Lock(owner=this process), 3)");
  cond.notify(1);
  assert.equal(String(cond), "Condition(Lock(owner=this process), 2)", "one waiter is no longer counted");
  cond.release();
  const results = await within(waiters.results);
  assert.equal(woken(results), 1, `results: ${results}`);
  assert.equal(results.length - woken(results), 2, "two waiters timed out");
  assert.equal(String(cond), "Condition(Lock(owner=none), 0)");
});

Deno.test("Condition.notify(2) wakes exactly two of three waiters; the third times out", async () => {
  const cond = new Condition(new Lock());
  const waiters = startWaiters(cond, 3, UNNOTIFIED_MS);
  await within(waiters.allWaiting);
  {
    using _held = await cond.hold({ timeout: PATIENCE_MS });
    cond.notify(2);
  }
  const results = await within(waiters.results);
  assert.equal(woken(results), 2, `results: ${results}`);
  assert.equal(String(cond), "Condition(Lock(owner=none), 0)");
});

Deno.test("Condition.notifyAll() wakes every waiter", async () => {
  const cond = new Condition(new Lock());
  const waiters = startWaiters(cond, 4, PATIENCE_MS);
  await within(waiters.allWaiting);
  const started = performance.now();
  {
    using _held = await cond.hold({ timeout: PATIENCE_MS });
    cond.notifyAll();
    assert.equal(String(cond), "Condition(Lock(owner=this process), 0)");
  }
  assert.deepEqual(await within(waiters.results), [true, true, true, true]);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < PATIENCE_MS / 2, `the waiters took ${Math.round(elapsed)} ms to wake`);
});

Deno.test("Condition.notify() wakes only the current waiters: none now means no-op, and no later waiter wakes", async () => {
  const cond = new Condition(new Lock());
  {
    using _held = await cond.hold();
    cond.notify();
    cond.notify(5);
    cond.notifyAll();
    assert.equal(String(cond), "Condition(Lock(owner=this process), 0)");
    // No notify was kept for a waiter that comes later.
    const started = performance.now();
    assert.equal(await cond.wait(50), false);
    assert.ok(performance.now() - started >= 45, "the wait ran to its timeout");
  }

  // notify(3) with one waiter wakes that one and keeps nothing for the next.
  const first = startWaiters(cond, 1, PATIENCE_MS);
  await within(first.allWaiting);
  {
    using _held = await cond.hold({ timeout: PATIENCE_MS });
    cond.notify(3);
  }
  assert.deepEqual(await within(first.results), [true]);
  const later = startWaiters(cond, 1, 50);
  assert.deepEqual(await within(later.results), [false], "a later waiter is not woken by an earlier notify");
});

Deno.test("Condition.wait() timeout resolves false, and the lock is held again after", async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  await cond.acquire();
  const started = performance.now();
  assert.equal(await cond.wait(50), false);
  assert.ok(performance.now() - started >= 45, "the wait ran to its timeout");
  assert.equal(await lock.acquire({ block: false }), false, "the lock is held again");
  assert.equal(String(cond), "Condition(Lock(owner=this process), 0)");
  // A negative timeout counts as 0.
  assert.equal(await cond.wait(-10), false);
  cond.release();
  assert.equal(await lock.acquire({ block: false }), true, "one release frees it");
  lock.release();

  // The default RLock too: held once again, so one release frees it.
  const rcond = new Condition();
  await rcond.acquire();
  assert.equal(await rcond.wait(10), false);
  assert.equal(String(rcond), "Condition(RLock(this process, 1), 0)");
  rcond.release();
  assert.throws(() => rcond.release(), ProcessError);
});

Deno.test("Condition.waitFor() returns the predicate's value: at once, after notifies, or falsy on timeout", async () => {
  const cond = new Condition(new Lock());
  await cond.acquire();
  // Already true: no wait, even with no timeout.
  assert.equal(await cond.waitFor(() => "ready"), "ready");
  // Never true: the last (falsy) value, after the timeout.
  const started = performance.now();
  assert.equal(await cond.waitFor(() => 0, 50), 0);
  assert.ok(performance.now() - started >= 45, "waitFor ran to its timeout");
  assert.equal(await cond.waitFor(() => "", 0), "");
  cond.release();

  // Made true by another task: a notify that leaves it false does not end the wait.
  const box = { value: 0 };
  let checks = 0;
  const waiting = (async () => {
    using _held = await cond.hold({ timeout: PATIENCE_MS });
    return await cond.waitFor(() => (checks++, box.value), PATIENCE_MS);
  })();
  for (const value of [0, 42]) {
    using _held = await cond.hold({ timeout: PATIENCE_MS });
    box.value = value;
    cond.notifyAll();
  }
  assert.equal(await within(waiting), 42);
  assert.ok(checks >= 2, `the predicate was checked again after the notifies (${checks} checks)`);
});

Deno.test("Condition: wait and notify without holding the lock throw ProcessError", async () => {
  for (const cond of [new Condition(), new Condition(new Lock()), new Condition(new RLock())]) {
    await assert.rejects(cond.wait(10), ProcessError, `wait on ${cond}`);
    await assert.rejects(cond.waitFor(() => false, 10), ProcessError, `waitFor on ${cond}`);
    assert.throws(() => cond.notify(), ProcessError, `notify on ${cond}`);
    assert.throws(() => cond.notifyAll(), ProcessError, `notifyAll on ${cond}`);
    // Held, then released: not held any more.
    await cond.acquire();
    cond.notify();
    cond.release();
    await assert.rejects(cond.wait(10), { name: "ProcessError", message: /does not hold its lock/ });
    assert.throws(() => cond.notify(), { name: "ProcessError", message: /does not hold its lock/ });
    assert.match(String(cond), /, 0\)$/, "a refused wait is not counted as a waiter");
  }
  // waitFor with a predicate already true needs no wait, as in Python.
  assert.equal(await new Condition().waitFor(() => 1), 1);
});

Deno.test("Condition rejects bad arguments", async () => {
  assert.throws(() => new Condition({} as Lock), TypeError);
  assert.throws(() => new Condition(new Event() as unknown as Lock), TypeError);
  const cond = new Condition();
  await cond.acquire();
  for (const n of [-1, NaN, "2" as unknown as number]) {
    assert.throws(() => cond.notify(n), RangeError, `notify(${n})`);
  }
  await assert.rejects(cond.wait("x" as unknown as number), TypeError);
  await assert.rejects(cond.wait(NaN), TypeError);
  await assert.rejects(cond.wait(undefined, { signal: {} as AbortSignal }), TypeError);
  await assert.rejects(cond.waitFor(() => false, "x" as unknown as number), TypeError);
  assert.equal(String(cond), "Condition(RLock(this process, 1), 0)", "the lock is still held once");
  cond.release();
});

Deno.test("Condition(): the default lock is an RLock, and hold() guards it", async () => {
  const cond = new Condition();
  assert.equal(String(cond), "Condition(RLock(none, 0), 0)");
  {
    using _outer = await cond.hold();
    using _inner = await cond.hold({ timeout: 0 });
    assert.equal(String(cond), "Condition(RLock(this process, 2), 0)");
  }
  assert.equal(String(cond), "Condition(RLock(none, 0), 0)");
  // A condition over a given lock uses that very lock.
  const lock = new Lock();
  const over = new Condition(lock);
  await over.acquire();
  assert.equal(await lock.acquire({ block: false }), false);
  lock.release();
  assert.equal(await over.acquire({ block: false }), true);
  over.release();
});

Deno.test("Condition.wait() lets go of every level of an RLock and restores them", async () => {
  const rlock = new RLock();
  const cond = new Condition(rlock);
  await cond.acquire();
  await cond.acquire();
  assert.equal(String(rlock), "RLock(this process, 2)");
  const waiting = cond.wait(PATIENCE_MS);
  // While it waits, the RLock is free: another task takes it at once.
  assert.equal(String(rlock), "RLock(none, 0)");
  assert.equal(await cond.acquire({ block: false }), true);
  assert.equal(String(cond), "Condition(RLock(this process, 1), 1)");
  cond.notify();
  cond.release();
  assert.equal(await within(waiting), true);
  assert.equal(String(rlock), "RLock(this process, 2)", "both levels are back");
  cond.release();
  cond.release();
  assert.throws(() => cond.release(), ProcessError, "a third release is one too many");
});

Deno.test("Condition.wait() aborted by a signal rejects with its reason, and the lock is held again", async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  const reason = new Error("stop waiting");
  await cond.acquire();
  const controller = new AbortController();
  const waiting = cond.wait(PATIENCE_MS, { signal: controller.signal });
  assert.equal(String(cond), "Condition(Lock(owner=none), 1)", "it waits, with the lock let go");
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  assert.equal(await lock.acquire({ block: false }), false, "the lock is held again");
  assert.equal(String(cond), "Condition(Lock(owner=this process), 0)", "it no longer counts as a waiter");

  // An already-aborted signal rejects at once, with the lock still held.
  await assert.rejects(cond.wait(PATIENCE_MS, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  await assert.rejects(
    cond.waitFor(() => false, PATIENCE_MS, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(String(cond), "Condition(Lock(owner=this process), 0)");
  cond.release();

  // The aborted waiter takes no later notify: it goes to a live waiter.
  const live = startWaiters(cond, 1, PATIENCE_MS);
  await within(live.allWaiting);
  {
    using _held = await cond.hold({ timeout: PATIENCE_MS });
    cond.notify(1);
  }
  assert.deepEqual(await within(live.results), [true]);

  // With an RLock held twice, both levels come back after the abort.
  const rcond = new Condition();
  await rcond.acquire();
  await rcond.acquire();
  const rcontroller = new AbortController();
  const rwaiting = rcond.wait(undefined, { signal: rcontroller.signal });
  rcontroller.abort(reason);
  await assert.rejects(rwaiting, (error) => error === reason);
  assert.equal(String(rcond), "Condition(RLock(this process, 2), 0)");
  rcond.release();
  rcond.release();
  assert.throws(() => rcond.release(), ProcessError);
});

// ---------------------------------------------------------------------------
// Across processes (worker children)
// ---------------------------------------------------------------------------

Deno.test(
  "Condition: a worker child waiting for a flag is woken by the parent's notify",
  withLeakCheck(async () => {
    const cond = new Condition();
    const flag = new Value("i", 0);
    const waiting = new Event();
    const out = new Queue<targets.Handoff | Caught>();
    const child = new Process({
      target: targets.awaitFlag,
      args: [cond, flag, waiting, out],
      module,
      backend: "worker",
    });
    await child.start();
    assert.equal(await waiting.wait(PATIENCE_MS), true);
    // The child holds the lock until its wait lets go of it: taking it means the child waits.
    assert.equal(await cond.acquire({ timeout: PATIENCE_MS }), true);
    assert.equal(String(cond), "Condition(RLock(this process, 1), 1)");
    flag.value = 7;
    cond.notify();
    cond.release();
    assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), {
      got: 7,
      after: "Condition(RLock(this process, 1), 0)",
    });
    await joined(child);
    assert.equal(String(cond), "Condition(RLock(none, 0), 0)", "the child let go of the lock");
  }),
);

Deno.test(
  "Condition: the parent waiting for a flag is woken by a worker child's notifyAll",
  withLeakCheck(async () => {
    const cond = new Condition();
    const flag = new Value("i", 0);
    await cond.acquire();
    // The child can take the lock only once the parent waits.
    const child = new Process({
      target: targets.raiseFlag,
      args: [cond, flag, 9],
      module,
      backend: "worker",
    });
    await child.start();
    assert.equal(await cond.waitFor(() => flag.value, PATIENCE_MS), 9);
    assert.equal(String(cond), "Condition(RLock(this process, 1), 0)");
    cond.release();
    await joined(child);
  }),
);
