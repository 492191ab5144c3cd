/**
 * Pool: workers that die. A crash fails only its own task (or retries it),
 * crash loops break the pool instead of hanging it, and a random workload of
 * successes, throws, crashes, timeouts and cancels settles every result
 * exactly once.
 */

import assert from "node:assert/strict";
import { PoolClosedError, ProcessError, ProcessTimeoutError, WorkerCrashedError } from "../mod.ts";
import type { AsyncResult, Backend } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, crashReport, PATIENCE_MS, runScript, within, withReports } from "./_helpers.ts";
import * as targets from "./testdata/pool_targets.ts";
import { pool, tempDir } from "./testdata/pool_helpers.ts";

/** What a promise settled with: its value, or the error it rejected with. */
function outcome<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

/**
 * For steps that wait on several worker restarts in a row: under `deno test` a
 * worker type-checks its modules, which on a fresh checkout takes seconds.
 */
const RESTART_PATIENCE_MS = 60_000;

/** Mulberry32: a tiny seeded PRNG, so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`Pool: ${name} (${backend})`, withLeakCheck(fn));

  test("a task that exits fails alone with WorkerCrashedError; its siblings succeed and the pool goes on", async () => {
    await using p = pool(backend, 2);
    const errors: unknown[] = [];
    const crash = p.applyAsync(targets.exitWith, [7], { errorCallback: (e) => errors.push(e) });
    const siblings = [1, 2, 3, 4, 5].map((i) => p.applyAsync(targets.sleepy, [50, i]));
    const error = await within(crash.get()).then(() => undefined, (e) => e);
    assert.ok(error instanceof WorkerCrashedError, `a WorkerCrashedError, not ${error}`);
    assert.ok(error instanceof ProcessError);
    assert.equal(error.name, "WorkerCrashedError");
    assert.equal(error.exitCode, 7);
    assert.match(error.worker, /^PoolWorker-\d+$/);
    assert.match(
      error.message,
      new RegExp(`${error.worker} died \\(exit code 7\\) while running exitWith\\(\\)`),
    );
    assert.deepEqual(errors, [error], "errorCallback once");
    assert.deepEqual(await within(Promise.all(siblings.map((r) => r.get()))), [1, 2, 3, 4, 5]);
    assert.equal(await within(p.apply(targets.square, [5])), 25);
    const stats = p.stats();
    assert.equal(stats.restarts, 1);
    assert.equal(stats.failed, 1);
    assert.equal(stats.completed, 6);
    assert.equal(stats.workers.length, 2);
    assert.ok(!stats.workers.some((w) => w.name === error.worker), "the dead worker is gone");
  });

  test("a crash in a map fails the map once every chunk has finished; the others ran", async () => {
    await using p = pool(backend, 2);
    const progress: number[] = [];
    const items = [0, 1, 2, 3, 4, 5];
    // Item 3 exits with code 9, so the chunk [2, 3] crashes; the other items return -1.
    await assert.rejects(
      within(p.map(targets.exitUnless, items.map((i) => i === 3 ? 9 : -1), {
        chunksize: 2,
        onProgress: (done) => progress.push(done),
      })),
      (error) =>
        error instanceof WorkerCrashedError && error.exitCode === 9 &&
        /a chunk of exitUnless/.test(error.message),
    );
    assert.deepEqual(progress, [2, 4], "the two other chunks finished");
  });

  test("retries: a task whose worker dies the first time runs again on another worker and succeeds", async () => {
    await using dir = await tempDir();
    {
      await using p = pool(backend, 2, { retries: 1 });
      assert.equal(
        await within(p.apply(targets.crashOnce, [`${dir.path}/pool-level`]), RESTART_PATIENCE_MS),
        "ok",
      );
      assert.equal(p.stats().restarts, 1);
      assert.equal(p.stats().failed, 0);
      // retries: 0 for one task overrides the pool's.
      await assert.rejects(
        within(p.apply(targets.crashOnce, [`${dir.path}/no-retry`], { retries: 0 }), RESTART_PATIENCE_MS),
        (e) => e instanceof WorkerCrashedError && e.exitCode === 3,
      );
    }
    {
      await using p = pool(backend, 1);
      // The pool's default is no retry; one task asks for one.
      assert.equal(
        await within(
          p.apply(targets.crashOnce, [`${dir.path}/task-level`], { retries: 1 }),
          RESTART_PATIENCE_MS,
        ),
        "ok",
      );
      await assert.rejects(
        within(p.apply(targets.crashOnce, [`${dir.path}/default`]), RESTART_PATIENCE_MS),
        WorkerCrashedError,
      );
      assert.deepEqual(
        await within(p.map(targets.crashOnce, [`${dir.path}/map`], { retries: 1 }), RESTART_PATIENCE_MS),
        ["ok"],
      );
      // A task that always crashes runs 1 + retries times, then fails.
      const restarts = p.stats().restarts;
      await assert.rejects(within(p.apply(targets.exitWith, [5], { retries: 2 }), RESTART_PATIENCE_MS), {
        exitCode: 5,
      });
      assert.equal(p.stats().restarts - restarts, 3);
      assert.throws(() => p.applyAsync(targets.square, [1], { retries: -1 }), RangeError);
      assert.throws(() => p.applyAsync(targets.square, [1], { retries: 0.5 }), RangeError);
    }
  });

  test(
    "a crash loop (an initializer that throws) breaks the pool: pending tasks reject, nothing hangs",
    withReports([crashReport("Error: the initializer failed on purpose")], async () => {
      const p = pool(backend, 2, { initializer: targets.failingInit });
      try {
        const errors: unknown[] = [];
        const pending = p.applyAsync(targets.square, [2], { errorCallback: (e) => errors.push(e) });
        const mapped = p.mapAsync(targets.square, [1, 2, 3]);
        const it = p.imap(targets.square, [1, 2]);
        const error = await within(pending.get(), PATIENCE_MS).then(() => undefined, (e) => e);
        assert.ok(error instanceof PoolClosedError, `a PoolClosedError, not ${error}`);
        assert.match(error.message, /broke/);
        assert.match(error.message, /3 workers in a row exited before they were ready/);
        // What broke it: the initializer's own error.
        const cause = error.cause as Error | undefined;
        assert.match(String(cause?.message), /the initializer failed on purpose/);
        assert.deepEqual(errors, [error]);
        await assert.rejects(within(mapped.get()), PoolClosedError);
        await assert.rejects(within(it.next()), PoolClosedError);
        assert.equal(String(p), "<Pool state=TERMINATE pool_size=2>");
        assert.throws(() => p.applyAsync(targets.square, [1]), {
          name: "PoolClosedError",
          message: /^Cannot applyAsync as the pool is not running \(it broke: /,
        });
        await assert.rejects(p.map(targets.square, [1]), PoolClosedError);
        await within(p.join());
        assert.deepEqual(p.stats().workers, []);
      } finally {
        await p.terminate();
      }
    }),
  );

  test(
    "an inline initializer the workers cannot find breaks the pool with a ReferenceError",
    withReports([crashReport(`ReferenceError: Cannot find the function "initializer"`)], async () => {
      // The arrow is named "initializer" after the option, so it passes the name check here.
      const p = pool(backend, 1, { initializer: () => {} });
      try {
        const error = await within(p.apply(targets.square, [2])).then(() => undefined, (e) => e);
        assert.ok(error instanceof PoolClosedError, `a PoolClosedError, not ${error}`);
        const cause = error.cause;
        assert.ok(cause instanceof ReferenceError, `caused by a ReferenceError, not ${cause}`);
        assert.match(cause.message, /Cannot find the function "initializer"/);
      } finally {
        await p.terminate();
      }
    }),
  );

  test("intensity 2 in 60 s: the pool breaks after the 3rd crash", async () => {
    const p = pool(backend, 1, { intensity: 2, periodMs: 60_000 });
    try {
      for (let i = 1; i <= 2; i++) {
        await assert.rejects(within(p.apply(targets.exitWith, [1])), WorkerCrashedError, `crash ${i}`);
        assert.equal(p.stats().state, "RUN", `still running after crash ${i}`);
      }
      const third = p.applyAsync(targets.exitWith, [1]);
      const queued = p.applyAsync(targets.square, [4]);
      await assert.rejects(within(third.get()), WorkerCrashedError);
      await assert.rejects(within(queued.get()), { name: "PoolClosedError", message: /broke/ });
      assert.equal(p.stats().state, "TERMINATE");
      assert.throws(() => p.applyAsync(targets.square, [1]), {
        name: "PoolClosedError",
        message: /it broke: its workers exited more than 2 times within 60000 ms/,
      });
      await within(p.join());
    } finally {
      await p.terminate();
    }
  });

  test("retirements and pool-made replacements do not count as crashes", async () => {
    await using p = pool(backend, 1, { maxTasksPerChild: 1, intensity: 0 });
    // Each task retires its worker, and a timeout kills one: none of that breaks an intensity-0 pool.
    for (let i = 0; i < 3; i++) assert.equal(await within(p.apply(targets.square, [i])), i * i);
    await assert.rejects(
      within(p.apply(targets.sleepy, [10_000, 0], { timeoutMs: 100 })),
      ProcessTimeoutError,
    );
    assert.equal(await within(p.apply(targets.square, [9])), 81);
    assert.equal(p.stats().state, "RUN");
    // A real crash does.
    await assert.rejects(within(p.apply(targets.exitWith, [2])), WorkerCrashedError);
    assert.equal(p.stats().state, "TERMINATE");
  });
}

// ---------------------------------------------------------------------------
// A random workload: every result settles exactly once
// ---------------------------------------------------------------------------

type Expect = "value" | "thrown" | "crashed";

/** Runs `count` random tasks on a pool and checks each settles once, with an outcome its step allows. */
async function chaos(backend: Backend, seed: number, count: number, processes: number): Promise<void> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  await using p = pool(backend, processes, { intensity: 1_000 });
  const calls = new Array<number>(count).fill(0);
  const results: AsyncResult<number>[] = [];
  const allowed: { expect: Expect; value: number; timeout: boolean; reason: Error | undefined }[] = [];
  /** Controllers aborted when a later task settles (an event, not a timer). */
  const abortOnSettle = new Map<number, AbortController>();
  const reasons = new Map<AbortController, Error>();

  for (let i = 0; i < count; i++) {
    const kind = pick(["ok", "ok", "throw", "exit", "slow", "slow"] as const);
    const step: targets.Step = kind === "ok"
      ? { kind, value: i }
      : kind === "throw"
      ? { kind, value: i }
      : kind === "exit"
      ? { kind, code: 1 + Math.floor(random() * 100) }
      : { kind, ms: Math.floor(random() * 80), value: i };
    const options: {
      timeoutMs?: number;
      signal?: AbortSignal;
      retries?: number;
      callback: () => void;
      errorCallback: () => void;
    } = {
      callback: () => {
        calls[i]!++;
        abortOnSettle.get(i)?.abort(reasons.get(abortOnSettle.get(i)!));
      },
      errorCallback: () => {
        calls[i]!++;
        abortOnSettle.get(i)?.abort(reasons.get(abortOnSettle.get(i)!));
      },
    };
    if (random() < 0.2) options.timeoutMs = 20 + Math.floor(random() * 80);
    let reason: Error | undefined;
    const cancel = random();
    if (cancel < 0.05) {
      reason = new Error(`task ${i}: aborted before submission`);
      options.signal = AbortSignal.abort(reason);
    } else if (cancel < 0.15 && i > 0) {
      // Aborted when an earlier task settles (that may be before or after this one runs).
      reason = new Error(`task ${i}: aborted when another settled`);
      const controller = new AbortController();
      reasons.set(controller, reason);
      abortOnSettle.set(Math.floor(random() * i), controller);
      options.signal = controller.signal;
    }
    if (random() < 0.3) options.retries = pick([0, 1, 2]);
    allowed.push({
      expect: kind === "throw" ? "thrown" : kind === "exit" ? "crashed" : "value",
      value: i,
      timeout: options.timeoutMs !== undefined,
      reason,
    });
    results.push(p.applyAsync(targets.perform, [step], options));
  }
  // A map with a crash and a throw in it settles once too.
  let mapCalls = 0;
  const mapped = p.mapAsync(
    targets.perform,
    [{ kind: "ok", value: 1 }, { kind: "exit", code: 3 }, { kind: "throw", value: 2 }, {
      kind: "slow",
      ms: 10,
      value: 3,
    }],
    { chunksize: 1, callback: () => mapCalls++, errorCallback: () => mapCalls++ },
  );

  const settled = await within(Promise.all(results.map((r) => outcome(r.get()))), PATIENCE_MS);
  const mapOutcome = await within(outcome(mapped.get()), PATIENCE_MS);
  settled.forEach((got, i) => {
    const { expect, value, timeout, reason } = allowed[i]!;
    const what = `seed ${seed}, task ${i} (${expect}${timeout ? ", timeout" : ""}${
      reason ? ", cancel" : ""
    })`;
    assert.equal(calls[i], 1, `${what}: callback + errorCallback called ${calls[i]} times`);
    assert.equal(results[i]!.ready(), true, what);
    if (got.ok) {
      assert.equal(expect, "value", `${what} succeeded`);
      assert.equal(got.value, value, what);
      return;
    }
    const error = got.error;
    if (reason && error === reason) return;
    if (timeout && error instanceof ProcessTimeoutError) return;
    if (expect === "thrown") {
      assert.equal((error as Error).name, "TaskError", `${what}: ${error}`);
    } else if (expect === "crashed") {
      assert.ok(error instanceof WorkerCrashedError, `${what}: ${error}`);
    } else {
      assert.fail(`${what} failed with ${error}`);
    }
  });
  // The workload did what it is for: some tasks succeeded, some threw, some crashed their worker.
  const errorNames = new Set(settled.flatMap((s) => s.ok ? [] : [(s.error as Error).name]));
  assert.ok(settled.some((s) => s.ok), `seed ${seed}: no task succeeded`);
  assert.ok(errorNames.has("WorkerCrashedError"), `seed ${seed}: no crash among ${[...errorNames]}`);
  assert.equal(mapCalls, 1, "the map's callbacks ran once");
  assert.equal(mapOutcome.ok, false);
  const mapError = !mapOutcome.ok ? mapOutcome.error : undefined;
  assert.ok(
    mapError instanceof WorkerCrashedError || (mapError as Error).name === "TaskError",
    `map: ${mapError}`,
  );

  // The pool still answers, and its counters add up: every task settled once.
  assert.equal(await within(p.apply(targets.square, [7])), 49);
  const stats = p.stats();
  assert.equal(stats.state, "RUN");
  assert.equal(stats.queued + stats.running, 0);
  assert.equal(stats.workers.length, processes);
  const failedHere = settled.filter((s) => !s.ok).length;
  assert.equal(
    stats.chunks.completed + stats.chunks.failed,
    count + 4 + 1,
    "one outcome per task, chunk and the last apply",
  );
  assert.ok(stats.failed >= failedHere);
}

