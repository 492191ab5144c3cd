/**
 * Python's `multiprocessing.Pool`: a fixed number of worker processes that
 * run functions for you, with `apply`, `map`, `imap` and their async forms.
 * Beyond Python, a worker that dies fails only the task it was running and
 * is replaced; tasks take a timeout and an AbortSignal; `stats()` says what
 * the pool is doing.
 *
 * @module
 */

import { BACKENDS } from "../runtime/_backends.ts";
import { functionKey } from "../wire/_function_key.ts";
import { PoolEngine, type PoolStats, type TaskOptions } from "./_pool_engine.ts";
import {
  callSafely,
  encodeTask,
  ImapIterator,
  labelOf,
  type ProgressListener,
  runMap,
} from "./_pool_jobs.ts";
import { TaskKind } from "../runtime/_protocol.ts";
import { runtime } from "../runtime/_runtime.ts";
import { aKind, memoryKindIn } from "../memory/_shared.ts";
import { waitFor } from "../core/_wait.ts";
import { checkDuration, durationMessage, isDuration } from "../core/_duration.ts";
import { ProcessError, ProcessTimeoutError } from "../core/errors.ts";
import { type Backend, cpuCount, type CrashReports, type ProcessPermissions } from "../runtime/process.ts";
import { isCrashReports } from "../core/_report.ts";

export type { PoolState, PoolStats, WorkCounts, WorkerStats } from "./_pool_engine.ts";

/**
 * A task's worker died while running it (it exited, was killed, ran out of
 * memory). The pool replaced the worker; only this task failed.
 *
 * @example
 * ```ts
 * import { WorkerCrashedError } from "@troupe/troupe";
 *
 * const error = new WorkerCrashedError("PoolWorker-2 died", { worker: "PoolWorker-2", exitCode: -9 });
 * console.log(error.exitCode); // -9
 * ```
 */
export class WorkerCrashedError extends ProcessError {
  /** The name of the worker that died. */
  readonly worker: string;
  /** Its exit code: negative for a signal (`-9`: killed). */
  readonly exitCode: number;

  /**
   * Creates the error.
   *
   * @param message What happened.
   * @param details The worker's name and exit code.
   */
  constructor(message: string, details: { worker: string; exitCode: number }) {
    super(message);
    this.name = "WorkerCrashedError";
    this.worker = details.worker;
    this.exitCode = details.exitCode;
  }
}

/**
 * The pool does not run tasks any more: it was closed or terminated (Python's
 * `ValueError("Pool not running")`), or broke after its workers kept dying.
 *
 * @example
 * ```ts
 * import { Pool, PoolClosedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const pool = new Pool(1);
 * await pool.terminate();
 * await assert.rejects(pool.apply(Math.max, [1, 2]), PoolClosedError);
 * ```
 */
export class PoolClosedError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message Why the pool does not run the task.
   * @param options `cause`: what broke the pool, if it broke.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PoolClosedError";
  }
}

/** What a pool is made with (Python's arguments, and more). */
export interface PoolOptions {
  /** How many workers. Default: `cpuCount()`. */
  processes?: number;
  /** A function exported from `module` that each worker runs once, before any task (Python's initializer). */
  initializer?: (...args: never[]) => unknown;
  /** Its arguments. */
  initargs?: unknown[];
  /** Replace a worker after it has run this many tasks (a map's chunk counts as one). Default: never. */
  maxTasksPerChild?: number | null;
  /** Where the workers run, as `Process`'s option. Default "worker". */
  backend?: Backend;
  /** A permission sandbox for every worker, as `Process`'s option. */
  permissions?: ProcessPermissions;
  /** A subprocess worker's heap limit in MiB, as `Process`'s option. */
  memoryLimitMb?: number;
  /**
   * The module that exports the functions the pool runs: workers import it
   * and find them by name, as Python's spawn does. Pass `import.meta.url`
   * when that is not the main module.
   *
   * @default {the main module}
   */
  module?: string | URL;
  /** How many times a task whose worker died is run again on another worker. Default 0. */
  retries?: number;
  /**
   * More than this many worker deaths within `periodMs` break the pool:
   * every task not finished fails. Default 100 (retirements by
   * `maxTasksPerChild`, and workers the pool itself replaced after a timeout
   * or cancel, do not count). Three workers in a row that die before they
   * are ready (their module or initializer fails) break it too.
   */
  intensity?: number;
  /** The window for `intensity`, in ms (`Infinity`: the pool's whole life). Default 1000. */
  periodMs?: number;
  /**
   * How a worker's crash is reported (an uncaught error, or its module or
   * initializer failing): one line on stderr with the error and its first
   * frame (`"line"`), its full stack (`"stack"`), nothing (`"none"`), or a
   * call to a function of yours with `{ process, error }` instead. A task
   * that throws is no crash: its error goes to the caller. Default "line".
   */
  crashReports?: CrashReports;
}

