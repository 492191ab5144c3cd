/**
 * Pool: construction, apply and AsyncResult, map and imap with Python's
 * rules, close/terminate, errors, initializers, maxTasksPerChild, timeouts,
 * cancels, transfer and stats. Worker deaths and the random workload are in
 * pool_crash_test.ts.
 */

import assert from "node:assert/strict";
import { Pool, PoolClosedError, type PoolOptions, ProcessError, ProcessTimeoutError } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, PATIENCE_MS, waitForReport, within } from "./_helpers.ts";
import * as targets from "./testdata/pool_targets.ts";
import { pool, tempDir } from "./testdata/pool_helpers.ts";

const module = targets.MODULE;

/** An empty file in `dir` for a task to write when it starts (waitForReport watches it). */
async function marker(dir: { path: string }, name: string): Promise<string> {
  const path = `${dir.path}/${name}`;
  await Deno.writeTextFile(path, "");
  return path;
}

/** The numbers from 0 below `n`. */
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Counts a generator's pulls, and whether it was closed. */
interface Pulls {
  pulled: number;
  closed: boolean;
}

/** 0, 1, 2, … forever, counting what is pulled. */
function* naturals(pulls: Pulls): Generator<number> {
  try {
    for (let i = 0;; i++) {
      pulls.pulled++;
      yield i;
    }
  } finally {
    pulls.closed = true;
  }
}

async function* asyncNaturals(pulls: Pulls): AsyncGenerator<number> {
  try {
    for (let i = 0;; i++) {
      await Promise.resolve();
      pulls.pulled++;
      yield i;
    }
  } finally {
    pulls.closed = true;
  }
}

async function* asyncRange(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    await Promise.resolve();
    yield i;
  }
}

/** Yields 0…`at - 1`, then throws. */
function* throwsAt(at: number): Generator<number> {
  for (let i = 0; i < at; i++) yield i;
  throw new Error(`the source failed at ${at}`);
}

/** Calls `next()` until done, recording values and the text of errors, in order. */
async function drainWithErrors<T>(it: AsyncIterator<T>, limit = 1000): Promise<(T | string)[]> {
  const seen: (T | string)[] = [];
  for (let i = 0; i < limit; i++) {
    try {
      const step = await within(it.next());
      if (step.done) return seen;
      seen.push(step.value);
    } catch (error) {
      seen.push(`error: ${(error as Error).message}`);
    }
  }
  throw new Error(`The iterator did not end after ${limit} steps`);
}

/** Collects an async iterator. */
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const got: T[] = [];
  for await (const value of it) got.push(value);
  return got;
}

/** Waits until every worker of `p` is ready: as many tasks meet, each on an idle worker. */
async function allReady(p: Pool): Promise<void> {
  await using dir = await tempDir();
  const ids = await within(
    Promise.all(
      range(p.processes).map(() =>
        p.apply(targets.rendezvous, [dir.path, p.processes], { timeoutMs: 20_000 })
      ),
    ),
  );
  assert.equal(new Set(ids).size, p.processes);
}

/** Not exported from pool_targets.ts: a worker cannot find it. */
function notExported(x: number): number {
  return x;
}

// ---------------------------------------------------------------------------
// Without workers
// ---------------------------------------------------------------------------

Deno.test(
  "Pool: the constructor rejects bad options before starting anything",
  withLeakCheck(() => {
    for (const processes of [0, -1, 1.5, NaN]) {
      assert.throws(() => new Pool(processes), RangeError, `processes ${processes}`);
      assert.throws(() => new Pool({ processes, module }), RangeError, `processes ${processes}`);
    }
    for (const maxTasksPerChild of [0, -1, 0.5, "12"]) {
      assert.throws(
        () => new Pool({ processes: 1, module, maxTasksPerChild: maxTasksPerChild as number }),
        (error) => {
          assert.ok(error instanceof RangeError, `maxTasksPerChild ${maxTasksPerChild}: ${error}`);
          assert.match(error.message, /maxTasksPerChild/);
          return true;
        },
      );
    }
    assert.throws(
      () => new Pool({ processes: 1, module, initializer: "init" as unknown as () => void }),
      { name: "TypeError", message: /initializer must be a function/ },
    );
    assert.throws(
      () => new Pool({ processes: 1, module, maxtasksperchild: 2 } as PoolOptions),
      { name: "TypeError", message: /unknown option "maxtasksperchild"/ },
    );
    assert.throws(() => new Pool({ processes: 1, module, initargs: 1 as unknown as [] }), TypeError);
    assert.throws(() => new Pool({ processes: 1, module, retries: -1 }), RangeError);
    assert.throws(() => new Pool({ processes: 1, module, intensity: -1 }), RangeError);
    assert.throws(() => new Pool({ processes: 1, module, periodMs: 0 }), RangeError);
    assert.throws(() => new Pool({ processes: 1, module: "not a url" }), TypeError);
    // An initializer workers cannot find by name is refused at once.
    assert.throws(
      () => new Pool({ processes: 1, module, initializer: targets.initRecord.bind(null) }),
      TypeError,
    );
  }),
);

