/**
 * `ClusterPool`: the `Pool` API over a JetStream work queue.
 *
 * @module
 */

import { _pendingResult, type AsyncResult, PoolClosedError } from "../pool/pool.ts";
import type {
  ApplyAsyncOptions,
  ImapOptions,
  MapAsyncOptions,
  MapOptions,
  RunOptions,
} from "../pool/pool.ts";
import { functionKey } from "../wire/_function_key.ts";
import { waitFor } from "../core/_wait.ts";
import { ProcessTimeoutError } from "../core/errors.ts";
import { decodeResult, encodeTask, names, type TaskKind } from "./_protocol.ts";
import type { AckPolicy, DeliverPolicy, JetStreamClient, JetStreamManager, NatsConnection } from "./_nats.ts";

/** What a cluster pool is made with. */
export interface ClusterPoolOptions {
  /**
   * The module that exports the functions this pool runs, as the nodes
   * serve it (a node matches it by URL, or by file name for a file on another
   * machine). Default: the main module.
   */
  module?: string | URL;
  /** How many times a task whose local worker died is run again on that node. Default 0. */
  retries?: number;
  /** A default per-task timeout (ms of running, not queueing); none by default. */
  timeoutMs?: number;
  /** At most this many chunks of one map or imap are in the queue or running at once. Default 64. */
  maxInFlight?: number;
}

/** What a cluster pool has done so far. */
export interface ClusterPoolStats {
  /** "RUN", "CLOSE" or "TERMINATE", as a local pool's. */
  readonly state: "RUN" | "CLOSE" | "TERMINATE";
  /** Tasks (and map chunks) sent and not settled. */
  readonly pending: number;
  /** Tasks (and map chunks) sent. */
  readonly submitted: number;
  /** Tasks (and chunks) that succeeded. */
  readonly completed: number;
  /** Tasks (and chunks) that failed. */
  readonly failed: number;
  /** Results that arrived for a task already settled, and were dropped (at-least-once execution). */
  readonly duplicates: number;
}

/** What a pool needs from its cluster. */
export interface PoolContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  ready: Promise<void>;
  forget: () => void;
}

type Settle = (ok: boolean, value: unknown) => void;

const NANOS = 1_000_000;

/**
 * A pool whose workers are the cluster's nodes: the API of `Pool` (Python's
 * `multiprocessing.Pool`), with tasks in a JetStream work queue. Each task
 * runs at least once; its result is delivered to its caller exactly once.
 * Made by {@linkcode Cluster.pool}.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@troupe/troupe/cluster";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
 * await using pool = cluster.pool("squares", { module: import.meta.url });
 * console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * ```
 */
export class ClusterPool implements AsyncDisposable {
  readonly #ctx: PoolContext;
  readonly #name: string;
  readonly #module: string;
  readonly #retries: number | null;
  readonly #timeoutMs: number | null;
  readonly #maxInFlight: number;
  readonly #client = crypto.randomUUID().replaceAll("-", "");
  readonly #pending = new Map<string, Settle>();
  #seq = 0;
  #state: "RUN" | "CLOSE" | "TERMINATE" = "RUN";
  #counts = { submitted: 0, completed: 0, failed: 0, duplicates: 0 };
  #started: Promise<void>;
  #consumer: { stop(): unknown; closed(): Promise<void | Error> } | undefined;
  #idle: PromiseWithResolvers<void> | undefined;
  #broken: Error | undefined;

