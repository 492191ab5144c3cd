/**
 * Durations, the same everywhere (issue 22, item 5): every public wait takes
 * `Infinity` as no limit, and a finite limit longer than `setTimeout` keeps
 * (2^31 - 1 ms) is kept too, without Deno's `TimeoutOverflowWarning`; NaN is
 * a TypeError that names the option, whatever the API.
 *
 * The waits run in `testdata/durations_script.ts`, a program of its own, so
 * its stderr can be checked for the warning.
 */

import assert from "node:assert/strict";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  JoinableQueue,
  Lock,
  Manager,
  Pipe,
  Pool,
  Process,
  ps,
  Queue,
  RLock,
  Semaphore,
  shutdown,
  Supervisor,
} from "../mod.ts";
import { MAX_TIMER_MS, startTimer } from "../src/core/_duration.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, runScript } from "./_helpers.ts";
import { CASES, gated, MODULE, nap } from "./testdata/durations_script.ts";

// ---------------------------------------------------------------------------
// Infinity (and 2^31 ms) wait for the event, and no timer warning is printed
// ---------------------------------------------------------------------------

for (const [name, { both }] of Object.entries(CASES)) {
  for (const backend of both ? BACKENDS : ["worker"] as const) {
    Deno.test(`${name} [${backend}]: Infinity and 2^31 ms wait for the event, with no timer warning`, async () => {
      const { code, stdout, stderr } = await runScript("durations_script.ts", { args: [name, backend] });
      assert.doesNotMatch(stderr, /Timeout\w*Warning/, "no timer was given a delay it cannot keep");
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trim(), `ok ${name}`);
      assert.equal(stderr, "");
    });
  }
}

// ---------------------------------------------------------------------------
// NaN is a TypeError naming the option
// ---------------------------------------------------------------------------

/** Calls `call`; it must throw, or reject, a TypeError whose message names `option`. */
async function assertNaNRefused(what: string, option: RegExp, call: () => unknown): Promise<void> {
  let outcome: unknown;
  try {
    outcome = call();
  } catch (error) {
    outcome = Promise.reject(error);
  }
  assert.ok(outcome instanceof Promise, `${what}: throws or returns a promise`);
  await assert.rejects(outcome, (error) => {
    assert.ok(error instanceof TypeError, `${what}: ${error}`);
    assert.match(error.message, option, what);
    assert.match(error.message, /NaN/, what);
    return true;
  });
}

/** A table row: what is called, the option its message must name, and the call (given NaN). */
type Row = readonly [what: string, option: RegExp, call: (nan: number) => unknown];

const TIMEOUT = /\btimeout\b/;
const TIMEOUT_MS = /\btimeoutMs\b/;

Deno.test(
  "NaN is a TypeError naming the option: queues, pipes, locks, events, conditions, barriers, processes",
  withLeakCheck(async () => {
    const q = new Queue<number>();
    const jq = new JoinableQueue<number>();
    const [a, b] = Pipe<number>();
    const cond = new Condition();
    const idle = new Process({ target: nap, module: MODULE });
    const rows: Row[] = [
      ["Queue.get", TIMEOUT, (nan) => q.get({ timeout: nan })],
      ["Queue.put", TIMEOUT, (nan) => q.put(1, { timeout: nan })],
      ["JoinableQueue.join", TIMEOUT, (nan) => jq.join({ timeout: nan })],
      ["Connection.recv", TIMEOUT, (nan) => a.recv({ timeout: nan })],
      ["Connection.poll", TIMEOUT, (nan) => a.poll(nan)],
      ["Lock.acquire", TIMEOUT, (nan) => new Lock().acquire({ timeout: nan })],
      ["Lock.hold", TIMEOUT, (nan) => new Lock().hold({ timeout: nan })],
      ["RLock.acquire", TIMEOUT, (nan) => new RLock().acquire({ timeout: nan })],
      ["Semaphore.acquire", TIMEOUT, (nan) => new Semaphore(0).acquire({ timeout: nan })],
      ["BoundedSemaphore.acquire", TIMEOUT, (nan) => new BoundedSemaphore(1).acquire({ timeout: nan })],
      ["Event.wait", TIMEOUT_MS, (nan) => new Event().wait(nan)],
      ["Condition.wait", TIMEOUT_MS, (nan) => cond.wait(nan)],
      ["Condition.waitFor", TIMEOUT_MS, (nan) => cond.waitFor(() => false, nan)],
      ["new Barrier", TIMEOUT, (nan) => new Barrier(2, { timeout: nan })],
      ["Barrier.wait", TIMEOUT_MS, (nan) => new Barrier(2).wait(nan)],
      ["Process.join", TIMEOUT_MS, (nan) => idle.join(nan)],
      ["ActorRef.ask", TIMEOUT, (nan) => idle.ref().ask("hi", { timeout: nan })],
      ["shutdown", TIMEOUT_MS, (nan) => shutdown({ timeoutMs: nan })],
      ["ps", TIMEOUT_MS, (nan) => ps({ timeoutMs: nan })],
    ];
    for (const [what, option, call] of rows) await assertNaNRefused(what, option, () => call(NaN));
    assert.equal(q.empty(), true, "nothing was put");
    a.close();
    b.close();
    idle.close();
  }),
);