// ---------------------------------------------------------------------------
// With workers, on each backend
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`Pool: ${name} (${backend})`, withLeakCheck(fn));

  test("processes, String() and inspect follow the state: RUN, CLOSE, TERMINATE", async () => {
    const p = pool(backend, 2);
    try {
      assert.equal(p.processes, 2);
      assert.equal(String(p), "<Pool state=RUN pool_size=2>");
      assert.equal(Deno.inspect(p), "<Pool state=RUN pool_size=2>");
      assert.equal(p.stats().state, "RUN");
      p.close();
      assert.equal(String(p), "<Pool state=CLOSE pool_size=2>");
      assert.equal(p.stats().state, "CLOSE");
      p.close(); // again: nothing to do
      await within(p.join());
      assert.equal(String(p), "<Pool state=CLOSE pool_size=2>");
      await p.terminate();
      assert.equal(String(p), "<Pool state=TERMINATE pool_size=2>");
    } finally {
      await p.terminate();
    }
    await using q = pool(backend, 1);
    await q.terminate();
    assert.equal(String(q), "<Pool state=TERMINATE pool_size=1>");
  });

  test("functions a worker cannot find by name are refused, at once or by the task", async () => {
    await using p = pool(backend, 1);
    const cases: [string, unknown][] = [
      ["an inline arrow", (x: number) => x],
      ["an anonymous function", function () {}],
      ["a bound function", targets.square.bind(null)],
      ["a class", class Square {}],
      ["a string", "square"],
    ];
    for (const [what, fn] of cases) {
      assert.throws(
        () => p.applyAsync(fn as () => void),
        TypeError,
        `applyAsync refuses ${what}`,
      );
      await assert.rejects(p.apply(fn as () => void), TypeError, `apply refuses ${what}`);
      assert.throws(() => p.mapAsync(fn as () => void, [1]), TypeError, `mapAsync refuses ${what}`);
      assert.throws(() => p.imap(fn as () => void, [1]), TypeError, `imap refuses ${what}`);
    }
    assert.throws(() => p.applyAsync(targets.square, 3 as unknown as [number]), TypeError);
    // A named function the pool's module does not export fails its task only.
    await assert.rejects(p.apply(notExported, [1]), {
      name: "ReferenceError",
      message: /Cannot find the function "notExported"/,
    });
    assert.equal(await p.apply(targets.square, [3]), 9);
  });

  test("apply and applyAsync: callback or errorCallback runs exactly once, before get() returns", async () => {
    await using p = pool(backend, 2);
    assert.equal(await p.apply(targets.add, [2, 3]), 5);
    assert.equal(await p.apply(targets.asyncDouble, [21]), 42);

    const calls: string[] = [];
    const ok = p.applyAsync(targets.add, [20, 22], {
      callback: (value) => calls.push(`callback ${value} ready=${ok.ready()}`),
      errorCallback: (error) => calls.push(`errorCallback ${error}`),
    });
    assert.equal(await within(ok.get()), 42);
    // As in Python, the callback runs before the result is ready.
    assert.deepEqual(calls, ["callback 42 ready=false"]);
    assert.equal(await ok.get(), 42, "get() can be called again");
    assert.equal(ok.successful(), true);

    const errors: unknown[] = [];
    let callbacks = 0;
    const failed = p.applyAsync(targets.throwTaskError, ["no", "E_NO"], {
      callback: () => callbacks++,
      errorCallback: (error) => errors.push(error),
    });
    const rejection = await within(failed.get()).then(() => undefined, (error) => error);
    assert.ok(rejection instanceof Error);
    assert.equal(rejection.message, "no");
    assert.equal(errors.length, 1);
    assert.equal(errors[0], rejection, "errorCallback got the very error get() rejects with");
    assert.equal(callbacks, 0);
    assert.equal(failed.successful(), false);
    await assert.rejects(failed.get(), (error) => error === rejection);
    assert.equal(errors.length, 1, "still once");
  });

  test("a callback that throws is reported, and the result and the pool go on", async () => {
    await using p = pool(backend, 1);
    const reported: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void reported.push(args);
    try {
      const result = p.applyAsync(targets.square, [4], {
        callback: () => {
          throw new Error("callback bug");
        },
      });
      assert.equal(await within(result.get()), 16);
    } finally {
      console.error = original;
    }
    assert.equal(reported.length, 1);
    assert.match(String(reported[0]![0]), /callback threw/);
    assert.equal(await p.apply(targets.square, [5]), 25);
  });

  test("AsyncResult: get(timeout) rejects ProcessTimeoutError and the task still finishes; wait() resolves undefined", async () => {
    await using p = pool(backend, 1);
    const result = p.applyAsync(targets.sleepy, [400, "late"]);
    assert.equal(result.ready(), false);
    assert.throws(() => result.successful(), ProcessError);
    await assert.rejects(result.get(20), ProcessTimeoutError);
    assert.equal(await result.wait(20), undefined);
    assert.equal(result.ready(), false);
    const reason = new Error("stop waiting");
    await assert.rejects(result.get(undefined, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(await within(result.get()), "late");
    assert.equal(await result.wait(), undefined);
    assert.equal(await result.wait(0), undefined);
    assert.equal(result.ready(), true);
    assert.equal(result.successful(), true);
  });

  test("AsyncResult: a bad timeout rejects get() and wait(), as Queue.get does, rather than throwing", async () => {
    await using p = pool(backend, 1);
    const result = p.applyAsync(targets.square, [3]);
    for (const method of ["get", "wait"] as const) {
      for (const timeout of [Number.NaN, "1" as unknown as number]) {
        let returned: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          returned = result[method](timeout);
        }, `${method}(${String(timeout)}) returns a promise`);
        await assert.rejects(returned!, TypeError);
      }
    }
    assert.equal(await within(result.get()), 9);
  });

  test("map, mapAsync, starmap and starmapAsync keep the order; an empty iterable gives []", async () => {
    await using p = pool(backend, 2);
    const items = range(40);
    assert.deepEqual(await p.map(targets.square, items), items.map((x) => x * x));
    assert.deepEqual(await p.map(targets.square, new Set(items), 3), items.map((x) => x * x));
    const pairs = items.map((x) => [x, 100 * x] as [number, number]);
    assert.deepEqual(await p.starmap(targets.add, pairs), items.map((x) => 101 * x));
    assert.deepEqual(await p.starmapAsync(targets.add, pairs, 7).get(), items.map((x) => 101 * x));
    assert.deepEqual(await p.map(targets.asyncDouble, items, { chunksize: 6 }), items.map((x) => 2 * x));

    const seen: number[][] = [];
    const result = p.mapAsync(targets.square, [3, 1, 2], { callback: (values) => seen.push(values) });
    assert.deepEqual(await within(result.get()), [9, 1, 4]);
    assert.deepEqual(seen, [[9, 1, 4]]);

    assert.deepEqual(await p.map(targets.square, []), []);
    assert.deepEqual(await p.starmap(targets.add, []), []);
    const empty: number[][] = [];
    assert.deepEqual(await p.mapAsync(targets.square, [], { callback: (v) => empty.push(v) }).get(), []);
    assert.deepEqual(empty, [[]]);
  });

  test("long chunks of numbers come back exact: -0, NaN, Infinity, and mixed results", async () => {
    await using p = pool(backend, 2);
    const numbers = range(200).map((i) => [-0, NaN, Infinity, -Infinity, 2 ** 53, 0.1, -i][i % 7]!);
    const same = await p.map(targets.identity, numbers, 50);
    assert.equal(same.length, 200);
    same.forEach((value, i) =>
      assert.ok(Object.is(value, numbers[i]), `item ${i}: ${value} for ${numbers[i]}`)
    );
    assert.ok(same.every((value) => typeof value === "number"));
    const mixed = range(100).map((i) => i === 77 ? "seventy-seven" : i);
    assert.deepEqual(await p.map(targets.identity, mixed, 100), mixed);
    const described = await p.map(targets.describe, range(40), 40);
    assert.deepEqual(described, range(40).map((i) => `number ${i}`), "each item arrives as a number");
    assert.deepEqual(
      await collect(p.imap(targets.identity, numbers, 64)).then((got) => got.map(String)),
      numbers.map(String),
    );
    const pairs = range(64).map((i) => [i, -i] as [number, number]);
    assert.deepEqual(await p.starmap(targets.add, pairs, 64), range(64).map(() => 0));
  });

  test("map's default chunksize is ceil(n / (4 × processes)); stats() counts its items, and its chunks apart", async () => {
    await using p = pool(backend, 2);
    for (
      const [n, chunks, chunksize] of [[41, 7, undefined], [40, 8, undefined], [41, 5, 10], [3, 3, undefined]]
    ) {
      // A map's total is known: onProgress gets a number, not number | undefined (deno check fails otherwise).
      const progress: [number, number][] = [];
      const before = p.stats();
      const options = {
        onProgress: (done: number, total: number) => progress.push([done, total]),
      };
      const got = await p.map(
        targets.square,
        range(n!),
        chunksize === undefined ? options : { ...options, chunksize },
      );
      assert.deepEqual(got, range(n!).map((x) => x * x));
      assert.equal(progress.length, chunks, `${n} items in ${chunks} chunks: ${JSON.stringify(progress)}`);
      assert.deepEqual(progress.at(-1), [n, n]);
      assert.ok(progress.every(([, total]) => total === n));
      const after = p.stats();
      assert.equal(after.completed - before.completed, n, "items");
      assert.equal(after.chunks.completed - before.chunks.completed, chunks, "chunks");
    }
  });

  test("stats() after mapping 1,000 items says 1,000 items in 8 chunks, and latencies to the microsecond", async () => {
    await using p = pool(backend, 2);
    const progress: number[] = [];
    await p.starmap(targets.add, range(1000).map((x) => [x, 1] as [number, number]), {
      onProgress: (_done, total) => progress.push(total),
    });
    assert.ok(progress.every((total) => total === 1000));
    const stats = p.stats();
    assert.equal(stats.completed, 1000);
    assert.deepEqual(stats.chunks, { queued: 0, running: 0, completed: 8, failed: 0 });
    assert.equal(stats.workers.reduce((sum, worker) => sum + worker.completed, 0), 1000);
    for (const [q, ms] of Object.entries(stats.latencyMs)) {
      assert.ok(ms > 0, `${q} ${ms}`);
      assert.equal(Math.round(ms * 1000) / 1000, ms, `${q} is rounded to the microsecond: ${ms}`);
    }
    // Items queued and running are counted too, and add up with the chunks while a map runs.
    const result = p.mapAsync(targets.sleepyEcho, [50, 50, 50, 50, 50, 50], 3);
    const during = p.stats();
    assert.equal(during.queued + during.running, 6);
    assert.equal(during.chunks.queued + during.chunks.running, 2);
    await within(result.get());
  });

  test("every error names the method called: map, not mapAsync", async () => {
    await using p = pool(backend, 1);
    // Written in an array, it gets no name: an anonymous function.
    const inline = [(x: number) => x][0]!;
    // The sync ones throw, the others reject: a promise either way.
    const calls: [string, () => unknown][] = [
      ["map", () => p.map(inline, [1])],
      ["starmap", () => p.starmap([(a: number) => a][0]!, [[1]])],
      ["apply", () => p.apply(inline, [1])],
      ["mapAsync", () => p.mapAsync(inline, [1])],
      ["applyAsync", () => p.applyAsync(inline, [1])],
      ["imap", () => p.imap(inline, [1])],
    ];
    for (const [method, call] of calls) {
      await assert.rejects(Promise.resolve().then(call), {
        name: "TypeError",
        message: new RegExp(
          `^${method}: the function must be a named function exported from the Pool's module`,
        ),
      });
    }
    await assert.rejects(p.map(targets.square, [1], { chunksize: 0 }), { message: /^map: chunksize/ });
    await assert.rejects(p.apply(targets.square, [1], { timeoutMs: -1 }), { message: /^apply: timeoutMs/ });
    await assert.rejects(p.map(targets.square, [() => 1] as unknown as number[]), {
      message: /^Cannot send the items of map to a pool worker: items\[0\] is a function/,
    });
    p.close();
    await assert.rejects(p.starmap(targets.add, [[1, 2]]), {
      name: "PoolClosedError",
      message: /^Cannot starmap as the pool is not running \(close\(\) was called\): submit to a new Pool$/,
    });
  });

  test("map and imap refuse a chunksize below 1, non-iterables and non-array starmap items", async () => {
    await using p = pool(backend, 1);
    for (const chunksize of [0, -1, 1.5]) {
      assert.throws(() => p.mapAsync(targets.square, [1], chunksize), RangeError);
      assert.throws(() => p.starmapAsync(targets.add, [[1, 2]], { chunksize }), RangeError);
      await assert.rejects(p.map(targets.square, [1], chunksize), RangeError);
      assert.throws(() => p.imap(targets.square, [1], chunksize), RangeError);
      assert.throws(() => p.imapUnordered(targets.square, [1], { chunksize }), RangeError);
    }
    assert.throws(() => p.mapAsync(targets.square, 5 as unknown as number[]), TypeError);
    assert.throws(() => p.mapAsync(targets.square, asyncRange(2) as unknown as number[]), TypeError);
    assert.throws(() => p.imap(targets.square, null as unknown as number[]), TypeError);
    assert.throws(() => p.starmapAsync(targets.add, [[1, 2], 3 as unknown as [number, number]]), TypeError);
    assert.throws(
      () => p.mapAsync(targets.square, [1], { onProgress: 1 as unknown as () => void }),
      TypeError,
    );
    assert.throws(() => p.mapAsync(targets.square, [1], { timeoutMs: 0 }), RangeError);
    assert.equal(p.stats().completed + p.stats().failed, 0, "nothing was sent");
  });

  test("map is not fail-fast: it fails with the first failure once every chunk has finished", async () => {
    await using p = pool(backend, 2);
    const progress: number[] = [];
    const errors: unknown[] = [];
    let callbacks = 0;
    const items: [number, number][] = [[-1, 0], [2, 300], [-3, 150], [4, 0]];
    const before = p.stats();
    const result = p.starmapAsync(targets.slowSquareOrThrow, items, {
      chunksize: 1,
      onProgress: (done) => progress.push(done),
      callback: () => callbacks++,
      errorCallback: (error) => errors.push(error),
    });
    const error = await within(result.get()).then(() => undefined, (e) => e);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "TaskError");
    assert.equal(error.message, "negative: -1", "the first failure");
    // Everything had finished when it failed: both successes, and the slower failure.
    assert.equal(progress.length, 2, `progress ${progress}`);
    const after = p.stats();
    assert.equal(after.completed - before.completed, 2);
    assert.equal(after.failed - before.failed, 2);
    assert.equal(after.running + after.queued, 0);
    assert.deepEqual(errors, [error]);
    assert.equal(callbacks, 0);
    await assert.rejects(p.starmap(targets.slowSquareOrThrow, items, 1), { message: "negative: -1" });
  });

  test("a map's chunk fails as a whole", async () => {
    await using p = pool(backend, 2);
    const progress: [number, number | undefined][] = [];
    await assert.rejects(
      p.map(targets.squareOrThrow, [0, 1, 2, -3, 4, 5, 6, 7], {
        chunksize: 4,
        onProgress: (done, total) => progress.push([done, total]),
      }),
      { name: "TaskError", message: "negative: -3", code: "E_NEG" },
    );
    assert.deepEqual(progress, [[4, 8]], "only the second chunk reported progress");
  });

  test("an iterable that throws makes map reject and mapAsync throw, with nothing sent", async () => {
    await using p = pool(backend, 1);
    await assert.rejects(p.map(targets.square, throwsAt(3)), { message: "the source failed at 3" });
    assert.throws(() => p.mapAsync(targets.square, throwsAt(2)), { message: "the source failed at 2" });
    assert.throws(() => p.starmapAsync(targets.add, throwsAt(0) as Iterable<never>), {
      message: "the source failed at 0",
    });
    const stats = p.stats();
    assert.equal(stats.completed + stats.failed + stats.queued + stats.running, 0);
  });

  test("imap and imapUnordered over arrays, generators and async generators", async () => {
    await using p = pool(backend, 2);
    const squares = range(10).map((x) => x * x);
    assert.deepEqual(await collect(p.imap(targets.square, range(10))), squares);
    assert.deepEqual(await collect(p.imap(targets.square, range(10)[Symbol.iterator]())), squares);
    assert.deepEqual(await collect(p.imap(targets.square, asyncRange(10))), squares);
    assert.deepEqual(await collect(p.imap(targets.square, asyncRange(10), 3)), squares);
    assert.deepEqual(
      await collect(p.imap(targets.asyncDouble, range(10), { chunksize: 4 })),
      squares.map((_, i) => 2 * i),
    );
    assert.deepEqual(await collect(p.imap(targets.square, [])), []);
    for (const chunksize of [1, 3]) {
      const unordered = await collect(p.imapUnordered(targets.square, asyncRange(10), chunksize));
      assert.deepEqual(unordered.sort((a, b) => a - b), squares);
    }
    assert.deepEqual(await collect(p.imapUnordered(targets.square, [])), []);
  });

  test("imap yields in order, imapUnordered as results finish", async () => {
    await using p = pool(backend, 2);
    // Both workers are ready first, so the slow task does not hold up the quick ones.
    await allReady(p);
    const sleeps = [600, 1, 2];
    const ordered = await within(collect(p.imap(targets.sleepyEcho, sleeps)));
    assert.deepEqual(ordered, sleeps);
    const unordered = await within(collect(p.imapUnordered(targets.sleepyEcho, sleeps)));
    assert.deepEqual([...unordered].sort((a, b) => a - b), [1, 2, 600]);
    assert.notEqual(unordered[0], 600, `the slow one came first: ${unordered}`);
  });

  test("imap raises a failure at its place, and next() goes on after it", async () => {
    await using p = pool(backend, 2);
    assert.deepEqual(await drainWithErrors(p.imap(targets.squareOrThrow, [0, 1, -2, 3, 4])), [
      0,
      1,
      "error: negative: -2",
      9,
      16,
    ]);
    // A chunk fails as a whole.
    assert.deepEqual(await drainWithErrors(p.imap(targets.squareOrThrow, [0, 1, -2, 3, 4, 5, 6], 3)), [
      "error: negative: -2",
      9,
      16,
      25,
      36,
    ]);
    const unordered = await drainWithErrors(p.imapUnordered(targets.squareOrThrow, [0, -1, 2]));
    assert.deepEqual(unordered.map(String).sort(), ["0", "4", "error: negative: -1"]);
    // The error is the worker's, with its class name and fields.
    const it = p.imap(targets.squareOrThrow, [-5]);
    await assert.rejects(within(it.next()), { name: "TaskError", code: "E_NEG" });
    assert.deepEqual(await within(it.next()), { value: undefined, done: true });
  });

  test("imap over a source that throws at 7 yields the full chunks before it, then throws", async () => {
    await using p = pool(backend, 2);
    for (const [chunksize, yielded] of [[1, 7], [2, 6], [4, 4]] as const) {
      const seen = await drainWithErrors(p.imap(targets.square, throwsAt(7), chunksize));
      assert.deepEqual(
        seen,
        [...range(yielded).map((x) => x * x), "error: the source failed at 7"],
        `chunksize ${chunksize}`,
      );
    }
    const seen = await drainWithErrors(p.imapUnordered(targets.square, throwsAt(7), 2));
    assert.equal(seen.length, 7);
    assert.equal(seen.at(-1), "error: the source failed at 7");
  });

  test("imap reads an endless source lazily: break after 20 stops it, with a bounded number pulled", async () => {
    await using p = pool(backend, 2);
    // At most 64 chunks per worker are out at once (the iterator's window).
    const bound = 20 + 64 * p.processes + 1;
    for (const [name, make] of [["generator", naturals], ["async generator", asyncNaturals]] as const) {
      const pulls: Pulls = { pulled: 0, closed: false };
      const got: number[] = [];
      await within((async () => {
        for await (const y of p.imap(targets.square, make(pulls))) {
          got.push(y);
          if (got.length === 20) break;
        }
      })());
      assert.deepEqual(got, range(20).map((x) => x * x), name);
      assert.ok(pulls.pulled <= bound, `${name}: pulled ${pulls.pulled} items (at most ${bound})`);
      assert.ok(pulls.closed, `${name}: the source was closed`);
    }
    const pulls: Pulls = { pulled: 0, closed: false };
    const got: number[] = [];
    await within((async () => {
      for await (const y of p.imapUnordered(targets.square, naturals(pulls), 5)) {
        got.push(y);
        if (got.length >= 20) break;
      }
    })());
    assert.ok(pulls.pulled <= 20 + 5 * 64 * p.processes + 5, `unordered: pulled ${pulls.pulled}`);
    assert.ok(pulls.closed);
    assert.equal(await p.apply(targets.square, [3]), 9, "the pool still answers");
  });

  test("imap reports progress; the total is known once the source is exhausted", async () => {
    await using p = pool(backend, 2);
    const progress: [number, number | undefined][] = [];
    const got = await collect(
      p.imap(targets.square, range(6), { chunksize: 2, onProgress: (d, t) => progress.push([d, t]) }),
    );
    assert.deepEqual(got, [0, 1, 4, 9, 16, 25]);
    assert.equal(progress.length, 3);
    assert.deepEqual(progress.map(([done]) => done), [2, 4, 6]);
    assert.deepEqual(progress.at(-1), [6, 6]);

    // While the source is not exhausted, the total is undefined.
    const gate = Promise.withResolvers<void>();
    async function* source() {
      yield 1;
      await gate.promise;
      yield 2;
    }
    const gated: [number, number | undefined][] = [];
    const it = p.imap(targets.square, source(), { onProgress: (d, t) => gated.push([d, t]) });
    assert.deepEqual(await within(it.next()), { value: 1, done: false });
    assert.deepEqual(gated, [[1, undefined]]);
    gate.resolve();
    assert.deepEqual(await within(collect({ [Symbol.asyncIterator]: () => it })), [4]);
    assert.deepEqual(gated, [[1, undefined], [2, 2]]);
  });

  test("close(): submissions throw or reject 'the pool is not running'; queued tasks still finish; join waits for the workers", async () => {
    const p = pool(backend, 1);
    try {
      await assert.rejects(p.join(), { name: "ProcessError", message: /still running/ });
      const queued = range(4).map((i) => p.applyAsync(targets.sleepy, [30, i]));
      const mapped = p.mapAsync(targets.square, range(5));
      p.close();
      const notRunning = (method: string) => ({
        name: "PoolClosedError",
        message: new RegExp(`^Cannot ${method} as the pool is not running \\(close\\(\\) was called\\)`),
      });
      assert.throws(() => p.applyAsync(targets.square, [1]), notRunning("applyAsync"));
      assert.throws(() => p.mapAsync(targets.square, [1]), notRunning("mapAsync"));
      assert.throws(() => p.starmapAsync(targets.add, [[1, 2]]), notRunning("starmapAsync"));
      assert.throws(() => p.imap(targets.square, [1]), notRunning("imap"));
      assert.throws(() => p.imapUnordered(targets.square, [1]), notRunning("imapUnordered"));
      await assert.rejects(p.apply(targets.square, [1]), notRunning("apply"));
      await assert.rejects(p.map(targets.square, [1]), notRunning("map"));
      await assert.rejects(p.starmap(targets.add, [[1, 2]]), notRunning("starmap"));
      assert.deepEqual(await within(Promise.all(queued.map((r) => r.get()))), [0, 1, 2, 3]);
      assert.deepEqual(await within(mapped.get()), [0, 1, 4, 9, 16]);
      await within(p.join());
      assert.deepEqual(p.stats().workers, [], "every worker exited");
      await within(p.join(), 1_000); // again: at once
    } finally {
      await p.terminate();
    }
  });

  test("close() right away: join resolves with no task ever run", async () => {
    const p = pool(backend, 2);
    p.close();
    await within(p.join());
    assert.deepEqual(p.stats().workers, []);
    await p.terminate();
  });

  test("close() lets an imap whose source is still being read finish, as Python does", async () => {
    await using p = pool(backend, 1);
    const gate = Promise.withResolvers<void>();
    async function* source() {
      yield 1;
      yield 2;
      await gate.promise;
      yield 3;
      yield 4;
    }
    const it = p.imap(targets.square, source());
    assert.deepEqual(await within(it.next()), { value: 1, done: false });
    p.close();
    gate.resolve();
    assert.deepEqual(await within(collect({ [Symbol.asyncIterator]: () => it })), [4, 9, 16]);
    await within(p.join());
  });

  test("terminate(): unfinished tasks reject PoolClosedError, and every worker has exited when it resolves", async () => {
    const p = pool(backend, 1);
    const dir = await tempDir();
    try {
      const started = await marker(dir, "started");
      const errors: unknown[] = [];
      const running = p.applyAsync(targets.startThenSleep, [started, 10_000, "never"], {
        errorCallback: (e) => errors.push(e),
      });
      const queued = p.applyAsync(targets.square, [2], { errorCallback: (e) => errors.push(e) });
      const mapped = p.mapAsync(targets.square, range(3));
      const it = p.imap(targets.square, range(3));
      await waitForReport(started, PATIENCE_MS);
      await within(p.terminate());
      assert.deepEqual(p.stats().workers, []);
      const terminated = { name: "PoolClosedError", message: /terminated/ };
      await assert.rejects(running.get(), terminated);
      await assert.rejects(queued.get(), terminated);
      await assert.rejects(mapped.get(), terminated);
      await assert.rejects(within(it.next()), terminated);
      assert.equal(errors.length, 2, "each errorCallback once");
      assert.ok(errors.every((e) => e instanceof PoolClosedError));
      assert.throws(() => p.applyAsync(targets.square, [1]), {
        name: "PoolClosedError",
        message: /^Cannot applyAsync as the pool is not running \(it was terminated\)/,
      });
      await within(p.join());
      await within(p.terminate()); // again
    } finally {
      await p.terminate();
      await dir[Symbol.asyncDispose]();
    }
  });

  test("await using terminates the pool at the end of the block", async () => {
    let escaped: Pool;
    let result;
    {
      await using p = pool(backend, 1);
      escaped = p;
      result = p.applyAsync(targets.sleepy, [10_000, "never"]);
    }
    assert.equal(String(escaped), "<Pool state=TERMINATE pool_size=1>");
    assert.deepEqual(escaped.stats().workers, []);
    await assert.rejects(within(result.get()), PoolClosedError);
  });

  test("errors keep their class name, message, fields and the worker's stack", async () => {
    await using p = pool(backend, 2);
    const error = await p.apply(targets.throwTaskError, ["boom", "E_BOOM"]).then(() => undefined, (e) => e);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "TaskError");
    assert.equal(error.message, "boom");
    assert.equal((error as targets.TaskError).code, "E_BOOM");
    assert.deepEqual((error as targets.TaskError).details, { attempt: 1, tags: ["a", "b"] });
    assert.match(error.stack ?? "", /pool_targets\.ts/);
    assert.match(error.stack ?? "", /throwTaskError/);

    const typeError = await p.apply(targets.throwTypeError, ["bad type"]).then(() => undefined, (e) => e);
    assert.ok(typeError instanceof TypeError, `a TypeError, not ${typeError}`);
    assert.equal(typeError.message, "bad type");
    const rangeError = await p.apply(targets.rejectRangeError, ["out"]).then(() => undefined, (e) => e);
    assert.ok(rangeError instanceof RangeError, `a RangeError, not ${rangeError}`);
    assert.match(rangeError.stack ?? "", /pool_targets\.ts/);
    assert.equal(p.stats().restarts, 0, "a task that throws does not cost its worker");
  });

  test("a result that cannot be cloned fails only its task, and the worker keeps serving", async () => {
    await using p = pool(backend, 1);
    assert.equal(await p.apply(targets.square, [2]), 4);
    await assert.rejects(p.apply(targets.returnFunction), (error) => {
      assert.ok(error instanceof TypeError, `a TypeError, not ${error}`);
      assert.match(error.message, /returnFunction/);
      assert.match(error.message, /result is a function/);
      return true;
    });
    await assert.rejects(p.apply(targets.returnNestedFunction), {
      name: "TypeError",
      message: /result\.inner\.f is a function/,
    });
    await assert.rejects(p.map(targets.returnFunction as () => unknown, [1, 2]), TypeError);
    const name = p.stats().workers[0]!.name;
    assert.equal(await p.apply(targets.square, [3]), 9);
    const stats = p.stats();
    assert.equal(stats.restarts, 0);
    assert.equal(stats.workers[0]!.name, name, "the same worker");
  });

  test("args that cannot be cloned fail that task with a TypeError naming where", async () => {
    await using p = pool(backend, 1);
    const errors: unknown[] = [];
    const result = p.applyAsync(targets.add as (...args: unknown[]) => number, [1, { f() {} }], {
      errorCallback: (e) => errors.push(e),
    });
    await assert.rejects(within(result.get()), (error) => {
      assert.ok(error instanceof TypeError, `a TypeError, not ${error}`);
      assert.match(error.message, /args\[1\]\.f is a function/);
      return true;
    });
    assert.equal(errors.length, 1);
    await assert.rejects(
      p.apply(targets.add as (...args: unknown[]) => number, [Symbol("s")]),
      /args\[0\] is a symbol/,
    );
    await assert.rejects(
      p.map(targets.square as (x: unknown) => number, [1, 2, { nested: [() => 1] }], 5),
      { name: "TypeError", message: /items\[2\]\.nested\[0\] is a function/ },
    );
    assert.equal(await p.apply(targets.square, [3]), 9);
    assert.equal(p.stats().restarts, 0);
  });

  test("a map item that cannot be cloned is named by its place in the whole map", async () => {
    await using p = pool(backend, 1);
    await assert.rejects(
      p.map(targets.square as (x: unknown) => number, [1, 2, () => 3], 1),
      { name: "TypeError", message: /items\[2\] is a function/ },
    );
  });

  test("the initializer runs once in each worker, before its tasks", async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/init.log`;
    const p = pool(backend, 2, { initializer: targets.initRecord, initargs: [log, "tag"] });
    try {
      const seen = await within(Promise.all(range(6).map(() => p.apply(targets.readInit))));
      for (const { value, calls, id } of seen) {
        assert.equal(value, `tag:${id}`);
        assert.equal(calls, 1);
      }
      p.close();
      await within(p.join());
    } finally {
      await p.terminate();
    }
    const lines = (await Deno.readTextFile(log)).trim().split("\n");
    assert.equal(lines.length, 2, "one line per worker");
    assert.equal(new Set(lines).size, 2);
  });

  test("maxTasksPerChild 2: one worker over 6 tasks is three workers, each initialized", async () => {
    await using dir = await tempDir();
    const log = `${dir.path}/init.log`;
    await using p = pool(backend, 1, {
      maxTasksPerChild: 2,
      initializer: targets.initRecord,
      initargs: [log, "t"],
    });
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await within(p.apply(targets.readInit)));
    const ids = seen.map((s) => s.id);
    assert.equal(new Set(ids).size, 3, `worker ids ${ids}`);
    assert.ok(ids[0] === ids[1] && ids[2] === ids[3] && ids[4] === ids[5], `in pairs: ${ids}`);
    assert.ok(seen.every((s) => s.calls === 1 && s.value === `t:${s.id}`));
    const logged = (await Deno.readTextFile(log)).trim().split("\n");
    for (const id of ids) assert.ok(logged.includes(id), `${id} was initialized`);
    // Submitted at once, the same holds.
    const names = await within(Promise.all(range(6).map(() => p.apply(targets.whoAmI))));
    const counts = new Map<string, number>();
    for (const { id } of names) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepEqual([...counts.values()], [2, 2, 2]);
    assert.ok(names.every(({ name }) => /^PoolWorker-\d+$/.test(name)));
    assert.equal(p.stats().failed, 0);
  });

  test("maxTasksPerChild 2: six tasks submitted before the worker is ready all finish", async () => {
    // Submitted at once, they wait for the first worker, which may then get several in one go.
    await using p = pool(backend, 1, { maxTasksPerChild: 2 });
    const results = range(6).map(() => p.applyAsync(targets.whoAmI));
    const seen = await within(Promise.all(results.map((r) => r.get())), 5_000);
    assert.equal(new Set(seen.map((s) => s.id)).size, 3);
  });

  test("maxTasksPerChild 1: six tasks, then close and join do not hang", async () => {
    const p = pool(backend, 2, { maxTasksPerChild: 1 });
    try {
      const results = range(6).map(() => p.applyAsync(targets.whoAmI));
      p.close();
      const seen = await within(Promise.all(results.map((r) => r.get())));
      assert.equal(new Set(seen.map((s) => s.id)).size, 6, "a new worker for each task");
      await within(p.join());
      assert.deepEqual(p.stats().workers, []);
    } finally {
      await p.terminate();
    }
  });

  test("timeoutMs: a task that runs too long rejects ProcessTimeoutError at once, and its worker is replaced", async () => {
    await using p = pool(backend, 1);
    assert.equal(await p.apply(targets.square, [2]), 4);
    for (const [fn, args] of [[targets.sleepy, [10_000, "never"]], [targets.busy, [10_000]]] as const) {
      const started = performance.now();
      const restarts = p.stats().restarts;
      await assert.rejects(
        p.apply(fn as (...args: unknown[]) => unknown, [...args], { timeoutMs: 200 }),
        (error) => {
          assert.ok(error instanceof ProcessTimeoutError, `a ProcessTimeoutError, not ${error}`);
          assert.match(error.message, /Timed out after 200 ms/);
          return true;
        },
      );
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 5_000, `${fn.name} timed out after ${Math.round(elapsed)} ms`);
      assert.equal(await within(p.apply(targets.square, [3])), 9, "a later task works");
      assert.equal(p.stats().restarts, restarts + 1, "the worker was replaced");
    }
    assert.throws(() => p.applyAsync(targets.square, [1], { timeoutMs: 0 }), RangeError);
    assert.throws(() => p.applyAsync(targets.square, [1], { timeoutMs: -5 }), RangeError);
  });

  test("timeoutMs counts run time, not time spent queued", async () => {
    await using p = pool(backend, 1);
    const submitted = performance.now();
    const first = p.apply(targets.sleepy, [300, "first"]);
    const second = p.apply(targets.sleepy, [50, "second"], { timeoutMs: 250 });
    assert.equal(await within(second), "second");
    assert.ok(performance.now() - submitted >= 340, "the second ran after the first");
    assert.equal(await within(first), "first");
    assert.equal(p.stats().restarts, 0);
  });

  test("signal: aborting a queued task rejects it with the reason, and it never runs", async () => {
    await using dir = await tempDir();
    await using p = pool(backend, 1);
    const started = await marker(dir, "started"), ran = `${dir.path}/ran`;
    const blocker = p.applyAsync(targets.startThenSleep, [started, 300, "blocker"]);
    await waitForReport(started, PATIENCE_MS);
    const controller = new AbortController();
    const reason = new Error("not needed");
    const errors: unknown[] = [];
    const queued = p.applyAsync(targets.appendLine, [ran, "queued"], {
      signal: controller.signal,
      errorCallback: (e) => errors.push(e),
    });
    assert.equal(p.stats().queued, 1);
    controller.abort(reason);
    await assert.rejects(within(queued.get()), (e) => e === reason);
    assert.deepEqual(errors, [reason]);
    assert.equal(p.stats().queued, 0);
    assert.equal(await within(blocker.get()), "blocker");
    assert.equal(await p.apply(targets.appendLine, [ran, "after"]), "after");
    assert.equal(await Deno.readTextFile(ran), "after\n", "the cancelled task never ran");
    assert.equal(p.stats().restarts, 0);
  });

  test("signal: aborting a running task rejects it and replaces its worker", async () => {
    await using dir = await tempDir();
    await using p = pool(backend, 1);
    const started = await marker(dir, "started");
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const running = p.applyAsync(targets.startThenSleep, [started, 10_000, "never"], {
      signal: controller.signal,
    });
    await waitForReport(started, PATIENCE_MS);
    assert.equal(p.stats().running, 1);
    controller.abort(reason);
    await assert.rejects(within(running.get()), (e) => e === reason);
    assert.equal(await within(p.apply(targets.square, [6])), 36);
    assert.equal(p.stats().restarts, 1);
  });

  test("signal: an already-aborted signal rejects at once", async () => {
    await using p = pool(backend, 1);
    const reason = new Error("too late");
    const errors: unknown[] = [];
    const result = p.applyAsync(targets.square, [2], {
      signal: AbortSignal.abort(reason),
      errorCallback: (e) => errors.push(e),
    });
    assert.equal(result.ready(), true);
    assert.equal(result.successful(), false);
    assert.deepEqual(errors, [reason]);
    await assert.rejects(result.get(), (e) => e === reason);
    await assert.rejects(
      p.apply(targets.square, [2], { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    await assert.rejects(
      p.map(targets.square, [1, 2, 3], { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    assert.throws(() => p.applyAsync(targets.square, [2], { signal: {} as AbortSignal }), TypeError);
    assert.equal(await p.apply(targets.square, [3]), 9);
  });

  test("signal: aborting a map drops its queued chunks and rejects with the reason", async () => {
    await using p = pool(backend, 1);
    const controller = new AbortController();
    const reason = new Error("enough");
    const items = range(6).map((i) => [100, i] as [number, number]);
    const before = p.stats();
    const mapped = p.starmap(targets.sleepy, items, {
      chunksize: 1,
      signal: controller.signal,
      onProgress: () => controller.abort(reason),
    });
    await assert.rejects(within(mapped), (e) => e === reason);
    const after = p.stats();
    assert.equal(after.completed - before.completed, 1, "only the first chunk ran to the end");
    assert.equal(after.queued + after.running, 0);
  });

  test("imap with an already-aborted signal rejects rather than hang", async () => {
    await using p = pool(backend, 1);
    const reason = new Error("no");
    const it = p.imap(targets.square, [1, 2, 3], { signal: AbortSignal.abort(reason) });
    await assert.rejects(within(it.next(), 2_000), (e) => e === reason);
  });

  test("imap aborted while its source is unfinished ends rather than hang", async () => {
    await using p = pool(backend, 1);
    const controller = new AbortController();
    const reason = new Error("stop");
    const pulls: Pulls = { pulled: 0, closed: false };
    const it = p.imap(targets.square, naturals(pulls), { signal: controller.signal });
    assert.deepEqual(await within(it.next()), { value: 0, done: false });
    controller.abort(reason);
    // The chunks already sent each end (with a value or the reason); then the iterator must end.
    let steps = 0;
    for (;;) {
      const step = await within(it.next(), 2_000).catch((e) => {
        if (e === reason) return "aborted" as const;
        throw e;
      });
      if (step !== "aborted" && step.done) break;
      assert.ok(++steps <= pulls.pulled, "no more steps than items pulled");
    }
  });

  test("transfer: the buffer is detached here and the worker gets its bytes", async () => {
    await using p = pool(backend, 1);
    const buffer = new Uint8Array([1, 2, 3, 250]).buffer;
    const result = p.applyAsync(targets.byteSum, [buffer], { transfer: [buffer] });
    assert.equal(buffer.byteLength, 0, "detached at once");
    assert.deepEqual(await within(result.get()), { length: 4, sum: 256 });
    const kept = new Uint8Array([7, 8]).buffer;
    assert.deepEqual(await p.apply(targets.byteSum, [kept]), { length: 2, sum: 15 });
    assert.equal(kept.byteLength, 2, "copied without transfer");
    assert.throws(
      () =>
        p.applyAsync(targets.byteSum, [kept], { transfer: [new Uint8Array(2)] as unknown as ArrayBuffer[] }),
      TypeError,
    );
  });

  test("stats(): shape and counts", async () => {
    await using dir = await tempDir();
    await using p = pool(backend, 2);
    const fresh = p.stats();
    assert.deepEqual(Object.keys(fresh).sort(), [
      "chunks",
      "completed",
      "failed",
      "latencyMs",
      "queued",
      "restarts",
      "running",
      "state",
      "workers",
    ]);
    assert.deepEqual(
      { ...fresh, workers: fresh.workers.length },
      {
        state: "RUN",
        workers: 2,
        queued: 0,
        running: 0,
        completed: 0,
        failed: 0,
        chunks: { queued: 0, running: 0, completed: 0, failed: 0 },
        restarts: 0,
        latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
      },
    );
    for (const worker of fresh.workers) {
      assert.deepEqual(Object.keys(worker).sort(), [
        "assigned",
        "chunks",
        "completed",
        "name",
        "pid",
        "ready",
      ]);
      assert.match(worker.name, /^PoolWorker-\d+$/);
      assert.equal(worker.completed, 0);
      assert.equal(worker.assigned, 0);
    }
    assert.equal(new Set(fresh.workers.map((w) => w.name)).size, 2);

    await within(Promise.all(range(5).map((i) => p.apply(targets.square, [i]))));
    for (let i = 0; i < 2; i++) await assert.rejects(p.apply(targets.throwTypeError, ["x"]), TypeError);
    const after = p.stats();
    assert.equal(after.completed, 5);
    assert.equal(after.failed, 2);
    assert.equal(after.queued + after.running, 0);
    assert.equal(
      after.workers.reduce((sum, w) => sum + w.completed, 0),
      7,
      "workers count what they finished",
    );
    const { p50, p90, p99, max } = after.latencyMs;
    assert.ok(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max, JSON.stringify(after.latencyMs));

    // Two long tasks run (a task with a timeout only goes to an idle worker), a third waits.
    const a = await marker(dir, "a"), b = await marker(dir, "b");
    const long = [a, b].map((path) =>
      p.applyAsync(targets.startThenSleep, [path, 300, path], { timeoutMs: 5_000 })
    );
    await waitForReport(a, PATIENCE_MS);
    await waitForReport(b, PATIENCE_MS);
    const third = p.applyAsync(targets.square, [9], { timeoutMs: 5_000 });
    const busy = p.stats();
    assert.equal(busy.running, 2);
    assert.equal(busy.queued, 1);
    assert.deepEqual(busy.workers.map((w) => w.assigned), [1, 1]);
    assert.ok(busy.workers.every((w) => w.ready && typeof w.pid === "number"));
    assert.equal(await within(third.get()), 81);
    assert.deepEqual(await within(Promise.all(long.map((r) => r.get()))), [a, b]);
    const done = p.stats();
    assert.equal(done.completed, 8);
    assert.equal(done.queued + done.running, 0);
  });
}