/** How one task runs. */
export interface RunOptions {
  /**
   * Fail the task if it runs longer than this (ms; time spent queued does not
   * count); its worker is replaced. `Infinity` (or none) is no limit.
   */
  timeoutMs?: number;
  /** Cancels the task: a queued one is dropped, a running one's worker is replaced. */
  signal?: AbortSignal;
  /** How many times to run it again on another worker if its worker dies. Default: the pool's `retries`. */
  retries?: number;
  /** ArrayBuffers in the arguments to hand over rather than copy: they are detached here. */
  transfer?: ArrayBuffer[];
}

/** `applyAsync`'s options: Python's callbacks, and how the task runs. */
export interface ApplyAsyncOptions<R> extends RunOptions {
  /** Called with the value when the task succeeds, before the result is ready. */
  callback?: (value: R) => void;
  /** Called with the error when it fails, before the result is ready. */
  errorCallback?: (error: unknown) => void;
}

/** How a map or starmap runs. */
export interface MapOptions {
  /** Items per task. Default: Python's, `ceil(n / (4 × processes))` for a map, 1 for an imap. */
  chunksize?: number;
  /** Cancels the whole map: queued chunks are dropped, running ones' workers replaced. */
  signal?: AbortSignal;
  /** Fail a chunk that runs longer than this (ms); its worker is replaced. `Infinity` (or none) is no limit. */
  timeoutMs?: number;
  /** How many times a chunk whose worker died runs again elsewhere. Default: the pool's `retries`. */
  retries?: number;
  /** Called as chunks finish: items done, and the number of items. */
  onProgress?: (done: number, total: number) => void;
}

/** How an imap runs: its source may be lazy, so the total is known only once it is exhausted. */
export interface ImapOptions extends Omit<MapOptions, "onProgress"> {
  /** Called as chunks finish: items done, and the total (undefined while the source is not exhausted). */
  onProgress?: (done: number, total: number | undefined) => void;
}

/** `mapAsync`'s and `starmapAsync`'s options: Python's callbacks, and how the map runs. */
export interface MapAsyncOptions<R> extends MapOptions {
  /** Called with every result, in order, when all succeeded. */
  callback?: (values: R[]) => void;
  /** Called once with the first failure, after every chunk has finished. */
  errorCallback?: (error: unknown) => void;
}

/** Options for a wait on a result. */
export interface ResultWaitOptions {
  /** Stops waiting, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

/** Makes and settles AsyncResults (set in its static block, which may use its private parts). */
let createResult: <T>(
  callback?: (value: T) => void,
  errorCallback?: (error: unknown) => void,
) => AsyncResult<T>;
let settleResult: (result: unknown, ok: boolean, value: unknown) => void;

/**
 * The result of a task sent with `applyAsync`, `mapAsync` or
 * `starmapAsync` (Python's `AsyncResult`). It settles exactly once, whatever
 * happens to the worker.
 *
 * @typeParam T The task's value.
 *
 * @example
 * ```ts
 * import { Pool } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export function double(x) { return 2 * x; }";
 * const { double } = await import(module);
 * await using pool = new Pool({ processes: 1, module });
 * const result = pool.applyAsync(double, [21]);
 * assert.equal(await result.get(5000), 42);
 * assert.equal(result.ready(), true);
 * assert.equal(result.successful(), true);
 * ```
 */
export class AsyncResult<T> {
  #state: "pending" | "ok" | "failed" = "pending";
  #value: unknown;
  /** Made when someone waits before the task has finished (most never do). */
  #settled: PromiseWithResolvers<void> | undefined;
  readonly #callback: ((value: T) => void) | undefined;
  readonly #errorCallback: ((error: unknown) => void) | undefined;

