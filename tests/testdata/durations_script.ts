/**
 * Every public wait given no limit, run as a program of its own so the test
 * sees its stderr (Deno prints `TimeoutOverflowWarning` there when a timer
 * gets more than 2^31 - 1 ms, and fires it after 1 ms).
 *
 * `deno run durations_script.ts <case> <backend>` runs one case of
 * {@linkcode CASES} twice, with `Infinity` and with 2^31 ms (one more than a
 * timer takes), and prints `ok <case>`. A case starts the wait, then makes
 * the event happen {@linkcode DELAY_MS} later (it never sleeps to
 * synchronize), and checks that the wait got it. It throws otherwise.
 *
 * Children run the targets exported here.
 */

import assert from "node:assert/strict";
import {
  type ActorRef,
  type Backend,
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
  serve,
  shutdown,
  Supervisor,
  type SupervisorEventDetail,
} from "../../mod.ts";

export const MODULE: string = import.meta.url;

/** How long after the wait starts the event comes: far beyond the 1 ms a clamped timer waits. */
export const DELAY_MS = 100;

/** One more ms than `setTimeout` takes. */
const OVER_TIMER_MS = 2 ** 31;

/** Waits for an item on `gate`, then returns. */
export async function waitForGate(gate: Queue<unknown>): Promise<void> {
  await gate.get();
}

/** Holds `lock`, says so in `held`, and lets it go once `gate` has an item. */
export async function holdRLock(lock: RLock, held: Queue<string>, gate: Queue<unknown>): Promise<void> {
  await lock.acquire();
  await held.put("held");
  await gate.get();
  lock.release();
}

/** A task that takes `ms`. */
export async function nap(ms: number): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return "slept";
}

/** An actor: "wait" is answered "late" once `gate` has an item; anything else is echoed. */
export function gated(gate: Queue<unknown>) {
  return serve<unknown, unknown>({
    ask: async (msg) => {
      if (msg !== "wait") return msg;
      await gate.get();
      return "late";
    },
  }, { concurrent: true });
}

/** Once started, puts "spinning" into `out` and holds its event loop for `ms`; then waits for `gate`. */
export async function spinThenWait(out: Queue<string>, gate: Queue<unknown>, ms: number): Promise<void> {
  await out.put("spinning");
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: a probe cannot be answered now.
  }
  await gate.get();
}

/** Once started, puts "spinning" into `out`, holds its event loop for `ms`, then exits without a turn of it. */
export async function spinThenExit(out: Queue<string>, ms: number): Promise<void> {
  await out.put("spinning");
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: a probe cannot be answered now, nor ever.
  }
  Deno.exit(0);
}

/** A managed object whose `wait` answers once `open` was called. */
export function latch() {
  const { promise, resolve } = Promise.withResolvers<string>();
  return { wait: () => promise, open: () => resolve("late") };
}

/** Runs `trigger` `DELAY_MS` from now: the event the wait under test waits for. */
function later(trigger: () => unknown): void {
  setTimeout(
    () => Promise.resolve(trigger()).catch((error) => console.error("trigger failed:", error)),
    DELAY_MS,
  );
}

/** Asserts that `waiting` settled no earlier than the event (`DELAY_MS` after `start`). */
function waited(start: number, what: string): void {
  const ms = performance.now() - start;
  assert.ok(ms >= DELAY_MS - 5, `${what} settled after ${ms.toFixed(1)} ms, before the event`);
}

type Case = (limit: number, backend: Backend) => Promise<void>;