Deno.test(
  "NaN is a TypeError naming the option: Pool and AsyncResult",
  withLeakCheck(async () => {
    await assertNaNRefused("new Pool", /\bperiodMs\b/, () => new Pool({ processes: 1, periodMs: NaN }));
    const pool = new Pool({ processes: 1, module: MODULE });
    const result = pool.applyAsync(nap, [0]);
    const rows: Row[] = [
      ["Pool.apply", TIMEOUT_MS, (nan) => pool.apply(nap, [0], { timeoutMs: nan })],
      ["Pool.applyAsync", TIMEOUT_MS, (nan) => pool.applyAsync(nap, [0], { timeoutMs: nan })],
      ["Pool.map", TIMEOUT_MS, (nan) => pool.map(nap, [0], { timeoutMs: nan })],
      ["Pool.mapAsync", TIMEOUT_MS, (nan) => pool.mapAsync(nap, [0], { timeoutMs: nan })],
      ["Pool.starmap", TIMEOUT_MS, (nan) => pool.starmap(nap, [[0]], { timeoutMs: nan })],
      ["Pool.imap", TIMEOUT_MS, (nan) => pool.imap(nap, [0], { timeoutMs: nan }).next()],
      ["AsyncResult.get", TIMEOUT_MS, (nan) => result.get(nan)],
      ["AsyncResult.wait", TIMEOUT_MS, (nan) => result.wait(nan)],
    ];
    for (const [what, option, call] of rows) await assertNaNRefused(what, option, () => call(NaN));
    assert.equal(await result.get(), "slept");
    pool.close();
    await assertNaNRefused("Pool.join", TIMEOUT_MS, () => pool.join(NaN));
    await pool.join();
  }),
);

Deno.test("NaN is a TypeError naming the option: Supervisor", async () => {
  const spec = { id: "a", target: gated, module: MODULE };
  const rows: Row[] = [
    ["periodMs", /\bperiodMs\b/, (nan) => new Supervisor({ periodMs: nan })],
    ["backoff.minMs", /\bbackoff\.minMs\b/, (nan) => new Supervisor({ backoff: { minMs: nan, maxMs: 10 } })],
    ["backoff.maxMs", /\bbackoff\.maxMs\b/, (nan) => new Supervisor({ backoff: { minMs: 1, maxMs: nan } })],
    [
      "backoff.resetAfterMs",
      /\bbackoff\.resetAfterMs\b/,
      (nan) => new Supervisor({ backoff: { minMs: 1, maxMs: 10, resetAfterMs: nan } }),
    ],
    ["shutdownMs", /\bshutdownMs\b/, (nan) => new Supervisor({ children: [{ ...spec, shutdownMs: nan }] })],
    [
      "heartbeatMs",
      /\bheartbeatMs\b/,
      (nan) => new Supervisor({ children: [{ ...spec, heartbeatMs: nan }] }),
    ],
  ];
  for (const [what, option, call] of rows) await assertNaNRefused(what, option, () => call(NaN));
});

for (const backend of BACKENDS) {
  Deno.test(
    `NaN is a TypeError naming the option: Manager and its proxies [${backend}]`,
    withLeakCheck(async () => {
      await using manager = await new Manager({ backend }).start();
      const dict = await manager.dict({ a: 1 });
      const lock = await manager.lock();
      const event = await manager.event();
      const cond = await manager.condition();
      const barrier = await manager.barrier(2);
      const rows: Row[] = [
        ["BaseProxy.call", TIMEOUT, (nan) => dict.call("get", ["a"], { timeout: nan })],
        ["Manager.barrier", TIMEOUT, (nan) => manager.barrier(2, { timeout: nan })],
        ["LockProxy.acquire", TIMEOUT, (nan) => lock.acquire({ timeout: nan })],
        ["EventProxy.wait", TIMEOUT_MS, (nan) => event.wait(nan)],
        ["ConditionProxy.wait", TIMEOUT_MS, (nan) => cond.wait(nan)],
        ["ConditionProxy.waitFor", TIMEOUT_MS, (nan) => cond.waitFor(() => false, nan)],
        ["BarrierProxy.wait", TIMEOUT_MS, (nan) => barrier.wait(nan)],
      ];
      for (const [what, option, call] of rows) await assertNaNRefused(what, option, () => call(NaN));
    }),
  );
}

// ---------------------------------------------------------------------------
// The timer behind them
// ---------------------------------------------------------------------------

Deno.test("startTimer() keeps a delay past 2^31 - 1 ms as a chain of timers, and starts none for Infinity", () => {
  const realSetTimeout = globalThis.setTimeout;
  const realNow = performance.now;
  let now = 1_000;
  const pending: [() => void, number][] = [];
  globalThis.setTimeout = ((callback: () => void, ms: number) => pending.push([callback, ms])) as never;
  performance.now = () => now;
  try {
    let fired = 0;
    assert.equal(startTimer(() => fired++, Infinity), undefined);
    assert.equal(pending.length, 0, "no timer for Infinity");
    startTimer(() => fired++, 5e9);
    const delays: number[] = [];
    while (pending.length > 0) {
      const [callback, ms] = pending.shift()!;
      assert.equal(fired, 0, "not before the end of the chain");
      delays.push(ms);
      now += ms;
      callback();
    }
    assert.deepEqual(delays, [MAX_TIMER_MS, MAX_TIMER_MS, 5e9 - 2 * MAX_TIMER_MS]);
    assert.equal(fired, 1);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    performance.now = realNow;
  }
});
