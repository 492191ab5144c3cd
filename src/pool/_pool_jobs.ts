/**
 * What a pool makes of a map or an imap: chunks of items sent as tasks, and
 * their outcomes put back together, with Python's rules. A map's result is
 * ready once every chunk has reported (it is not fail-fast) and carries the
 * first failure if there was one; a chunk fails as a whole. An imap pulls
 * its source lazily, with a bounded number of chunks out at once, yields
 * results in order (or as they come, unordered), raises a chunk's failure
 * at its place and goes on after it.
 *
 * @module
 */

import { findUncloneable } from "../wire/_clone_path.ts";
import { MAX_NESTING } from "../wire/_codec.ts";
import { prepare, type Prepared } from "../memory/_item_codec.ts";
import type { PoolEngine, TaskOptions } from "./_pool_engine.ts";
import { type FunctionKey, packNumbers, type PoolTask, TaskKind } from "../runtime/_protocol.ts";
import { report } from "../core/_report.ts";

/** Reports progress: items done, and the total (undefined while an imap's source is not exhausted). */
export type ProgressListener = (done: number, total: number | undefined) => void;

/** How a map or an imap runs: its tasks' options, its progress listener, and the method called (for messages). */
export interface JobOptions extends TaskOptions {
  readonly onProgress?: ProgressListener | undefined;
  readonly method: string;
}

/**
 * Encodes a task; a value that cannot be copied to a worker fails with a
 * TypeError naming it: `args[1].f`, or `items[i]` counted from the start of
 * the whole map (a chunk's items start at `offset`).
 */
export function encodeTask(task: PoolTask, what: "args" | "items", method: string, offset = 0): Prepared {
  // Most calls pass a few strings and numbers: JSON carries those exactly, with no walk to check.
  if (task[3].length <= 8 && task[3].every(plainScalar)) return { json: JSON.stringify(task) };
  try {
    // A task's values sit 2 levels down (3 for a starmap's args): each may nest MAX_NESTING deep.
    return prepare(task, MAX_NESTING + 3);
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "DataCloneError")) throw error;
    const payload = task[3];
    let path: string | undefined;
    if (what === "args") path = findUncloneable(payload, "args");
    for (let i = 0; path === undefined && i < payload.length; i++) {
      path = findUncloneable(payload[i], `items[${offset + i}]`);
    }
    throw new TypeError(
      `Cannot send the ${what} of ${method} to a pool worker: ${
        path ?? error.message
      }. They are copied to the ` +
        "worker, so pass data (no functions, symbols, promises or weak collections)",
      { cause: error },
    );
  }
}

/** A value JSON writes and reads back unchanged, with nothing inside. */
function plainScalar(value: unknown): boolean {
  return typeof value === "string" || typeof value === "boolean" || value === null ||
    (typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0));
}

const labels = new Map<FunctionKey, string>();

/** How messages name a task of `fn`: "square()", or "a chunk of square()". */
export function labelOf(fn: FunctionKey, chunk: boolean): string {
  let label = labels.get(fn);
  if (!label) labels.set(fn, label = `${fn.slice(0, fn.lastIndexOf("#"))}()`);
  return chunk ? `a chunk of ${label}` : label;
}

/** Calls a user's callback; one that throws is reported, and the pool goes on. */
export function callSafely<A extends unknown[]>(
  callback: ((...args: A) => void) | undefined,
  what: string,
  ...args: A
): void {
  if (!callback) return;
  try {
    callback(...args);
  } catch (error) {
    report(`Pool: the ${what} threw; the pool goes on without it: `, error);
  }
}

/** Runs a map over `items` in chunks; `done` gets the results in order, or the first failure. */
export function runMap(
  engine: PoolEngine,
  fn: FunctionKey,
  kind: TaskKind,
  items: readonly unknown[],
  chunksize: number,
  options: JobOptions,
  done: (ok: boolean, value: unknown) => void,
): void {
  const total = items.length;
  if (total === 0) return done(true, []);
  const results = new Array(total);
  let remaining = Math.ceil(total / chunksize), finished = 0;
  let failure: { error: unknown } | undefined;
  const label = labelOf(fn, true);
  for (let start = 0; start < total; start += chunksize) {
    const chunk = items.slice(start, start + chunksize);
    const settle = (ok: boolean, value: unknown) => {
      if (ok) {
        const values = value as unknown[];
        for (let i = 0; i < values.length; i++) results[start + i] = values[i];
        finished += chunk.length;
        callSafely(options.onProgress, "onProgress callback", finished, total);
      } else {
        failure ??= { error: value };
      }
      if (--remaining === 0) done(failure === undefined, failure === undefined ? results : failure.error);
    };
    try {
      const id = engine.nextId();
      engine.submit(
        id,
        encodeTask(
          [id, fn, kind, kind === TaskKind.Map ? packNumbers(chunk) : chunk],
          "items",
          options.method,
          start,
        ),
        label,
        options,
        (_, ok, v) => settle(ok, v),
        null,
        chunk.length,
      );
    } catch (error) {
      // This chunk never left; those that did still report, then the map fails with this.
      failure ??= { error };
      remaining -= Math.ceil((total - start) / chunksize) - 1;
      settle(false, error);
      return;
    }
  }
}

type Outcome = { readonly ok: boolean; readonly value: unknown };