Deno.test(
  "Pool: an OS-process worker killed while idle is not charged with the task handed to it in that instant (subprocess)",
  withLeakCheck(async () => {
    await using p = pool("subprocess", 1);
    assert.equal(await within(p.apply(targets.square, [3])), 9);
    // The pool's process takes the next task for the worker's waiting read before it can know the worker died.
    Deno.kill(p.stats().workers[0]!.pid!, "SIGKILL");
    assert.equal(await within(p.apply(targets.square, [4])), 16);
    const stats = p.stats();
    assert.equal(stats.restarts, 1);
    assert.equal(stats.failed, 0);
  }),
);

for (const backend of BACKENDS) {
  Deno.test(
    `Pool: a task that kills its worker at once is charged with the first death, without retries (${backend})`,
    withLeakCheck(async () => {
      await using p = pool(backend, 1);
      const error = await within(p.apply(targets.exitWith, [5])).then(() => undefined, (e) => e);
      assert.ok(error instanceof WorkerCrashedError, `a WorkerCrashedError, not ${error}`);
      assert.equal(error.exitCode, 5);
      assert.equal(p.stats().restarts, 1);
    }),
  );
}

for (const seed of [1, 2, 3, 4, 5]) {
  Deno.test(
    `Pool: a random workload settles every result exactly once, seed ${seed} (worker)`,
    withLeakCheck(() => chaos("worker", seed, 60, 3)),
  );
}
for (const seed of [11, 12]) {
  Deno.test(
    `Pool: a random workload settles every result exactly once, seed ${seed} (subprocess)`,
    withLeakCheck(() => chaos("subprocess", seed, 20, 2)),
  );
}

// ---------------------------------------------------------------------------
// A program that used a pool ends
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  for (const mode of ["plain", "crash", "timeout"]) {
    Deno.test(`Pool: a program exits once its pool is closed and joined, after a ${mode} run (${backend})`, async () => {
      // Killed rather than hang the suite: a program that does not exit fails here.
      const { code, stdout: out, stderr } = await runScript("pool_exit_script.ts", {
        args: [backend, mode],
        timeoutMs: PATIENCE_MS,
      });
      assert.match(out, /main done/, stderr);
      assert.equal(code, 0, `exit code; stdout: ${out}`);
    });
  }
}