  private constructor(callback?: (value: T) => void, errorCallback?: (error: unknown) => void) {
    this.#callback = callback;
    this.#errorCallback = errorCallback;
  }

  static {
    createResult = (callback, errorCallback) => new AsyncResult(callback, errorCallback);
    settleResult = (context, ok, value) => {
      const result = context as AsyncResult<unknown>;
      if (result.#state !== "pending") return;
      // As in Python, the callback runs before the result is ready: get() returns after it.
      if (ok) callSafely(result.#callback, "callback", value);
      else callSafely(result.#errorCallback, "errorCallback", value);
      result.#state = ok ? "ok" : "failed";
      result.#value = value;
      result.#settled?.resolve();
    };
  }

  /**
   * Whether the task has finished.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * const module = "data:text/javascript,export function id(x) { return x; }";
   * const { id } = await import(module);
   * await using pool = new Pool({ processes: 1, module });
   * const result = pool.applyAsync(id, [1]);
   * console.log(result.ready()); // false, most likely
   * await result.wait();
   * console.log(result.ready()); // true
   * ```
   */
  ready(): boolean {
    return this.#state !== "pending";
  }

  /**
   * Whether the task succeeded; throws if it has not finished (as Python's does).
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function fail() { throw new Error('no'); }";
   * const { fail } = await import(module);
   * await using pool = new Pool({ processes: 1, module });
   * const result = pool.applyAsync(fail);
   * await result.wait();
   * assert.equal(result.successful(), false);
   * ```
   */
  successful(): boolean {
    if (this.#state === "pending") {
      throw new ProcessError("Cannot tell whether the task succeeded as it is not ready: await wait() first");
    }
    return this.#state === "ok";
  }

  /**
   * Waits for the task and returns its value, or rejects with its error (the
   * worker's, with its class name, message, fields and stack).
   *
   * @param timeoutMs How long to wait; rejects with `ProcessTimeoutError` then (the task goes on). Default
   * (or `Infinity`): forever.
   * @param options `signal` to stop waiting.
   * @returns The task's value.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function add(a, b) { return a + b; }";
   * const { add } = await import(module);
   * await using pool = new Pool({ processes: 1, module });
   * assert.equal(await pool.applyAsync(add, [1, 2]).get(5000), 3);
   * ```
   */
  get(timeoutMs?: number, options: ResultWaitOptions = {}): Promise<T> {
    // No async function: a burst of results each awaited costs one promise, not three.
    const bad = badTimeout(timeoutMs, "get");
    if (bad) return Promise.reject(bad);
    return this.wait(timeoutMs, options).then(() => {
      if (this.#state === "ok") return this.#value as T;
      if (this.#state === "failed") throw this.#value;
      throw new ProcessTimeoutError(`The result was not ready within ${timeoutMs} ms`);
    });
  }

  /**
   * Waits until the task has finished or `timeoutMs` passed; resolves either
   * way (Python's `wait` returns None).
   *
   * @param timeoutMs How long to wait at most. Default (or `Infinity`): forever.
   * @param options `signal` to stop waiting.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * const module = "data:text/javascript,export function id(x) { return x; }";
   * const { id } = await import(module);
   * await using pool = new Pool({ processes: 1, module });
   * await pool.applyAsync(id, [1]).wait(5000);
   * ```
   */
  wait(timeoutMs?: number, options: ResultWaitOptions = {}): Promise<void> {
    const bad = badTimeout(timeoutMs, "wait");
    if (bad) return Promise.reject(bad);
    if (this.#state !== "pending") {
      return options.signal?.aborted ? Promise.reject(options.signal.reason) : Promise.resolve();
    }
    const settled = (this.#settled ??= Promise.withResolvers()).promise;
    // The common wait, for as long as it takes, is the one promise every such wait shares.
    if (timeoutMs === undefined && options.signal === undefined) return settled;
    return waitFor(settled, timeoutMs, options.signal);
  }
}

/**
 * A new pending AsyncResult and the function that settles it once (later
 * calls do nothing): for the cluster pool (`src/cluster/`), whose results
 * are the same class as a local pool's. Not exported from the package.
 */
export function _pendingResult<T>(
  callback?: (value: T) => void,
  errorCallback?: (error: unknown) => void,
): [AsyncResult<T>, (ok: boolean, value: unknown) => void] {
  const result = createResult(callback, errorCallback);
  return [result, (ok, value) => settleResult(result, ok, value)];
}

/**
 * A pool of worker processes (Python's `multiprocessing.Pool`). Functions
 * it runs must be exported from the pool's `module` (the main module by
 * default): workers import it and find them by name, as Python's spawn
 * start method does.
 *
 * Differences from Python, on purpose: a worker that dies mid-task fails
 * only that task, with {@linkcode WorkerCrashedError} (Python's pool hangs
 * it forever), and is replaced; `terminate()` fails the tasks not finished
 * with {@linkcode PoolClosedError} rather than leaving them pending forever.
 *
 * @example
 * ```ts
 * import { Pool } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export function square(x) { return x * x; }";
 * const { square } = await import(module);
 * await using pool = new Pool({ processes: 2, module });
 * assert.deepEqual(await pool.map(square, [1, 2, 3, 4]), [1, 4, 9, 16]);
 * ```
 */
export class Pool implements AsyncDisposable {
  readonly #engine: PoolEngine;
  readonly #retries: number;
  /** How a task runs without options of its own. */
  readonly #plainRun: TaskOptions;

  /**
   * Starts the workers.
   *
   * @param options The number of workers, or the options.
   */
  constructor(options: number | PoolOptions = {}) {
    const checked = validatePoolOptions(typeof options === "number" ? { processes: options } : options);
    this.#retries = checked.retries;
    this.#plainRun = { retries: checked.retries };
    this.#engine = new PoolEngine(checked.engine, {
      crashed: (worker, exitCode, what) =>
        new WorkerCrashedError(
          `Worker ${worker} died (exit code ${exitCode}) while running ${what}; the pool replaced it. ` +
            "Pass retries to run such a task again on another worker",
          { worker, exitCode },
        ),
      closed: (message, cause) => new PoolClosedError(message, cause === undefined ? undefined : { cause }),
    });
  }

  /**
   * How many workers the pool keeps.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * await using pool = new Pool(2);
   * console.log(pool.processes); // 2
   * ```
   */
  get processes(): number {
    return this.#engine.options.processes;
  }

  /**
   * Runs `fn(...args)` in a worker (Python's `apply_async`).
   *
   * @param fn A function exported from the pool's module.
   * @param args Its arguments, copied to the worker.
   * @param options Callbacks, a timeout, a signal, retries, buffers to transfer.
   * @returns The result, to `get()` later.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function work(name, n) { return name + ':' + n; }";
   * const { work } = await import(module);
   * await using pool = new Pool({ processes: 2, module });
   * const seen: unknown[] = [];
   * const result = pool.applyAsync(work, ["work1", 1], { callback: (v) => seen.push(v) });
   * assert.equal(await result.get(), "work1:1");
   * assert.deepEqual(seen, ["work1:1"]);
   * ```
   */
  applyAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    args?: A,
    options: ApplyAsyncOptions<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    return this.#applyAsync(fn, args, options as ApplyAsyncOptions<unknown>, "applyAsync") as AsyncResult<
      Awaited<R>
    >;
  }

  #applyAsync(
    fn: (...args: never[]) => unknown,
    args: unknown[] | undefined,
    options: ApplyAsyncOptions<unknown>,
    method: string,
  ): AsyncResult<unknown> {
    this.#assertRunning(method);
    const key = functionKey(fn, `${method}: the function`);
    if (args !== undefined && !Array.isArray(args)) {
      throw new TypeError(`${method}: args must be an array, not ${typeof args}`);
    }
    const run = this.#runOptions(options, method);
    const result = createResult(options.callback, options.errorCallback);
    const transfer = validateTransfer(options.transfer, method);
    const id = this.#engine.nextId();
    let item;
    try {
      item = encodeTask([id, key, TaskKind.Apply, args ?? []], "args", method);
    } catch (error) {
      // Arguments that cannot be copied fail this task only, as in Python.
      settleResult(result, false, error);
      return result;
    }
    for (const buffer of transfer) buffer.transfer();
    this.#engine.submit(id, item, labelOf(key, false), run, settleResult, result);
    return result;
  }

  /**
   * Runs `fn(...args)` in a worker and returns its value (Python's `apply`).
   *
   * @param fn A function exported from the pool's module.
   * @param args Its arguments.
   * @param options A timeout, a signal, retries, buffers to transfer.
   * @returns What `fn` returned (awaited, if it returned a promise).
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function add(a, b) { return a + b; }";
   * const { add } = await import(module);
   * await using pool = new Pool({ processes: 1, module });
   * assert.equal(await pool.apply(add, [2, 3]), 5);
   * ```
   */
  async apply<A extends unknown[], R>(
    fn: (...args: A) => R,
    args?: A,
    options: RunOptions = {},
  ): Promise<Awaited<R>> {
    return await (this.#applyAsync(fn, args, options, "apply") as AsyncResult<Awaited<R>>).get();
  }

  /**
   * Runs `fn` on every item, in chunks, and returns the results in order
   * (Python's `map_async`). The result is ready once every chunk has
   * finished; a failure fails it with the first error.
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The items (read at once, as Python does).
   * @param options The chunk size, or map options with callbacks.
   * @returns The list of results, to `get()` later.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function square(x) { return x * x; }";
   * const { square } = await import(module);
   * await using pool = new Pool({ processes: 2, module });
   * const result = pool.mapAsync(square, [1, 2, 3], { chunksize: 2 });
   * assert.deepEqual(await result.get(), [1, 4, 9]);
   * ```
   */
  mapAsync<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    options?: number | MapAsyncOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync(
      fn,
      iterable,
      options as MapAsyncOptions<unknown>,
      TaskKind.Map,
      "mapAsync",
    ) as AsyncResult<
      Awaited<R>[]
    >;
  }

  /**
   * Runs `fn` on every item and returns the results in order (Python's `map`).
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The items (read at once, as Python does).
   * @param options The chunk size, or map options (signal, timeout, progress).
   * @returns The results.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function square(x) { return x * x; }";
   * const { square } = await import(module);
   * await using pool = new Pool({ processes: 2, module });
   * assert.deepEqual(await pool.map(square, [1, 2, 3], 20), [1, 4, 9]);
   * ```
   */
  async map<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    return await (this.#mapAsync(fn, iterable, options, TaskKind.Map, "map") as AsyncResult<Awaited<R>[]>)
      .get();
  }

  /**
   * `mapAsync` for functions of several arguments: each item is an array of
   * arguments (Python's `starmap_async`).
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The argument lists.
   * @param options The chunk size, or map options with callbacks.
   * @returns The list of results, to `get()` later.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function add(a, b) { return a + b; }";
   * const { add } = await import(module);
   * await using pool = new Pool({ processes: 1, module });
   * assert.deepEqual(await pool.starmapAsync(add, [[1, 2], [3, 4]]).get(), [3, 7]);
   * ```
   */
  starmapAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Iterable<A>,
    options?: number | MapAsyncOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync(
      fn,
      iterable,
      options as MapAsyncOptions<unknown>,
      TaskKind.Starmap,
      "starmapAsync",
    ) as AsyncResult<
      Awaited<R>[]
    >;
  }

  /**
   * `map` for functions of several arguments (Python's `starmap`).
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The argument lists.
   * @param options The chunk size, or map options.
   * @returns The results.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function pow(a, b) { return a ** b; }";
   * const { pow } = await import(module);
   * await using pool = new Pool({ processes: 1, module });
   * assert.deepEqual(await pool.starmap(pow, [[2, 3], [3, 2]]), [8, 9]);
   * ```
   */
  async starmap<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Iterable<A>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    return await (this.#mapAsync(fn, iterable, options, TaskKind.Starmap, "starmap") as AsyncResult<
      Awaited<R>[]
    >).get();
  }

