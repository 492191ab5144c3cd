/**
 * The futex waits on their own (`src/_futex.ts`): sleeping on a word of
 * shared memory until it changes, a deadline passes or a signal aborts, and
 * the deadlines Python's `block`/`timeout` pair comes to.
 */

import assert from "node:assert/strict";
import { checkedDeadline, type Deadline, deadlineOf, takeOne, waitChange, wake } from "../src/core/_futex.ts";
import { PATIENCE_MS, within } from "./_helpers.ts";

const WORD = 0;
const WAITERS = 1;

function cells(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(16));
}

function after(ms: number, signal?: AbortSignal): Deadline {
  return { until: performance.now() + ms, signal };
}

Deno.test("waitChange resolves true at once when the word no longer holds what the caller saw", async () => {
  const word = cells();
  word[WORD] = 5;
  const start = performance.now();
  assert.equal(await waitChange(word, WORD, 4, after(PATIENCE_MS)), true);
  assert.ok(performance.now() - start < PATIENCE_MS / 2);
});

Deno.test("waitChange resolves true when the word changes and a waker wakes it", async () => {
  const word = cells();
  const waiting = waitChange(word, WORD, 0, after(PATIENCE_MS), WAITERS);
  const start = performance.now();
  Atomics.store(word, WORD, 1);
  wake(word, WORD);
  assert.equal(await within(waiting), true);
  assert.ok(performance.now() - start < PATIENCE_MS / 2, "woken, not timed out");
});

Deno.test("waitChange resolves true when woken although the word is back where it was", async () => {
  // A wake-up is a hint: the caller re-checks what it waits for.
  const word = cells();
  const waiting = waitChange(word, WORD, 0, after(PATIENCE_MS));
  wake(word, WORD);
  assert.equal(await within(waiting), true);
});

Deno.test("waitChange resolves false at its deadline, and at once when the deadline has passed", async () => {
  const word = cells();
  for (const ms of [1, 30]) {
    const start = performance.now();
    assert.equal(await within(waitChange(word, WORD, 0, after(ms))), false, `${ms} ms`);
    assert.ok(performance.now() - start >= ms - 1, `waited its ${ms} ms`);
  }
  assert.equal(await waitChange(word, WORD, 0, { until: 0 }), false);
  assert.equal(await waitChange(word, WORD, 0, after(-5)), false);
});

Deno.test("waitChange rejects with the signal's reason on abort, before or while it waits", async () => {
  const word = cells();
  const reason = new Error("enough");
  await assert.rejects(
    waitChange(word, WORD, 0, after(PATIENCE_MS, AbortSignal.abort(reason))),
    (e) => e === reason,
  );
  const controller = new AbortController();
  const waiting = waitChange(word, WORD, 0, { until: Infinity, signal: controller.signal }, WAITERS);
  controller.abort(reason);
  await assert.rejects(within(waiting), (e) => e === reason);
  assert.equal(word[WAITERS], 0, "an aborted waiter is no longer counted");
});

Deno.test("a wait abandoned by an abort does not swallow the wake-up meant for another", async () => {
  const word = cells();
  const controller = new AbortController();
  const abandoned = waitChange(word, WORD, 0, { until: Infinity, signal: controller.signal });
  const live = waitChange(word, WORD, 0, after(PATIENCE_MS));
  controller.abort();
  await assert.rejects(abandoned);
  Atomics.store(word, WORD, 1);
  wake(word, WORD, 1);
  assert.equal(await within(live), true);
});

Deno.test("waitChange counts its sleepers in the waiters word, so a releaser may skip the notify", async () => {
  const word = cells();
  const waiting = [0, 1, 2].map(() => waitChange(word, WORD, 0, after(PATIENCE_MS), WAITERS));
  // Each counts itself before its first await: after a spin that saw no change.
  assert.equal(word[WAITERS], 3);
  Atomics.store(word, WORD, 1);
  wake(word, WORD);
  assert.deepEqual(await within(Promise.all(waiting)), [true, true, true]);
  assert.equal(word[WAITERS], 0);
});

/** What a waiter in a Worker saw: what its wait resolved to, the word, and how long it waited. */
interface Seen {
  woke: boolean;
  value: number;
  waited: number;
}