/** Python's IMapIterator and IMapUnorderedIterator, as an async iterator. */
export class ImapIterator<R> implements AsyncIterableIterator<R> {
  readonly #engine: PoolEngine;
  readonly #fn: FunctionKey;
  readonly #kind: TaskKind;
  readonly #chunksize: number;
  readonly #ordered: boolean;
  readonly #options: JobOptions;
  /** At most this many chunks are out (sent, or done and not yet read) at once. */
  readonly #window: number;
  readonly #source: Iterator<unknown> | AsyncIterator<unknown>;
  /** Outcomes not yet read: by chunk number (ordered), or in the order they came. */
  readonly #byChunk = new Map<number, Outcome>();
  readonly #inOrderOfArrival: Outcome[] = [];
  #submitted = 0;
  #read = 0;
  #pulled = 0;
  #finished = 0;
  #sourceDone = false;
  #sourceError: { error: unknown } | undefined;
  #pumping = false;
  #closed = false;
  #buffer: readonly unknown[] = [];
  #bufferAt = 0;
  #waiters: (() => void)[] = [];

  constructor(
    engine: PoolEngine,
    fn: FunctionKey,
    kind: TaskKind,
    source: Iterable<unknown> | AsyncIterable<unknown>,
    chunksize: number,
    ordered: boolean,
    options: JobOptions,
  ) {
    this.#engine = engine;
    this.#fn = fn;
    this.#kind = kind;
    this.#chunksize = chunksize;
    this.#ordered = ordered;
    this.#options = options;
    this.#window = Math.max(8, 64 * engine.options.processes);
    this.#source = Symbol.asyncIterator in source
      ? source[Symbol.asyncIterator]()
      : (source as Iterable<unknown>)[Symbol.iterator]();
    // An abort ends the iteration: chunks out fail with the reason, then next() throws it.
    options.signal?.addEventListener("abort", () => this.#pump(), { once: true });
    // As Python's task handler does: work starts now, not at the first next().
    this.#pump();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<R, undefined>> {
    for (;;) {
      if (this.#bufferAt < this.#buffer.length) {
        return { value: this.#buffer[this.#bufferAt++] as R, done: false };
      }
      const outcome = this.#ordered ? this.#byChunk.get(this.#read) : this.#inOrderOfArrival.shift();
      if (outcome) {
        if (this.#ordered) this.#byChunk.delete(this.#read);
        this.#read++;
        this.#pump();
        if (!outcome.ok) throw outcome.value;
        this.#buffer = outcome.value as unknown[];
        this.#bufferAt = 0;
        continue;
      }
      if (this.#closed || (this.#sourceDone && this.#read === this.#submitted)) {
        const failure = this.#sourceError;
        this.#sourceError = undefined;
        if (failure) throw failure.error;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Stops pulling from the source; chunks already sent finish, and their results are dropped. */
  async return(): Promise<IteratorResult<R, undefined>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#buffer = [];
      this.#byChunk.clear();
      this.#inOrderOfArrival.length = 0;
      this.#wake();
      if (!this.#sourceDone && !this.#pumping) await this.#closeSource();
    }
    return { value: undefined, done: true };
  }

  async #closeSource(): Promise<void> {
    this.#sourceDone = true;
    try {
      await this.#source.return?.();
    } catch {
      // The source's own cleanup failed; nothing waits on it.
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Pulls chunks from the source and sends them, while fewer than `#window` are out. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      const { signal } = this.#options;
      if (signal?.aborted && !this.#sourceDone) {
        this.#sourceError = { error: signal.reason };
        await this.#closeSource();
      }
      while (!this.#sourceDone && !this.#closed && this.#submitted - this.#read < this.#window) {
        const chunk: unknown[] = [];
        try {
          while (chunk.length < this.#chunksize) {
            const step = this.#source.next();
            const { done, value } = step instanceof Promise ? await step : step as IteratorResult<unknown>;
            if (done) {
              this.#sourceDone = true;
              break;
            }
            chunk.push(value);
          }
        } catch (error) {
          // As in Python: the full chunks before the failure are run, then the error is raised.
          this.#sourceDone = true;
          this.#sourceError = { error };
          break;
        }
        this.#pulled += chunk.length;
        if (chunk.length > 0) this.#send(chunk);
      }
      if (this.#closed && !this.#sourceDone) await this.#closeSource();
    } finally {
      this.#pumping = false;
      this.#wake();
    }
  }

  #send(chunk: unknown[]): void {
    const index = this.#submitted++;
    const settle = (ok: boolean, value: unknown) => {
      if (this.#closed) return;
      if (ok) {
        this.#finished += chunk.length;
        callSafely(
          this.#options.onProgress,
          "onProgress callback",
          this.#finished,
          this.#sourceDone ? this.#pulled : undefined,
        );
      }
      const outcome = { ok, value };
      if (this.#ordered) this.#byChunk.set(index, outcome);
      else this.#inOrderOfArrival.push(outcome);
      this.#wake();
    };
    try {
      const id = this.#engine.nextId();
      this.#engine.submit(
        id,
        encodeTask(
          [id, this.#fn, this.#kind, packNumbers(chunk)],
          "items",
          this.#options.method,
          this.#pulled - chunk.length,
        ),
        labelOf(this.#fn, this.#chunksize > 1),
        this.#options,
        (_, ok, value) => settle(ok, value),
        null,
        chunk.length,
      );
    } catch (error) {
      settle(false, error);
    }
  }
}
