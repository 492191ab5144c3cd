import assert from "node:assert/strict";
import { Barrier, BrokenBarrierError, Event, Process, ProcessError, Queue, RawArray } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { type Caught, joined, PATIENCE_MS, within, withReports } from "./_helpers.ts";
import * as targets from "./testdata/barrier_targets.ts";

const module = targets.MODULE;

/**
 * Resolves once `n` parties wait at the barrier. `nWaiting` is the only
 * sign that a party is inside `wait()`, so this polls it (as CPython's own
 * barrier tests poll `n_waiting`), failing after PATIENCE_MS.
 */
async function partiesWaiting(barrier: Barrier, n: number): Promise<void> {
  const until = performance.now() + PATIENCE_MS;
  while (barrier.nWaiting < n) {
    if (performance.now() > until) {
      throw new Error(`Cannot see ${n} parties waiting within ${PATIENCE_MS} ms: ${barrier.nWaiting} wait`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** How a wait settled: its index, or the error it rejected with. */
function settle(waiting: Promise<number>): Promise<{ index: number } | { error: unknown }> {
  return waiting.then((index) => ({ index }), (error: unknown) => ({ error }));
}

/** Whether `outcome` is a rejection with a BrokenBarrierError. */
function isBroken(outcome: { index: number } | { error: unknown }): boolean {
  return "error" in outcome && outcome.error instanceof BrokenBarrierError;
}

/**
 * Whether `outcome` is a rejection with the BrokenBarrierError of a party
 * that found the barrier broken by something else, not by its own timeout.
 */
function isBrokenByOther(outcome: { index: number } | { error: unknown }): boolean {
  return isBroken(outcome) && /is broken/.test((outcome as { error: Error }).error.message);
}

/** Passes a barrier of `parties` once, all parties from this isolate. */
async function passOnce(barrier: Barrier): Promise<number[]> {
  const waits = Array.from({ length: barrier.parties }, () => barrier.wait(PATIENCE_MS));
  return (await within(Promise.all(waits))).toSorted();
}

// ---------------------------------------------------------------------------
// One process (the parties are async tasks)
// ---------------------------------------------------------------------------

Deno.test("Barrier.wait() hands out each index from 0 to parties - 1 once per cycle, over several cycles", async () => {
  const parties = 3, cycles = 5;
  const barrier = new Barrier(parties);
  assert.equal(barrier.parties, parties);
  assert.equal(barrier.timeout, undefined);
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
  assert.equal(barrier.nWaiting, 0);
  assert.equal(barrier.broken, false);
});

Deno.test("Barrier: the action runs once per cycle, before any party is released", async () => {
  const parties = 3, cycles = 4;
  let trips = 0;
  const barrier = new Barrier(parties, { action: () => void trips++ });
  const seen: number[][] = Array.from({ length: cycles }, () => []);
  await within(Promise.all(
    Array.from({ length: parties }, async () => {
      for (let cycle = 0; cycle < cycles; cycle++) {
        await barrier.wait(PATIENCE_MS);
        seen[cycle]!.push(trips);
      }
    }),
  ));
  assert.equal(trips, cycles);
  for (const [cycle, counts] of seen.entries()) {
    assert.deepEqual(
      counts,
      [cycle + 1, cycle + 1, cycle + 1],
      `every party of cycle ${cycle} saw its action`,
    );
  }

  // An async action is awaited before the release.
  let done = false;
  const slow = new Barrier(2, {
    action: async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      done = true;
    },
  });
  const waits = [slow.wait(PATIENCE_MS), slow.wait(PATIENCE_MS)];
  for (const waiting of waits) {
    await within(waiting);
    assert.equal(done, true);
  }
});

Deno.test("Barrier(1).wait() resolves 0 every time, running the action each time", async () => {
  let trips = 0;
  const barrier = new Barrier(1, { action: () => void trips++ });
  for (let i = 1; i <= 3; i++) {
    assert.equal(await barrier.wait(), 0);
    assert.equal(trips, i);
  }
  assert.equal(barrier.nWaiting, 0);
});

Deno.test("Barrier: an action that throws gives its error to the last party and breaks the barrier for the others", async () => {
  const boom = new Error("action failed");
  let fail = true;
  const barrier = new Barrier(3, {
    action: () => {
      if (fail) throw boom;
    },
  });
  const outcomes = await within(Promise.all([0, 1, 2].map(() => settle(barrier.wait(PATIENCE_MS)))));
  const failed = outcomes.filter((o) => "error" in o && o.error === boom);
  assert.equal(failed.length, 1, "one party, the one that ran the action, gets its error");
  assert.equal(outcomes.filter(isBrokenByOther).length, 2, "the others get a BrokenBarrierError");
  assert.equal(barrier.broken, true);
  assert.equal(barrier.nWaiting, 0);
  await assert.rejects(barrier.wait(PATIENCE_MS), BrokenBarrierError, "it stays broken");

  fail = false;
  await barrier.reset();
  assert.equal(barrier.broken, false);
  assert.deepEqual(await passOnce(barrier), [0, 1, 2]);
});

Deno.test("Barrier.wait() timeout breaks the barrier for every party", async () => {
  const barrier = new Barrier(3);
  const patient = settle(barrier.wait(PATIENCE_MS));
  const started = performance.now();
  const impatient = settle(barrier.wait(100));
  const [a, b] = await within(Promise.all([patient, impatient]));
  const elapsed = performance.now() - started;
  assert.ok(isBrokenByOther(a), "the patient party's wait is broken too");
  assert.ok(isBroken(b), "the party that timed out gets a BrokenBarrierError");
  assert.match((b as { error: Error }).error.message, /not full within the timeout/);
  assert.ok(elapsed >= 95, `the barrier broke after ${Math.round(elapsed)} ms, not at its timeout`);
  assert.ok(elapsed < PATIENCE_MS / 2, "the patient party did not wait for its own timeout");
  assert.equal(barrier.broken, true);
  assert.equal(barrier.nWaiting, 0);

  // Later waits fail at once.
  const again = performance.now();
  await assert.rejects(barrier.wait(PATIENCE_MS), (error) => {
    assert.ok(error instanceof BrokenBarrierError && error instanceof ProcessError);
    assert.equal(error.name, "BrokenBarrierError");
    assert.match(error.message, /is broken/);
    return true;
  });
  assert.ok(performance.now() - again < PATIENCE_MS / 2, "a wait on a broken barrier fails at once");

  // reset() makes it usable again.
  await barrier.reset();
  assert.equal(barrier.broken, false);
  assert.deepEqual(await passOnce(barrier), [0, 1, 2]);
});

Deno.test("Barrier: the constructor's timeout is the default of wait(), which a wait's own timeout overrides", async () => {
  const barrier = new Barrier(2, { timeout: 100 });
  assert.equal(barrier.timeout, 100);
  const started = performance.now();
  await assert.rejects(barrier.wait(), BrokenBarrierError);
  assert.ok(performance.now() - started >= 95, "the wait ran to the barrier's timeout");
  assert.equal(barrier.broken, true);
  await barrier.reset();
  // A wait's own timeout outlasts the default: the first party is still there when the second comes.
  const first = barrier.wait(PATIENCE_MS);
  await partiesWaiting(barrier, 1);
  const second = barrier.wait(PATIENCE_MS);
  assert.deepEqual((await within(Promise.all([first, second]))).toSorted(), [0, 1]);
});

Deno.test("Barrier.abort() breaks the barrier for the parties waiting and every later one", async () => {
  const barrier = new Barrier(3);
  const waits = [settle(barrier.wait(PATIENCE_MS)), settle(barrier.wait(PATIENCE_MS))];
  await partiesWaiting(barrier, 2);
  await barrier.abort();
  const outcomes = await within(Promise.all(waits));
  assert.ok(outcomes.every(isBrokenByOther), "both waiting parties get a BrokenBarrierError");
  assert.equal(barrier.broken, true);
  assert.equal(barrier.nWaiting, 0);
  await assert.rejects(barrier.wait(PATIENCE_MS), BrokenBarrierError);
  await barrier.abort(); // again: still broken
  assert.equal(barrier.broken, true);
  await barrier.reset();
  assert.equal(barrier.broken, false);
  assert.deepEqual(await passOnce(barrier), [0, 1, 2]);
});

Deno.test("Barrier.reset() while parties wait sends them BrokenBarrierError and leaves the barrier usable", async () => {
  const barrier = new Barrier(3);
  const waits = [settle(barrier.wait(PATIENCE_MS)), settle(barrier.wait(PATIENCE_MS))];
  await partiesWaiting(barrier, 2);
  await barrier.reset();
  const outcomes = await within(Promise.all(waits));
  assert.ok(outcomes.every(isBrokenByOther), "both waiting parties get a BrokenBarrierError");
  assert.equal(barrier.broken, false, "a reset barrier is not broken");
  assert.equal(barrier.nWaiting, 0);
  assert.deepEqual(await passOnce(barrier), [0, 1, 2]);
  assert.deepEqual(await passOnce(barrier), [0, 1, 2]);
});

Deno.test("Barrier.nWaiting counts the parties of the current cycle, and broken says whether it is broken", async () => {
  const barrier = new Barrier(3);
  assert.equal(barrier.nWaiting, 0);
  assert.equal(barrier.broken, false);
  const first = barrier.wait(PATIENCE_MS);
  await partiesWaiting(barrier, 1);
  assert.equal(barrier.nWaiting, 1);
  const second = barrier.wait(PATIENCE_MS);
  await partiesWaiting(barrier, 2);
  assert.equal(barrier.nWaiting, 2);
  const third = barrier.wait(PATIENCE_MS);
  assert.deepEqual((await within(Promise.all([first, second, third]))).toSorted(), [0, 1, 2]);
  assert.equal(barrier.nWaiting, 0, "a tripped barrier is empty again");
  assert.equal(barrier.broken, false);
  await barrier.abort();
  assert.equal(barrier.broken, true);
  assert.equal(barrier.nWaiting, 0);
});

Deno.test("Barrier.wait() aborted by a signal rejects with its reason and breaks the barrier for every party", async () => {
  const barrier = new Barrier(3);
  const reason = new Error("stop waiting");
  const controller = new AbortController();
  const other = settle(barrier.wait(PATIENCE_MS));
  const aborted = settle(barrier.wait(PATIENCE_MS, { signal: controller.signal }));
  await partiesWaiting(barrier, 2);
  controller.abort(reason);
  const [o, a] = await within(Promise.all([other, aborted]));
  assert.ok("error" in a && a.error === reason, "the aborted wait rejects with the signal's reason");
  assert.ok(isBrokenByOther(o), "the other party gets a BrokenBarrierError");
  assert.equal(barrier.broken, true);
  await barrier.reset();
  assert.deepEqual(await passOnce(barrier), [0, 1, 2]);
});

Deno.test("Barrier rejects bad arguments", async () => {
  for (const parties of [0, -1, 1.5, NaN, Infinity, "2" as unknown as number]) {
    assert.throws(() => new Barrier(parties), RangeError, `parties ${String(parties)}`);
  }
  assert.throws(() => new Barrier(2, { action: "go" as unknown as () => void }), TypeError);
  assert.throws(() => new Barrier(2, { timeout: "1" as unknown as number }), TypeError);
  assert.throws(() => new Barrier(2, { timeout: NaN }), TypeError);
  const barrier = new Barrier(2);
  await assert.rejects(barrier.wait("x" as unknown as number), TypeError);
  await assert.rejects(barrier.wait(undefined, { signal: {} as AbortSignal }), TypeError);
  assert.equal(barrier.nWaiting, 0, "a refused wait does not count");
  assert.equal(barrier.broken, false, "nor break the barrier");
});

Deno.test(
  "Barrier: an inline action runs in the main isolate, but a worker child cannot be given its barrier",
  // The child's start failure is the rejection awaited below: it is not printed as well.
  withLeakCheck(withReports([], async () => {
    let trips = 0;
    const countUp = () => void trips++;
    const cases: [string, () => void][] = [
      ["an anonymous function", ((action: () => void) => action)(() => void trips++)],
      ["a bound function", countUp.bind(null)],
    ];
    for (const [what, action] of cases) {
      trips = 0;
      const barrier = new Barrier(1, { action, module });
      assert.equal(await barrier.wait(), 0);
      assert.equal(trips, 1, `${what} ran in the main isolate`);
      const child = new Process({
        target: targets.waitOnce,
        args: [barrier, new Event(), null, new Queue<{ index: number } | Caught>()],
        module,
        backend: "worker",
      });
      await assert.rejects(
        (async () => await child.start())(),
        { name: "TypeError", message: /must be a named function exported from the Barrier's module/ },
        `a child cannot be given ${what}`,
      );
      assert.equal(child.isAlive(), false);
      assert.equal(await barrier.wait(), 0, "the barrier still works here");
    }
    // A named function the module does not export (`{ action: () => … }` is
    // named "action") fails the child's start, before its target runs.
    const barrier = new Barrier(2, { action: () => void trips++, module });
    const child = new Process({
      target: targets.waitOnce,
      args: [barrier, new Event(), null, new Queue<{ index: number } | Caught>()],
      module,
      backend: "worker",
    });
    await assert.rejects(child.start(), { message: /Cannot find the function "action" among the exports/ });
    await child.join(PATIENCE_MS);
    assert.equal(child.exitCode, 1);
  })),
);

// ---------------------------------------------------------------------------
// Across processes (worker children)
// ---------------------------------------------------------------------------

Deno.test(
  "Barrier: three worker children and the main isolate at a Barrier(4) get distinct indexes, and the action runs once per cycle",
  withLeakCheck(async () => {
    const cycles = 3;
    const cells = new RawArray("i", 2);
    const barrier = new Barrier(4, { action: targets.countCycle, module });
    // The main isolate is party 0; it may be the one that trips the barrier.
    targets.useTally(cells, 0);
    const out = new Queue<targets.Passage | Caught>();
    const children = [1, 2, 3].map((party) =>
      new Process({
        target: targets.passCycles,
        args: [barrier, cells, party, cycles, out],
        module,
        backend: "worker",
      })
    );
    await Promise.all(children.map((child) => child.start()));
    const passages: targets.Passage[] = [];
    for (let cycle = 0; cycle < cycles; cycle++) {
      passages.push(targets.passage(cells, 0, cycle, await barrier.wait(PATIENCE_MS)));
    }
    for (let i = 0; i < children.length * cycles; i++) {
      const report = await out.get({ timeout: PATIENCE_MS });
      assert.ok("party" in report, `a child failed: ${JSON.stringify(report)}`);
      passages.push(report);
    }
    for (const child of children) await joined(child);

    assert.equal(cells.get(0), cycles, "the action ran once per cycle");
    for (let cycle = 0; cycle < cycles; cycle++) {
      const these = passages.filter((p) => p.cycle === cycle);
      assert.deepEqual(these.map((p) => p.party).toSorted(), [0, 1, 2, 3], `cycle ${cycle}: every party`);
      assert.deepEqual(
        these.map((p) => p.index).toSorted(),
        [0, 1, 2, 3],
        `cycle ${cycle}: distinct indexes`,
      );
      for (const p of these) {
        assert.equal(p.trips, cycle + 1, `party ${p.party} passed cycle ${cycle} after its action`);
      }
      const runners = new Set(these.map((p) => p.runner));
      assert.equal(runners.size, 1, `cycle ${cycle}: one party ran the action`);
      const last = these.find((p) => p.index === 3)!;
      assert.equal(last.runner, last.party, `cycle ${cycle}: the last party to arrive ran the action`);
    }
    assert.equal(barrier.broken, false);
    assert.equal(barrier.nWaiting, 0);
  }),
);

Deno.test(
  "Barrier: a worker child that times out at the barrier breaks it for the parent's wait too",
  withLeakCheck(async () => {
    const barrier = new Barrier(3);
    const go = new Event();
    const out = new Queue<{ index: number } | Caught>();
    const child = new Process({
      target: targets.waitOnce,
      args: [barrier, go, 100, out],
      module,
      backend: "worker",
    });
    await child.start();
    const mine = settle(barrier.wait(PATIENCE_MS));
    // The child starts its short wait once the parent waits (a timeout is the behaviour under test).
    go.set();
    const outcome = await within(mine);
    assert.ok(isBrokenByOther(outcome), "the parent's wait is broken by the child, not its own timeout");
    const report = await out.get({ timeout: PATIENCE_MS });
    assert.equal((report as Caught).name, "BrokenBarrierError");
    assert.match((report as Caught).message, /not full within the timeout/);
    await joined(child);
    assert.equal(barrier.broken, true);
    await assert.rejects(barrier.wait(PATIENCE_MS), BrokenBarrierError);
    await barrier.reset();
    assert.equal(barrier.broken, false);
  }),
);
