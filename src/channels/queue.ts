/**
 * Python's process-safe queues: `Queue`, `JoinableQueue` and `SimpleQueue`.
 * Pass one to children in `args` and every process puts and gets on the same
 * queue. Workers of one program share its memory directly (no message hops
 * through another isolate); an OS-process child reaches it through the
 * process that created it.
 *
 * @module
 */

import {
  type Channel,
  channelsSettled,
  type Got,
  newChannel,
  openChannel,
  ringsResolving,
} from "../memory/_channel.ts";
import { type Prepared, prepareOrExplain } from "../memory/_item_codec.ts";
import { checkedDeadline, type Deadline } from "../core/_futex.ts";
import { makeShareable, registerReviver, type RingRef, SHARED_KEY } from "../memory/_shared.ts";
import { ProcessError } from "../core/errors.ts";

/**
 * `get` found no item before its timeout (or at once with `block: false`):
 * Python's `queue.Empty`.
 *
 * @example
 * ```ts
 * import { Queue, QueueEmptyError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const q = new Queue<number>();
 * await assert.rejects(q.get({ timeout: 10 }), QueueEmptyError);
 * ```
 */
export class QueueEmptyError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message What was empty, for how long.
   */
  constructor(message: string) {
    super(message);
    this.name = "QueueEmptyError";
  }
}

/**
 * `put` found a bounded queue full until its timeout (or at once with
 * `block: false`): Python's `queue.Full`.
 *
 * @example
 * ```ts
 * import { Queue, QueueFullError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const q = new Queue<number>(1);
 * await q.put(1);
 * await assert.rejects(q.put(2, { block: false }), QueueFullError);
 * ```
 */
export class QueueFullError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message What was full, for how long.
   */
  constructor(message: string) {
    super(message);
    this.name = "QueueFullError";
  }
}

/**
 * The queue was closed: a `put` after `close()`, or a `get` once it is closed
 * and drained (also one that was waiting when it closed).
 *
 * @example
 * ```ts
 * import { Queue, QueueClosedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const q = new Queue<string>();
 * q.close();
 * await assert.rejects(q.put("late"), QueueClosedError);
 * ```
 */
export class QueueClosedError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message Which queue, and what was tried.
   */
  constructor(message: string) {
    super(message);
    this.name = "QueueClosedError";
  }
}

/** How long `put` and `get` wait, in Python's terms. */
export interface QueueWaitOptions {
  /** `false` fails at once instead of waiting (the timeout is then ignored). Default `true`. */
  block?: boolean;
  /** Milliseconds to wait at most; none or `Infinity` waits forever, negative counts as 0. */
  timeout?: number;
  /** Stops waiting; the call rejects with the signal's reason and takes or puts nothing. */
  signal?: AbortSignal;
}

/** How long `JoinableQueue.join` waits. */
export interface JoinOptions {
  /** Milliseconds to wait at most; none or `Infinity` waits forever. */
  timeout?: number;
  /** Stops waiting; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

type QueueKind = "Queue" | "JoinableQueue" | "SimpleQueue";

/** No deadline: wait as long as it takes. */
const FOREVER: Deadline = { until: Infinity };
/** What a put that needed no wait returns. */
const DONE: Promise<void> = Promise.resolve();

/** A Queue's engine, for JoinableQueue (set in Queue's static block, which may read `#core`). */
let coreOf: <T>(queue: Queue<T>) => QueueCore<T>;

/** The channel a revived queue is built around, handed to the constructor by the reviver. */
let reviving: Channel | undefined;

function validateWait(options: QueueWaitOptions | undefined, method: string): Deadline {
  const deadline = checkedDeadline(method, options);
  // Aborted already: reject, even if an item (or room) is there to take.
  deadline.signal?.throwIfAborted();
  return deadline;
}

/** The engine behind every queue kind: a channel, and Python's exceptions. */
class QueueCore<T> {
  readonly channel: Channel;
  readonly #kind: QueueKind;
  #closedHere = false;