  private constructor(ctx: PoolContext, name: string, options: ClusterPoolOptions) {
    this.#ctx = ctx;
    this.#name = name;
    const { module, retries, timeoutMs, maxInFlight = 64 } = options;
    this.#module = module === undefined ? Deno.mainModule : new URL(module).href;
    this.#retries = retries ?? null;
    this.#timeoutMs = timeoutMs ?? null;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, not ${maxInFlight}`);
    }
    this.#maxInFlight = maxInFlight;
    this.#started = this.#start();
    // Settled here too, so an unready cluster is no unhandled rejection; each task reports it.
    this.#started.catch((error) => this.#failAll(error));
    ctx.nc.closed().then((error) => {
      this.#failAll(
        new PoolClosedError(
          "Cannot finish the task as the connection to the cluster closed: connect again and resubmit",
          error ? { cause: error } : undefined,
        ),
      );
    });
  }

  /** Made by `Cluster.pool`. */
  static _create(ctx: PoolContext, name: string, options: ClusterPoolOptions): ClusterPool {
    return new ClusterPool(ctx, name, options);
  }

  async #start(): Promise<void> {
    await this.#ctx.ready;
    const n = names(this.#name);
    const durable = `c_${this.#client}`;
    await this.#ctx.jsm.consumers.add(n.resultsStream, {
      durable_name: durable,
      ack_policy: "explicit" as AckPolicy,
      deliver_policy: "all" as DeliverPolicy,
      filter_subject: n.results(this.#client),
      ack_wait: 30_000 * NANOS,
      // Removed by the server when this program is gone for an hour.
      inactive_threshold: 3600_000 * NANOS,
    });
    const consumer = await this.#ctx.js.consumers.get(n.resultsStream, durable);
    const messages = await consumer.consume({
      max_messages: 1000,
      callback: (msg) => {
        const result = decodeResult(msg.data);
        msg.ack();
        if (result === undefined) return;
        const settle = this.#pending.get(result.id);
        if (settle === undefined) {
          this.#counts.duplicates++;
          return;
        }
        settle(result.ok, result.value);
      },
    });
    this.#consumer = messages;
  }

  /** Sends one task; the promise settles once, with its result or why it failed. */
  #submit(key: string, kind: TaskKind, payload: unknown[], run: RunOptions): Promise<unknown> {
    const id = `${this.#client}.${++this.#seq}`;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const signal = run.signal;
    const onAbort = () => settle(false, signal!.reason);
    const settle: Settle = (ok, value) => {
      if (this.#pending.get(id) !== settle) return;
      this.#pending.delete(id);
      signal?.removeEventListener("abort", onAbort);
      if (ok) {
        this.#counts.completed++;
        resolve(value);
      } else {
        this.#counts.failed++;
        reject(value);
      }
      if (this.#pending.size === 0) this.#idle?.resolve();
    };
    this.#pending.set(id, settle);
    this.#counts.submitted++;
    if (this.#broken) {
      settle(false, this.#broken);
      return promise;
    }
    if (signal?.aborted) {
      settle(false, signal.reason);
      return promise;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    const timeoutMs = run.timeoutMs ?? this.#timeoutMs;
    const retries = run.retries ?? this.#retries;
    let body: Uint8Array;
    try {
      body = encodeTask({
        id,
        client: this.#client,
        key,
        module: this.#module,
        kind,
        payload,
        timeoutMs: timeoutMs === Infinity ? null : timeoutMs,
        retries,
      });
    } catch (error) {
      settle(false, error);
      return promise;
    }
    const limit = this.#ctx.nc.info?.max_payload;
    if (limit !== undefined && body.length > limit) {
      settle(
        false,
        new RangeError(
          `Cannot send the task as it is ${body.length} bytes, over the server's max_payload of ${limit} ` +
            "bytes: send smaller arguments (a smaller chunksize), or raise max_payload in the nats-server " +
            "configuration",
        ),
      );
      return promise;
    }
    this.#started
      .then(() => this.#ctx.js.publish(names(this.#name).tasks, body, { msgID: id }))
      .catch((error) => settle(false, error));
    return promise;
  }

  #failAll(error: Error): void {
    this.#broken ??= error;
    for (const settle of [...this.#pending.values()]) settle(false, error);
  }

  #assertRunning(method: string): void {
    if (this.#state !== "RUN") {
      throw new PoolClosedError(
        `Cannot ${method} as the pool is ${this.#state === "CLOSE" ? "closed" : "terminated"}`,
      );
    }
  }

  /**
   * Runs `fn(...args)` on a node (Python's `apply_async`).
   *
   * @param fn A function exported from the pool's module.
   * @param args Its arguments.
   * @param options Callbacks, a timeout, a signal, retries.
   * @returns The result, to `get()` later.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function add(a: number, b: number): number {
   *   return a + b;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("adders", { module: import.meta.url });
   * console.log(await pool.applyAsync(add, [1, 2]).get()); // 3
   * ```
   */
  applyAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    args?: A,
    options: ApplyAsyncOptions<Awaited<R>> = {},
  ): AsyncResult<Awaited<R>> {
    this.#assertRunning("applyAsync");
    const key = functionKey(fn, "applyAsync: the function", "cluster pool");
    if (args !== undefined && !Array.isArray(args)) {
      throw new TypeError(`applyAsync: args must be an array, not ${typeof args}`);
    }
    const [result, settle] = _pendingResult(options.callback, options.errorCallback);
    this.#submit(key, "apply", args ?? [], options).then((v) => settle(true, v), (e) => settle(false, e));
    return result;
  }

  /**
   * Runs `fn(...args)` on a node and returns its value (Python's `apply`).
   *
   * @param fn A function exported from the pool's module.
   * @param args Its arguments.
   * @param options A timeout, a signal, retries.
   * @returns What `fn` returned.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function add(a: number, b: number): number {
   *   return a + b;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("adders", { module: import.meta.url });
   * console.log(await pool.apply(add, [1, 2])); // 3
   * ```
   */
  async apply<A extends unknown[], R>(
    fn: (...args: A) => R,
    args?: A,
    options: RunOptions = {},
  ): Promise<Awaited<R>> {
    return await this.applyAsync(fn, args, options).get();
  }

  /**
   * Runs `fn` on every item, in chunks spread over the nodes (Python's `map_async`).
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The items.
   * @param options The chunk size, or map options with callbacks.
   * @returns The list of results, to `get()` later.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function square(x: number): number {
   *   return x * x;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("squares", { module: import.meta.url });
   * console.log(await pool.mapAsync(square, [1, 2, 3], 2).get()); // [1, 4, 9]
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
      "map",
      "mapAsync",
    ) as AsyncResult<Awaited<R>[]>;
  }

  /**
   * Runs `fn` on every item and returns the results in order (Python's `map`).
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The items.
   * @param options The chunk size, or map options.
   * @returns The results.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function square(x: number): number {
   *   return x * x;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("squares", { module: import.meta.url });
   * console.log(await pool.map(square, [1, 2, 3], { chunksize: 100 })); // [1, 4, 9]
   * ```
   */
  async map<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    return await this.mapAsync(fn, iterable, options).get();
  }

  /**
   * `mapAsync` for functions of several arguments (Python's `starmap_async`).
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The argument lists.
   * @param options The chunk size, or map options with callbacks.
   * @returns The list of results, to `get()` later.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function add(a: number, b: number): number {
   *   return a + b;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("adders", { module: import.meta.url });
   * console.log(await pool.starmapAsync(add, [[1, 2], [3, 4]]).get()); // [3, 7]
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
      "starmap",
      "starmapAsync",
    ) as AsyncResult<Awaited<R>[]>;
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
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function add(a: number, b: number): number {
   *   return a + b;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("adders", { module: import.meta.url });
   * console.log(await pool.starmap(add, [[1, 2], [3, 4]])); // [3, 7]
   * ```
   */
  async starmap<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Iterable<A>,
    options?: number | MapOptions,
  ): Promise<Awaited<R>[]> {
    return await this.starmapAsync(fn, iterable, options).get();
  }

  /**
   * Runs `fn` on every item, yielding results in order as they come (Python's
   * `imap`); at most `maxInFlight` chunks are queued or running at once.
   *
   * @param fn A function exported from the pool's module.
   * @param iterable The items, sync or async.
   * @param options The chunk size (default 1), or options.
   * @returns The results, as an async iterator.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function square(x: number): number {
   *   return x * x;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("squares", { module: import.meta.url });
   * for await (const y of pool.imap(square, [1, 2, 3])) console.log(y);
   * ```
   */
  imap<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: number | ImapOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#imap(fn, iterable, options, true, "imap") as AsyncIterableIterator<Awaited<R>>;
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
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function square(x: number): number {
   *   return x * x;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("squares", { module: import.meta.url });
   * for await (const y of pool.imapUnordered(square, [1, 2, 3])) console.log(y);
   * ```
   */
  imapUnordered<T, R>(
    fn: (item: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: number | ImapOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#imap(fn, iterable, options, false, "imapUnordered") as AsyncIterableIterator<Awaited<R>>;
  }

  /**
   * Accepts no more tasks (Python's `close`); those sent still finish.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * const pool = cluster.pool("squares");
   * pool.close();
   * await pool.join();
   * ```
   */
  close(): void {
    if (this.#state === "RUN") this.#state = "CLOSE";
  }

  /**
   * Waits until every task sent has settled (Python's `join`); the pool must be closed first.
   *
   * @param timeoutMs How long to wait at most; rejects with `ProcessTimeoutError` then. Default: forever.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * const pool = cluster.pool("squares");
   * pool.close();
   * await pool.join(10_000);
   * ```
   */
  async join(timeoutMs?: number): Promise<void> {
    if (this.#state === "RUN") {
      throw new PoolClosedError(
        "Cannot join the pool as it is still running: call close() or terminate() first",
      );
    }
    if (this.#pending.size > 0) {
      const idle = (this.#idle ??= Promise.withResolvers()).promise;
      await waitFor(idle, timeoutMs);
      if (this.#pending.size > 0) {
        throw new ProcessTimeoutError(`The pool's tasks did not settle within ${timeoutMs} ms`);
      }
    }
    await this.#release();
  }

  /**
   * Stops at once (Python's `terminate`): every task not settled fails with
   * `PoolClosedError` (it may still run on a node; its result is dropped).
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * const pool = cluster.pool("squares");
   * await pool.terminate();
   * ```
   */
  async terminate(): Promise<void> {
    if (this.#state !== "TERMINATE") {
      this.#state = "TERMINATE";
      this.#failAll(new PoolClosedError("Cannot finish the task as the pool was terminated"));
    }
    await this.#release();
  }

  /**
   * Counts of what the pool did.
   *
   * @returns The state and the task counts.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("squares");
   * console.log(pool.stats().pending); // 0
   * ```
   */
  stats(): ClusterPoolStats {
    return { state: this.#state, pending: this.#pending.size, ...this.#counts };
  }

  /**
   * Terminates, as `terminate()`.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("squares");
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }

  #released: Promise<void> | undefined;

  /** Stops reading results and removes this pool's results consumer. */
  #release(): Promise<void> {
    return this.#released ??= (async () => {
      this.#ctx.forget();
      await this.#started.catch(() => {});
      this.#consumer?.stop();
      await this.#consumer?.closed().catch(() => {});
      if (!this.#ctx.nc.isClosed()) {
        await this.#ctx.jsm.consumers.delete(names(this.#name).resultsStream, `c_${this.#client}`).catch(
          () => {},
        );
      }
    })();
  }

  #chunkOptions(options: number | MapOptions | undefined, method: string): MapOptions {
    const opts = typeof options === "number" ? { chunksize: options } : options ?? {};
    if (typeof opts !== "object") throw new TypeError(`${method}: options must be a number or an object`);
    const { chunksize } = opts;
    if (chunksize !== undefined && (!Number.isInteger(chunksize) || chunksize < 1)) {
      throw new RangeError(`${method}: chunksize must be a positive integer, not ${chunksize}`);
    }
    return opts;
  }

  #mapAsync(
    fn: (...args: never[]) => unknown,
    iterable: Iterable<unknown>,
    options: number | MapAsyncOptions<unknown> | undefined,
    kind: TaskKind,
    method: string,
  ): AsyncResult<unknown[]> {
    this.#assertRunning(method);
    const key = functionKey(fn, `${method}: the function`, "cluster pool");
    const opts = this.#chunkOptions(options, method) as MapAsyncOptions<unknown>;
    const items = [...iterable];
    const chunksize = opts.chunksize ?? Math.max(1, Math.ceil(items.length / 64));
    const [result, settle] = _pendingResult<unknown[]>(
      opts.callback as ((values: unknown[]) => void) | undefined,
      opts.errorCallback,
    );
    const chunks: unknown[][] = [];
    for (let i = 0; i < items.length; i += chunksize) chunks.push(items.slice(i, i + chunksize));
    const out: unknown[][] = new Array(chunks.length);
    let next = 0, done = 0, itemsDone = 0, failure: { error: unknown } | undefined;
    const run = { ...opts };
    const pump = (): void => {
      while (next < chunks.length && next - done < this.#maxInFlight) {
        const index = next++;
        const chunk = chunks[index]!;
        this.#submit(key, kind, chunk, run).then(
          (values) => {
            out[index] = values as unknown[];
            itemsDone += chunk.length;
            if (opts.onProgress) {
              try {
                opts.onProgress(itemsDone, items.length);
              } catch { /* a progress callback's error is not the map's */ }
            }
          },
          (error) => failure ??= { error },
        ).finally(() => {
          done++;
          if (done === chunks.length) {
            if (failure) settle(false, failure.error);
            else settle(true, out.flat());
          } else pump();
        });
      }
    };
    if (chunks.length === 0) settle(true, []);
    else pump();
    return result;
  }

  async *#imap(
    fn: (...args: never[]) => unknown,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options: number | MapOptions | undefined,
    ordered: boolean,
    method: string,
  ): AsyncIterableIterator<unknown> {
    this.#assertRunning(method);
    const key = functionKey(fn, `${method}: the function`, "cluster pool");
    const opts = this.#chunkOptions(options, method);
    const chunksize = opts.chunksize ?? 1;
    type Slot = { promise: Promise<{ slot: Slot; values: unknown[] }> };
    const inFlight: Slot[] = [];
    let itemsDone = 0;
    const send = (chunk: unknown[]) => {
      const slot = {} as Slot;
      slot.promise = this.#submit(key, "map", chunk, opts).then((values) => ({
        slot,
        values: values as unknown[],
      }));
      // Awaited below in turn; this only keeps an early failure from being unhandled meanwhile.
      slot.promise.catch(() => {});
      inFlight.push(slot);
    };
    const take = async function* (this: ClusterPool): AsyncGenerator<unknown> {
      const { slot, values } = ordered
        ? await inFlight[0]!.promise
        : await Promise.race(inFlight.map((s) => s.promise));
      inFlight.splice(inFlight.indexOf(slot), 1);
      itemsDone += values.length;
      if (opts.onProgress) {
        try {
          // An imap's total is not known (its iterable may not end).
          (opts.onProgress as NonNullable<ImapOptions["onProgress"]>)(itemsDone, undefined);
        } catch { /* not the map's error */ }
      }
      yield* values;
    }.bind(this);
    let chunk: unknown[] = [];
    for await (const item of iterable as AsyncIterable<unknown>) {
      chunk.push(item);
      if (chunk.length === chunksize) {
        send(chunk);
        chunk = [];
        while (inFlight.length >= this.#maxInFlight) yield* take();
      }
    }
    if (chunk.length > 0) send(chunk);
    while (inFlight.length > 0) yield* take();
  }
}