  /**
   * Runs `fn` on every item and yields the results in order, as they are
   * ready (Python's `imap`). The source (which may be async, huge or endless)
   * is read lazily, with a bounded number of chunks out at once. A failed
   * item raises at its place; calling `next()` again goes on after it.
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The items, sync or async.
   * @param options The chunk size (default 1), or options.
   * @returns The results, as an async iterator.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function square(x) { return x * x; }";
   * const { square } = await import(module);
   * await using pool = new Pool({ processes: 2, module });
   * const results: unknown[] = [];
   * for await (const y of pool.imap(square, [1, 2, 3])) results.push(y);
   * assert.deepEqual(results, [1, 4, 9]);
   * ```
   */
  imap<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: number | ImapOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#imap(fn, iterable, options, true, "imap");
  }

  /**
   * `imap`, yielding results in the order they finish (Python's `imap_unordered`).
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The items, sync or async.
   * @param options The chunk size (default 1), or options.
   * @returns The results, as an async iterator.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function square(x) { return x * x; }";
   * const { square } = await import(module);
   * await using pool = new Pool({ processes: 2, module });
   * const results: unknown[] = [];
   * for await (const y of pool.imapUnordered(square, [1, 2, 3])) results.push(y);
   * assert.deepEqual(results.sort(), [1, 4, 9]);
   * ```
   */
  imapUnordered<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: number | ImapOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#imap(fn, iterable, options, false, "imapUnordered");
  }

  /**
   * Stops taking tasks; the workers exit once every task already submitted
   * has finished (Python's `close`).
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * const pool = new Pool(1);
   * pool.close();
   * await pool.join();
   * ```
   */
  close(): void {
    this.#engine.close();
  }

  /**
   * Waits for the workers to exit, after `close()` or `terminate()`
   * (Python's `join`); rejects while the pool still runs.
   *
   * @param timeoutMs How long to wait at most; resolves either way. Default (or `Infinity`): forever.
   * @param options `signal` to stop waiting.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * const pool = new Pool(1);
   * pool.close();
   * await pool.join(5000);
   * ```
   */
  join(timeoutMs?: number, options: ResultWaitOptions = {}): Promise<void> {
    if (this.#engine.state === "RUN") {
      return Promise.reject(
        new ProcessError("Cannot join the pool as it is still running: call close() or terminate() first"),
      );
    }
    const bad = badTimeout(timeoutMs, "join");
    if (bad) return Promise.reject(bad);
    return waitFor(this.#engine.exited, timeoutMs, options.signal);
  }

  /**
   * Stops every worker now (Python's `terminate`). Tasks not finished fail
   * with {@linkcode PoolClosedError}. Resolves once the workers have exited.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * const pool = new Pool(2);
   * await pool.terminate();
   * ```
   */
  terminate(): Promise<void> {
    return this.#engine.terminate();
  }

  /**
   * What the pool is doing: queued and running tasks, counts of outcomes,
   * restarts, each worker, and recent task latency.
   *
   * @returns A snapshot.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * await using pool = new Pool(1);
   * console.log(pool.stats().queued); // 0
   * ```
   */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * Terminates the pool at the end of an `await using` block, as Python's
   * `with Pool() as pool:` does. Await your results inside the block.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * {
   *   await using pool = new Pool(1);
   * } // terminated here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }

  /**
   * Python's repr: `<Pool state=RUN pool_size=2>`.
   *
   * @returns The state and size in one line.
   *
   * @example
   * ```ts
   * import { Pool } from "@troupe/troupe";
   *
   * await using pool = new Pool(2);
   * console.log(String(pool)); // <Pool state=RUN pool_size=2>
   * ```
   */
  toString(): string {
    return `<Pool state=${this.#engine.state} pool_size=${this.processes}>`;
  }

  #assertRunning(method: string): void {
    const error = this.#engine.notRunning(method);
    if (error) throw error;
  }

  #runOptions(options: RunOptions | MapOptions | ImapOptions, method: string): TaskOptions {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`${method}: options must be an object`);
    }
    const { signal, retries } = options;
    const checked = checkDuration(options.timeoutMs, method, "timeoutMs");
    // Infinity is no limit, as none is.
    const timeoutMs = checked === Infinity ? undefined : checked;
    if (timeoutMs === undefined && signal === undefined && retries === undefined) return this.#plainRun;
    if (timeoutMs !== undefined && !(timeoutMs > 0)) {
      throw new RangeError(`${method}: timeoutMs must be a number of ms above 0, not ${timeoutMs}`);
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`${method}: signal must be an AbortSignal`);
    }
    return {
      timeoutMs,
      signal,
      retries: retries === undefined ? this.#retries : validateRetries(retries, method),
    };
  }

  #mapAsync(
    fn: (...args: never[]) => unknown,
    iterable: Iterable<unknown>,
    chunksizeOrOptions: number | MapAsyncOptions<unknown> | undefined,
    kind: TaskKind,
    method: string,
  ): AsyncResult<unknown[]> {
    this.#assertRunning(method);
    const key = functionKey(fn, `${method}: the function`);
    const options = mapOptions(chunksizeOrOptions);
    const run = this.#runOptions(options, method);
    if (iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== "function") {
      throw new TypeError(`${method}: the items must be iterable (for an async iterable, use imap)`);
    }
    // As Python's list(iterable): read now, so an iterable that throws fails the call itself.
    const items = Array.from(iterable);
    if (kind === TaskKind.Starmap) checkArgumentLists(items, method);
    const chunksize = options.chunksize === undefined
      ? Math.ceil(items.length / (4 * this.processes))
      : validateChunksize(options.chunksize, method);
    const result = createResult<unknown[]>(options.callback, options.errorCallback);
    runMap(
      this.#engine,
      key,
      kind,
      items,
      chunksize,
      { ...run, onProgress: validateProgress(options.onProgress, method), method },
      (ok, value) => settleResult(result, ok, value),
    );
    return result;
  }

  #imap<R>(
    fn: (...args: never[]) => unknown,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    chunksizeOrOptions: number | ImapOptions | undefined,
    ordered: boolean,
    method: string,
  ): AsyncIterableIterator<R> {
    this.#assertRunning(method);
    const key = functionKey(fn, `${method}: the function`);
    const options = mapOptions(chunksizeOrOptions);
    const run = this.#runOptions(options, method);
    const source = iterable as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null;
    if (
      typeof source?.[Symbol.iterator] !== "function" && typeof source?.[Symbol.asyncIterator] !== "function"
    ) {
      throw new TypeError(`${method}: the items must be an iterable or an async iterable`);
    }
    const chunksize = options.chunksize === undefined ? 1 : validateChunksize(options.chunksize, method);
    return new ImapIterator<R>(
      this.#engine,
      key,
      TaskKind.Map,
      iterable,
      chunksize,
      ordered,
      { ...run, onProgress: validateProgress(options.onProgress, method), method },
    );
  }
}