  constructor(facade: object, kind: QueueKind, maxsize: number) {
    this.#kind = kind;
    const channel = reviving;
    reviving = undefined;
    if (channel) {
      this.channel = channel;
    } else {
      if (!Number.isInteger(maxsize) || maxsize < 0 || maxsize > 0x7fffffff) {
        throw new RangeError(`${kind}: maxsize must be a whole number from 0 (unbounded), not ${maxsize}`);
      }
      this.channel = newChannel(maxsize);
    }
    makeShareable(facade, () => ({
      [SHARED_KEY]: "queue",
      kind,
      ring: this.channel.ref(),
      maxsize: this.channel.maxsize,
    }));
  }

  #closedError(what: "put" | "get"): QueueClosedError {
    return new QueueClosedError(
      what === "put"
        ? `Cannot put as the ${this.#kind} is closed`
        : `Cannot get as the ${this.#kind} is closed and has no items left`,
    );
  }

  /** Puts, without a hop through the event loop when the ring is here and has room. */
  putItem(item: T, options: QueueWaitOptions | undefined, task: boolean): Promise<void> {
    let deadline: Deadline, prepared: Prepared;
    try {
      deadline = options ? validateWait(options, "put") : FOREVER;
      if (this.#closedHere || this.channel.closed()) throw this.#closedError("put");
      prepared = prepareOrExplain(item, "item", "put");
      const outcome = this.channel.tryPut(prepared, task);
      if (outcome === undefined) return DONE;
      if (outcome === "closed") throw this.#closedError("put");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.channel.put(prepared, deadline, task).then((outcome) => {
      if (outcome === "closed") throw this.#closedError("put");
      if (outcome === "full") {
        throw new QueueFullError(
          `Cannot put as the ${this.#kind} is full (maxsize ${this.channel.maxsize})` +
            (deadline.until > 0 ? `, and stayed full for ${options?.timeout} ms` : ""),
        );
      }
    });
  }