/** Every public wait, and the options a limit is given to; `both` cases involve a child. */
export const CASES: Record<string, { readonly both: boolean; readonly run: Case }> = {
  "Process.join": {
    both: true,
    async run(limit, backend) {
      const gate = new Queue<unknown>();
      const p = new Process({ target: waitForGate, args: [gate], module: MODULE, backend });
      await p.start();
      const start = performance.now();
      const joined = p.join(limit);
      later(() => gate.put(1));
      await joined;
      waited(start, "join");
      assert.equal(p.exitCode, 0);
    },
  },
  "shutdown timeoutMs": {
    both: true,
    async run(limit, backend) {
      const gate = new Queue<unknown>();
      const p = new Process({ target: waitForGate, args: [gate], module: MODULE, backend });
      await p.start();
      const start = performance.now();
      const done = shutdown({ timeoutMs: limit });
      later(() => gate.put(1));
      await done;
      waited(start, "shutdown");
      assert.equal(p.exitCode, 0);
    },
  },
  "Pool.apply timeoutMs": {
    both: true,
    async run(limit, backend) {
      await using pool = new Pool({ processes: 1, module: MODULE, backend });
      assert.equal(await pool.apply(nap, [DELAY_MS], { timeoutMs: limit }), "slept");
    },
  },
  "Pool.map timeoutMs": {
    both: true,
    async run(limit, backend) {
      await using pool = new Pool({ processes: 2, module: MODULE, backend });
      assert.deepEqual(
        await pool.map(nap, [DELAY_MS, DELAY_MS, DELAY_MS], { timeoutMs: limit, chunksize: 1 }),
        ["slept", "slept", "slept"],
      );
    },
  },
  "AsyncResult.get": {
    both: true,
    async run(limit, backend) {
      await using pool = new Pool({ processes: 1, module: MODULE, backend });
      const start = performance.now();
      assert.equal(await pool.applyAsync(nap, [DELAY_MS]).get(limit), "slept");
      waited(start, "get");
    },
  },
  "AsyncResult.wait": {
    both: true,
    async run(limit, backend) {
      await using pool = new Pool({ processes: 1, module: MODULE, backend });
      const result = pool.applyAsync(nap, [DELAY_MS]);
      await result.wait(limit);
      assert.equal(result.ready(), true, "ready after wait");
    },
  },
  "Pool.join": {
    both: true,
    async run(limit, backend) {
      const pool = new Pool({ processes: 1, module: MODULE, backend });
      const result = pool.applyAsync(nap, [DELAY_MS]);
      pool.close();
      await pool.join(limit);
      assert.equal(result.ready(), true, "the task finished before join returned");
    },
  },
  "Queue.get": {
    both: false,
    async run(limit) {
      const q = new Queue<number>();
      later(() => q.put(1));
      assert.equal(await q.get({ timeout: limit }), 1);
    },
  },
  "Queue.put": {
    both: false,
    async run(limit) {
      const q = new Queue<number>(1);
      await q.put(1);
      later(() => q.get());
      const start = performance.now();
      await q.put(2, { timeout: limit });
      waited(start, "put");
      assert.equal(await q.get(), 2);
    },
  },
  "JoinableQueue.join": {
    both: false,
    async run(limit) {
      const q = new JoinableQueue<number>();
      await q.put(1);
      await q.get();
      later(() => q.taskDone());
      assert.equal(await q.join({ timeout: limit }), true);
    },
  },
  "Connection.recv": {
    both: false,
    async run(limit) {
      const [a, b] = Pipe<string>();
      later(() => b.send("late"));
      assert.equal(await a.recv({ timeout: limit }), "late");
      a.close();
      b.close();
    },
  },
  "Connection.poll": {
    both: false,
    async run(limit) {
      const [a, b] = Pipe<string>();
      later(() => b.send("late"));
      assert.equal(await a.poll(limit), true);
      a.close();
      b.close();
    },
  },
  "Lock.acquire": {
    both: false,
    async run(limit) {
      const lock = new Lock();
      await lock.acquire();
      later(() => lock.release());
      assert.equal(await lock.acquire({ timeout: limit }), true);
      lock.release();
    },
  },
  "Lock.hold": {
    both: false,
    async run(limit) {
      const lock = new Lock();
      await lock.acquire();
      later(() => lock.release());
      using _held = await lock.hold({ timeout: limit });
    },
  },
  "RLock.acquire": {
    both: false,
    async run(limit) {
      // Another process holds it (here it would re-enter) until the gate opens.
      const lock = new RLock();
      const held = new Queue<string>();
      const gate = new Queue<unknown>();
      const p = new Process({ target: holdRLock, args: [lock, held, gate], module: MODULE });
      await p.start();
      assert.equal(await held.get(), "held");
      later(() => gate.put(1));
      assert.equal(await lock.acquire({ timeout: limit }), true);
      lock.release();
      await p.join();
    },
  },
  "Semaphore.acquire": {
    both: false,
    async run(limit) {
      const sem = new Semaphore(0);
      later(() => sem.release());
      assert.equal(await sem.acquire({ timeout: limit }), true);
    },
  },
  "BoundedSemaphore.acquire": {
    both: false,
    async run(limit) {
      const sem = new BoundedSemaphore(1);
      await sem.acquire();
      later(() => sem.release());
      assert.equal(await sem.acquire({ timeout: limit }), true);
    },
  },
  "Event.wait": {
    both: false,
    async run(limit) {
      const event = new Event();
      later(() => event.set());
      assert.equal(await event.wait(limit), true);
    },
  },
  "Condition.wait": {
    both: false,
    async run(limit) {
      const cond = new Condition();
      await cond.acquire();
      later(async () => {
        await cond.acquire();
        cond.notify();
        cond.release();
      });
      assert.equal(await cond.wait(limit), true);
      cond.release();
    },
  },
  "Condition.waitFor": {
    both: false,
    async run(limit) {
      const cond = new Condition();
      let ready = false;
      await cond.acquire();
      later(async () => {
        await cond.acquire();
        ready = true;
        cond.notifyAll();
        cond.release();
      });
      assert.equal(await cond.waitFor(() => ready, limit), true);
      cond.release();
    },
  },
  "Barrier.wait": {
    both: false,
    async run(limit) {
      const barrier = new Barrier(2);
      later(() => barrier.wait());
      const start = performance.now();
      await barrier.wait(limit);
      waited(start, "Barrier.wait");
    },
  },
  "Barrier timeout": {
    both: false,
    async run(limit) {
      const barrier = new Barrier(2, { timeout: limit });
      later(() => barrier.wait());
      const start = performance.now();
      await barrier.wait();
      waited(start, "Barrier.wait");
    },
  },
  "ActorRef.ask": {
    both: true,
    async run(limit, backend) {
      const gate = new Queue<unknown>();
      const p = new Process({ target: gated, args: [gate], module: MODULE, backend });
      await p.start();
      const ref = p.ref() as ActorRef<unknown, unknown>;
      later(() => gate.put(1));
      assert.equal(await ref.ask("wait", { timeout: limit }), "late");
      p.terminate();
      await p.join();
    },
  },
  "Manager proxy call timeout": {
    both: true,
    async run(limit, backend) {
      const manager = new Manager({ backend, module: MODULE });
      manager.register("Latch", latch, { module: MODULE, exposed: ["wait", "open"] });
      await manager.start();
      try {
        const proxy = await manager.create("Latch");
        later(() => proxy.call("open"));
        assert.equal(await proxy.call("wait", [], { timeout: limit }), "late");
      } finally {
        await manager.shutdown();
      }
    },
  },
  "Manager sync proxies": {
    both: true,
    async run(limit, backend) {
      const manager = await new Manager({ backend }).start();
      try {
        const event = await manager.event();
        later(() => event.set());
        assert.equal(await event.wait(limit), true);
        const lock = await manager.lock();
        await lock.acquire();
        later(() => lock.release());
        assert.equal(await lock.acquire({ timeout: limit }), true);
        const barrier = await manager.barrier(2, { timeout: limit });
        later(() => barrier.wait());
        await barrier.wait();
      } finally {
        await manager.shutdown();
      }
    },
  },
  "Supervisor options": {
    both: true,
    async run(limit, backend) {
      const gate = new Queue<unknown>();
      const events: SupervisorEventDetail[] = [];
      const sup = new Supervisor({
        periodMs: limit,
        backoff: { minMs: 1, maxMs: limit },
        children: [{
          id: "a",
          target: gated,
          args: [gate],
          module: MODULE,
          backend,
          heartbeatMs: limit,
          shutdownMs: limit,
        }],
      });
      for (const type of ["exited", "gave-up"]) {
        sup.addEventListener(
          type,
          (event) => events.push((event as CustomEvent<SupervisorEventDetail>).detail),
        );
      }
      await sup.start();
      const ref = sup.ref("a");
      later(() => gate.put(1));
      assert.equal(await ref.ask("wait", { timeout: limit }), "late");
      assert.equal(events.length, 0, `nothing exited while the ask waited: ${JSON.stringify(events)}`);
      // A graceful stop with no limit: the serve() loop returns, nothing is killed.
      await sup.stop();
      assert.deepEqual(events.map((e) => e.type === "exited" && e.exitCode), [0]);
    },
  },
  "ps timeoutMs": {
    both: false,
    async run(limit, backend) {
      const out = new Queue<string>();
      const gate = new Queue<unknown>();
      const p = new Process({ target: spinThenWait, args: [out, gate, DELAY_MS], module: MODULE, backend });
      await p.start();
      assert.equal(await out.get(), "spinning");
      const rows = await ps({ timeoutMs: limit });
      const row = rows.find((row) => row.name === p.name);
      assert.equal(row?.status, "running", "it answered once its loop was free");
      await gate.put(1);
      await p.join();
      // One that exits before it answers ends the wait for its answer.
      const q = new Process({ target: spinThenExit, args: [out, DELAY_MS], module: MODULE, backend });
      await q.start();
      assert.equal(await out.get(), "spinning");
      await ps({ timeoutMs: limit });
      await q.join();
      assert.equal(q.exitCode, 0);
    },
  },
};

if (import.meta.main) {
  const [name, backend = "worker"] = Deno.args as [string, Backend];
  const run = CASES[name]?.run;
  if (!run) throw new Error(`No case ${name}`);
  for (const limit of [Infinity, OVER_TIMER_MS]) {
    try {
      await run(limit, backend);
    } catch (error) {
      throw new Error(`${name} with ${limit} on ${backend}`, { cause: error });
    }
  }
  console.log(`ok ${name}`);
}