// Shown by console.log and Deno.inspect.
Object.defineProperty(Pool.prototype, Symbol.for("Deno.customInspect"), {
  value(this: Pool) {
    return this.toString();
  },
});

const POOL_OPTIONS = new Set([
  "processes",
  "initializer",
  "initargs",
  "maxTasksPerChild",
  "backend",
  "permissions",
  "memoryLimitMb",
  "module",
  "retries",
  "intensity",
  "periodMs",
  "crashReports",
]);

function validatePoolOptions(options: PoolOptions) {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Pool: options must be a number of processes or an options object");
  }
  for (const key of Object.keys(options)) {
    if (!POOL_OPTIONS.has(key)) throw new TypeError(`Pool: unknown option "${key}"`);
  }
  const { processes = cpuCount(), initializer, initargs = [], maxTasksPerChild = null } = options;
  if (!Number.isInteger(processes) || processes < 1) {
    throw new RangeError(
      `Pool: the number of processes must be a whole number of at least 1, not ${processes}`,
    );
  }
  if (initializer !== undefined && typeof initializer !== "function") {
    throw new TypeError(`Pool: initializer must be a function, not ${typeof initializer}`);
  }
  if (!Array.isArray(initargs)) throw new TypeError("Pool: initargs must be an array");
  const memoryKind = BACKENDS[options.backend ?? "worker"].sharesMemory ? undefined : memoryKindIn(initargs);
  if (memoryKind) {
    const what = aKind(memoryKind);
    throw new TypeError(
      `Pool: initargs hold ${what}, which lives in shared memory: subprocess workers cannot share it. ` +
        'Use backend: "worker"',
    );
  }
  if (maxTasksPerChild !== null && !(Number.isInteger(maxTasksPerChild) && maxTasksPerChild > 0)) {
    throw new RangeError(
      `Pool: maxTasksPerChild must be a positive whole number or null, not ${maxTasksPerChild}`,
    );
  }
  const { intensity = 100, periodMs = 1000, module } = options;
  if (!(typeof intensity === "number" && intensity >= 0)) {
    throw new RangeError(`Pool: intensity must be a number of restarts from 0, not ${intensity}`);
  }
  checkDuration(periodMs, "create a Pool", "periodMs");
  if (!(periodMs > 0)) {
    throw new RangeError(`Pool: periodMs must be a number of ms above 0, not ${periodMs}`);
  }
  if (module !== undefined && !URL.canParse(String(module))) {
    throw new TypeError(
      `Pool: module must be an absolute URL such as import.meta.url, not ${String(module)}`,
    );
  }
  const { crashReports = "line" } = options;
  if (!isCrashReports(crashReports)) {
    throw new TypeError(
      `Pool: crashReports must be "stack", "line", "none" or a function, not ${String(crashReports)}`,
    );
  }
  return {
    retries: options.retries === undefined ? 0 : validateRetries(options.retries, "Pool"),
    engine: {
      processes,
      module: module === undefined ? runtime.mainModule : String(module),
      initializer: initializer === undefined ? null : functionKey(initializer, "Pool: initializer"),
      initargs,
      maxTasksPerChild,
      backend: options.backend ?? "worker",
      permissions: options.permissions,
      memoryLimitMb: options.memoryLimitMb,
      intensity,
      periodMs,
      crashReports,
    },
  };
}