  /** Gets, without a hop through the event loop when the ring is here and holds an item. */
  getItem(options: QueueWaitOptions | undefined): Promise<T> {
    let deadline: Deadline;
    try {
      deadline = options ? validateWait(options, "get") : FOREVER;
      const got = this.channel.tryGet();
      if (got !== "later" && got !== "empty") {
        // A queue in the item that is not in memory here yet is handed out once it is (see `Channel.get`).
        if (ringsResolving()) return channelsSettled().then(() => this.#unwrap(got, deadline, options));
        return Promise.resolve(this.#unwrap(got, deadline, options));
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.channel.get(deadline).then((got) => this.#unwrap(got, deadline, options));
  }

  #unwrap(got: Got, deadline: Deadline, options: QueueWaitOptions | undefined): T {
    if (got === "closed") throw this.#closedError("get");
    if (got === "empty") {
      throw new QueueEmptyError(
        deadline.until > 0
          ? `Cannot get as the ${this.#kind} stayed empty for ${options?.timeout} ms`
          : `Cannot get as the ${this.#kind} is empty`,
      );
    }
    return got.item as T;
  }

  closeQueue(): void {
    this.#closedHere = true;
    this.channel.close();
  }

  isEmpty(): boolean {
    return this.channel.size() === 0;
  }

  async *iterate(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const got = this.channel.tryGet();
      if (got === "closed") return;
      if (got !== "empty" && got !== "later") {
        if (ringsResolving()) await channelsSettled();
        yield got.item as T;
        continue;
      }
      const waited = await this.channel.get(FOREVER);
      if (waited === "closed") return;
      if (waited !== "empty") yield waited.item as T;
    }
  }
}

/**
 * Python's `multiprocessing.Queue`: a FIFO that any number of processes put
 * to and get from. Pass it to children in `args`. Items are copied (structured
 * clone), FIFO per producer; items from different producers interleave.
 *
 * Deviations from Python, on purpose: `put` of a value that cannot be copied
 * rejects at once, naming the offending part (Python drops it later, in a
 * background thread); `close()` closes the queue for every process, not just
 * the caller, and `get` drains what is left before it rejects with
 * {@linkcode QueueClosedError}, so `for await` ends cleanly. In an OS-process
 * child that did not create the queue, `qsize()`, `empty()` and `full()`
 * report the queue as of that process's last call on it (Python calls them
 * unreliable too).
 *
 * @typeParam T The items.
 *
 * @example Producer and consumer in one process
 * ```ts
 * import { Queue } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const q = new Queue<number>(2);   // maxsize 2; 0 or none is unbounded
 * await q.put(1);
 * await q.put(2);
 * assert.ok(q.full());
 * assert.equal(await q.get(), 1);
 * assert.equal(q.qsize(), 1);
 * ```
 *
 * @example A child puts, the parent gets
 * ```ts
 * import { Process, Queue } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export async function produce(q) { for (const x of [1, 2, 3]) await q.put(x * x); q.close(); }";
 * const { produce } = await import(module);
 *
 * const q = new Queue<number>();
 * const p = new Process({ target: produce, args: [q], module });
 * await p.start();
 * const got = [];
 * for await (const x of q) got.push(x);   // ends when closed and drained
 * await p.join();
 * assert.deepEqual(got, [1, 4, 9]);
 * ```
 */
export class Queue<T> implements AsyncIterable<T>, AsyncDisposable {
  readonly #core: QueueCore<T>;

  /**
   * Creates a queue.
   *
   * @param maxsize How many items it holds before `put` waits; 0 (the default) is unbounded.
   */
  constructor(maxsize = 0) {
    this.#core = new QueueCore(this, new.target === JoinableQueue ? "JoinableQueue" : "Queue", maxsize);
  }

  static {
    coreOf = (queue) => queue.#core;
  }

  /**
   * How many items it holds before `put` waits; 0 is unbounded.
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Queue(6).maxsize, 6);
   * ```
   */
  get maxsize(): number {
    return this.#core.channel.maxsize;
  }

  /**
   * Puts an item at the back. Waits while a bounded queue is full: forever by
   * default, up to `timeout` ms, or not at all with `block: false`, then
   * rejects with {@linkcode QueueFullError}. Rejects with
   * {@linkcode QueueClosedError} once closed, and with a `TypeError` naming
   * the part of `item` that cannot be copied.
   *
   * @param item The item; it is copied, so later changes to it are not seen.
   * @param options `block`, `timeout` (ms) and `signal`.
   *
   * @example Waiting for room at most 50 ms
   * ```ts
   * import { Queue, QueueFullError } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<string>(1);
   * await q.put("a");
   * await assert.rejects(q.put("b", { timeout: 50 }), QueueFullError);
   * ```
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    return this.#core.putItem(item, options, this instanceof JoinableQueue);
  }

  /**
   * Python's `put_nowait`: `put(item, { block: false })`.
   *
   * @param item The item.
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   *
   * const q = new Queue<number>();
   * await q.putNowait(1);
   * ```
   */
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  /**
   * Takes the item at the front. Waits while the queue is empty: forever by
   * default, up to `timeout` ms, or not at all with `block: false`, then
   * rejects with {@linkcode QueueEmptyError}. Once the queue is closed it
   * still hands out what is left, then rejects with
   * {@linkcode QueueClosedError}; a `get` waiting when the queue closes
   * rejects at once.
   *
   * @param options `block`, `timeout` (ms) and `signal`.
   *
   * @example Waiting at most 500 ms
   * ```ts
   * import { Queue, QueueEmptyError } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<number>();
   * setTimeout(() => q.put(7), 10);
   * assert.equal(await q.get({ timeout: 500 }), 7);
   * await assert.rejects(q.get({ block: false }), QueueEmptyError);
   * ```
   */
  get(options?: QueueWaitOptions): Promise<T> {
    return this.#core.getItem(options);
  }

  /**
   * Python's `get_nowait`: `get({ block: false })`.
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<number>();
   * await q.put(1);
   * assert.equal(await q.getNowait(), 1);
   * ```
   */
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  /**
   * How many items are in the queue. Other processes change it at any time,
   * so treat it as a hint.
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<number>();
   * await q.put(1);
   * assert.equal(q.qsize(), 1);
   * ```
   */
  qsize(): number {
    return this.#core.channel.size();
  }

  /**
   * Whether the queue holds no items (a hint, like {@linkcode Queue.prototype.qsize}).
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new Queue().empty());
   * ```
   */
  empty(): boolean {
    return this.#core.isEmpty();
  }

  /**
   * Whether a bounded queue is full (a hint, like {@linkcode Queue.prototype.qsize}).
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<number>(1);
   * await q.put(1);
   * assert.ok(q.full());
   * ```
   */
  full(): boolean {
    const maxsize = this.#core.channel.maxsize;
    return maxsize > 0 && this.#core.channel.size() >= maxsize;
  }

  /**
   * Closes the queue for every process: puts reject, gets drain what is left
   * and then reject, waiting gets reject at once. Idempotent.
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<number>();
   * await q.put(1);
   * q.close();
   * assert.equal(await q.get(), 1);  // drained after close
   * ```
   */
  close(): void {
    this.#core.closeQueue();
  }

  /**
   * Whether the queue has been closed (by any process, as far as this one knows).
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue();
   * q.close();
   * assert.ok(q.closed);
   * ```
   */
  get closed(): boolean {
    return this.#core.channel.closed();
  }

  /**
   * Gets items until the queue is closed and drained.
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new Queue<string>();
   * await q.put("a");
   * await q.put("b");
   * q.close();
   * const seen = [];
   * for await (const item of q) seen.push(item);
   * assert.deepEqual(seen, ["a", "b"]);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#core.iterate();
  }

  /**
   * Closes the queue at the end of an `await using` block.
   *
   * @example
   * ```ts
   * import { Queue } from "@troupe/troupe";
   *
   * {
   *   await using q = new Queue<number>();
   *   await q.put(1);
   * } // closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Python's `JoinableQueue`: a {@linkcode Queue} that counts unfinished tasks.
 * Every `put` adds one; a consumer calls `taskDone()` once per item it has
 * finished with, and `join()` waits until the count is back to zero.
 *
 * @typeParam T The items.
 *
 * @example
 * ```ts
 * import { JoinableQueue } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const jobs = new JoinableQueue<string>();
 * await jobs.put("wash");
 * await jobs.put("dry");
 * (async () => {
 *   for await (const job of jobs) {
 *     console.log("done:", job);
 *     jobs.taskDone();
 *   }
 * })();
 * assert.equal(await jobs.join({ timeout: 1000 }), true);
 * jobs.close();
 * ```
 */
export class JoinableQueue<T> extends Queue<T> {
  /**
   * Marks one item as finished. Throws a `RangeError` when called more times
   * than items were put, as Python's raises `ValueError`.
   *
   * @example
   * ```ts
   * import { JoinableQueue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new JoinableQueue<number>();
   * await q.put(1);
   * await q.get();
   * q.taskDone();
   * assert.throws(() => q.taskDone(), RangeError);
   * ```
   */
  taskDone(): void {
    if (!coreOf(this).channel.taskDone()) {
      throw new RangeError("taskDone() called too many times: call it once per item taken");
    }
  }

  /**
   * Waits until every item put has been marked done. Resolves `true` then,
   * or `false` if `timeout` ms passed first.
   *
   * @param options `timeout` (ms) and `signal`.
   *
   * @example
   * ```ts
   * import { JoinableQueue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new JoinableQueue<number>();
   * await q.put(1);
   * assert.equal(await q.join({ timeout: 10 }), false);
   * ```
   */
  join(options?: JoinOptions): Promise<boolean> {
    let deadline: Deadline;
    try {
      deadline = validateWait({ ...options, block: true }, "join");
    } catch (error) {
      return Promise.reject(error);
    }
    return coreOf(this).channel.join(deadline);
  }
}

/**
 * Python's `SimpleQueue`: an unbounded queue with only `put`, `get`, `empty`
 * and `close`.
 *
 * @typeParam T The items.
 *
 * @example
 * ```ts
 * import { SimpleQueue } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const q = new SimpleQueue<string>();
 * await q.put("hi");
 * assert.equal(await q.get(), "hi");
 * assert.ok(q.empty());
 * ```
 */
export class SimpleQueue<T> implements AsyncIterable<T> {
  readonly #core: QueueCore<T>;

  /** Creates an empty, unbounded queue. */
  constructor() {
    this.#core = new QueueCore(this, "SimpleQueue", 0);
  }

  /**
   * Puts an item at the back (it never waits: the queue is unbounded).
   *
   * @param item The item; it is copied.
   *
   * @example
   * ```ts
   * import { SimpleQueue } from "@troupe/troupe";
   *
   * await new SimpleQueue<number>().put(1);
   * ```
   */
  put(item: T): Promise<void> {
    return this.#core.putItem(item, undefined, false);
  }

  /**
   * Takes the item at the front, waiting for one; `timeout` and `signal` as
   * for {@linkcode Queue.prototype.get}.
   *
   * @param options `timeout` (ms) and `signal`.
   *
   * @example
   * ```ts
   * import { SimpleQueue, QueueEmptyError } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await assert.rejects(new SimpleQueue().get({ timeout: 5 }), QueueEmptyError);
   * ```
   */
  get(options?: Omit<QueueWaitOptions, "block">): Promise<T> {
    return this.#core.getItem(options);
  }

  /**
   * Whether the queue holds no items (a hint).
   *
   * @example
   * ```ts
   * import { SimpleQueue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.ok(new SimpleQueue().empty());
   * ```
   */
  empty(): boolean {
    return this.#core.isEmpty();
  }

  /**
   * Closes the queue for every process, as {@linkcode Queue.prototype.close}.
   *
   * @example
   * ```ts
   * import { SimpleQueue } from "@troupe/troupe";
   *
   * new SimpleQueue().close();
   * ```
   */
  close(): void {
    this.#core.closeQueue();
  }

  /**
   * Gets items until the queue is closed and drained.
   *
   * @example
   * ```ts
   * import { SimpleQueue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const q = new SimpleQueue<number>();
   * await q.put(1);
   * q.close();
   * for await (const x of q) assert.equal(x, 1);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#core.iterate();
  }
}

/**
 * Puts without waiting, for `ActorRef.tell`: throws at once when this process
 * can tell the item will not be queued (it cannot be copied, the queue is
 * full or closed). When the queue lives in another OS process the answer
 * comes later: the returned promise rejects then.
 *
 * @internal
 */
export function offer<T>(queue: Queue<T>, item: T): Promise<void> | undefined {
  const core = coreOf(queue);
  const prepared = prepareOrExplain(item, "message", "send");
  const outcome = core.channel.tryPut(prepared, false);
  if (outcome === "later") return queue.put(item, { block: false });
  if (outcome === "full") {
    throw new QueueFullError(`Cannot send as the mailbox is full (maxsize ${core.channel.maxsize})`);
  }
  if (outcome === "closed") throw new QueueClosedError("Cannot send as the mailbox is closed");
  return undefined;
}

/**
 * Right after an `offer` that put its item at once: a test of whether a
 * consumer has taken that item yet; undefined when this process cannot tell.
 *
 * @internal
 */
export function takenTest<T>(queue: Queue<T>): (() => boolean) | undefined {
  return coreOf(queue).channel.takenTest?.();
}

const QUEUE_CLASSES = { Queue, JoinableQueue, SimpleQueue } as const;

registerReviver("queue", (descriptor) => {
  const { kind, ring, maxsize } = descriptor as unknown as {
    kind: QueueKind;
    ring: RingRef;
    maxsize: number;
  };
  reviving = openChannel(ring, maxsize);
  return new QUEUE_CLASSES[kind]();
});