/**
 * Starts a Worker that waits up to `ms` on `word`, waits until it sleeps
 * (it counts itself a waiter just before), runs `change`, and returns what
 * the worker saw.
 */
async function workerWait(word: Int32Array, ms: number, change: () => void): Promise<Seen> {
  const worker = new Worker(new URL("./testdata/futex_worker.ts", import.meta.url), { type: "module" });
  try {
    const answer = new Promise<Seen>((resolve) => worker.onmessage = ({ data }) => resolve(data));
    worker.postMessage({ buffer: word.buffer, ms });
    await within((async () => {
      while (Atomics.load(word, WAITERS) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    })());
    change();
    return await within(answer);
  } finally {
    worker.terminate();
  }
}

Deno.test("a waiter in a Worker is woken by a change made here", async () => {
  const word = cells();
  const seen = await workerWait(word, 30_000, () => {
    Atomics.store(word, WORD, 7);
    wake(word, WORD);
  });
  assert.deepEqual([seen.woke, seen.value], [true, 7]);
  assert.ok(seen.waited < 15_000, `woken, not timed out (${Math.round(seen.waited)} ms)`);
});

Deno.test("a change made without a wake-up is seen at the deadline at the latest, as a change", async () => {
  const word = cells();
  const seen = await workerWait(word, 200, () => Atomics.store(word, WORD, 3));
  // Nothing notifies: the wait ends at its deadline (or at once, if the change came before it slept)
  // and says the word may have changed.
  assert.deepEqual([seen.woke, seen.value], [true, 3]);
});

Deno.test("takeOne takes one from a positive word, atomically, and nothing from 0 or less", () => {
  const table: [number, boolean, number][] = [[3, true, 2], [1, true, 0], [0, false, 0], [-2, false, -2]];
  for (const [before, took, left] of table) {
    const word = cells();
    word[WORD] = before;
    assert.equal(takeOne(word, WORD), took, `from ${before}`);
    assert.equal(word[WORD], left, `from ${before}`);
  }
});

Deno.test("deadlineOf turns block and timeout into a deadline as Python reads them", () => {
  const signal = new AbortController().signal;
  const now = performance.now();
  const table: [string, Deadline, number | [number, number]][] = [
    ["block false", deadlineOf(false, 5_000), 0],
    ["no timeout", deadlineOf(true), Infinity],
    ["an infinite timeout", deadlineOf(true, Infinity), Infinity],
    ["a timeout", deadlineOf(true, 500), [now + 500, performance.now() + 500]],
    ["a negative timeout, as 0", deadlineOf(true, -10), [now, performance.now()]],
    ["the defaults", deadlineOf(), Infinity],
  ];
  for (const [what, deadline, until] of table) {
    if (Array.isArray(until)) {
      assert.ok(deadline.until >= until[0] && deadline.until <= until[1], `${what}: ${deadline.until}`);
    } else {
      assert.equal(deadline.until, until, what);
    }
  }
  assert.equal(deadlineOf(true, 10, signal).signal, signal);
});

Deno.test("checkedDeadline refuses a bad option with a TypeError naming the method", () => {
  const table: [unknown, RegExp][] = [
    [{ block: "yes" }, /^Lock\.acquire: block must be a boolean, not string$/],
    [{ timeout: NaN }, /^Lock\.acquire: timeout .*, not NaN$/],
    [{ timeout: "5" }, /^Lock\.acquire: timeout .*, not "5"$/],
    [{ signal: {} }, /^Lock\.acquire: signal must be an AbortSignal$/],
  ];
  for (const [options, message] of table) {
    assert.throws(() => checkedDeadline("Lock.acquire", options as never), (error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(
    () => checkedDeadline("Event.wait", { timeout: NaN }, "timeoutMs"),
    /Event\.wait: timeoutMs /,
  );
  assert.equal(
    checkedDeadline("Lock.acquire", { block: false, timeout: 1_000 }).until,
    0,
    "block false ignores it",
  );
  assert.equal(checkedDeadline("Lock.acquire").until, Infinity);
  assert.equal(checkedDeadline("Lock.acquire", { timeout: -1 }).until <= performance.now(), true);
});