/** A map's third argument, Python's chunksize or an options object, as options. */
function mapOptions<O extends MapOptions | ImapOptions>(chunksizeOrOptions: number | O | undefined): O {
  if (chunksizeOrOptions === undefined) return {} as O;
  return typeof chunksizeOrOptions === "number" ? { chunksize: chunksizeOrOptions } as O : chunksizeOrOptions;
}

function validateRetries(retries: unknown, method: string): number {
  if (!(Number.isInteger(retries) && (retries as number) >= 0)) {
    throw new RangeError(`${method}: retries must be a whole number from 0, not ${retries}`);
  }
  return retries as number;
}

function validateChunksize(chunksize: unknown, method: string): number {
  if (!(Number.isInteger(chunksize) && (chunksize as number) >= 1)) {
    throw new RangeError(`${method}: chunksize must be a whole number of at least 1, not ${chunksize}`);
  }
  return chunksize as number;
}

/** The error for a timeout that is not a number of ms (NaN included), if it is not. */
function badTimeout(timeoutMs: unknown, method: string): TypeError | undefined {
  return isDuration(timeoutMs) || timeoutMs === undefined
    ? undefined
    : new TypeError(durationMessage(method, "timeoutMs", timeoutMs));
}

function validateProgress(onProgress: unknown, method: string): ProgressListener | undefined {
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw new TypeError(`${method}: onProgress must be a function`);
  }
  return onProgress as ProgressListener | undefined;
}

function validateTransfer(transfer: unknown, method: string): ArrayBuffer[] {
  if (transfer === undefined) return [];
  if (!Array.isArray(transfer) || !transfer.every((buffer) => buffer instanceof ArrayBuffer)) {
    throw new TypeError(`${method}: transfer must be an array of ArrayBuffers`);
  }
  return transfer;
}

function checkArgumentLists(items: unknown[], method: string): void {
  items.forEach((args, i) => {
    if (!Array.isArray(args)) {
      throw new TypeError(
        `${method}: each item must be an array of arguments, but item ${i} is ${typeof args}`,
      );
    }
  });
}
