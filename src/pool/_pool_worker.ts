/**
 * What a pool worker runs: find the pool's module, run the initializer,
 * then take tasks from its inbox one at a time and put each outcome in its
 * outbox, in order, until the inbox closes or `maxTasks` are done. A task
 * that throws fails alone, and so does a result that cannot be sent back;
 * the worker goes on.
 *
 * @module
 */

import { type Channel, openChannel } from "../memory/_channel.ts";
import { adoptedModule, runnerEntry } from "../runtime/_entry.ts";
import { encodeError } from "../wire/_error_codec.ts";
import { findFunction } from "../wire/_function_key.ts";
import { prepare, type Prepared, prepareOrExplain } from "../memory/_item_codec.ts";
import {
  type FunctionKey,
  packNumbers,
  type PoolTask,
  type PoolWorkerSetup,
  TaskKind,
} from "../runtime/_protocol.ts";
import type { Deadline } from "../core/_futex.ts";
import type { RingRef } from "../memory/_shared.ts";

const FOREVER: Deadline = { until: Infinity };

type Task = (...args: unknown[]) => unknown;

/**
 * The module a worker of a pool of `module` starts on: this module's
 * `poolWorker` with the pool's module imported statically (see
 * `runnerEntry`), so a worker in a sandbox without `read` still loads it.
 */
export function poolWorkerEntry(module: string): string {
  return runnerEntry(import.meta.url, module);
}

/**
 * The target of every pool worker.
 *
 * @internal
 */
export async function poolWorker(setup: PoolWorkerSetup): Promise<void> {
  const inbox = openChannel(setup.inbox as RingRef, 0);
  const outbox = openChannel(setup.outbox as RingRef, 0);
  const bell = setup.bell && new Int32Array(setup.bell);
  const functions = new Map<FunctionKey, Task>();
  let namespace: Record<string, unknown> = {};
  const lookup = (key: FunctionKey): Task => {
    let fn = functions.get(key);
    if (!fn) functions.set(key, fn = findFunction(namespace, key, setup.module));
    return fn;
  };
  try {
    namespace = adoptedModule(setup.module) ?? await import(setup.module);
    if (setup.initializer !== null) await lookup(setup.initializer)(...setup.initargs);
  } catch (error) {
    // The worker fails, as in Python; the pool learns why, and counts a failed start.
    await send(outbox, failed(0, error));
    throw error;
  }
  await send(outbox, prepare([0, 1, null]));
  if (bell) ring(bell);
  // An OS-process worker's inbox is served by the pool's process, which takes
  // each item for it: were this worker killed with the item on its way, the
  // pool could not tell it from one killed running the item. So it confirms
  // each item before running it (an isolate takes from shared memory itself).
  const confirms = bell === null;
  let received = 0;
  // The pool never gives a worker more than maxTasks tasks, batches included.
  for (let left = setup.maxTasks ?? Infinity; left > 0;) {
    let got = inbox.tryGet();
    if (got === "later" || got === "empty") got = await inbox.get(FOREVER);
    if (got === "closed") return;
    if (got === "empty") continue;
    if (confirms) await send(outbox, prepare([0, 2, ++received]));
    const item = got.item as PoolTask | PoolTask[];
    // A batch is run in order, each outcome sent before the next starts: the
    // pool counts on that to know, if this worker dies, what it was running.
    for (const task of Array.isArray(item[0]) ? item as PoolTask[] : [item as PoolTask]) {
      left--;
      const outcome = run(task, lookup);
      await send(outbox, outcome instanceof Promise ? await outcome : outcome);
      if (bell) ring(bell);
    }
  }
}

/** Tells the pool's reader there is an outcome to read; a notify only when it sleeps. */
function ring(bell: Int32Array): void {
  Atomics.add(bell, 0, 1);
  if (Atomics.load(bell, 1) > 0) Atomics.notify(bell, 0);
}

async function send(outbox: Channel, outcome: Prepared): Promise<void> {
  if (outbox.tryPut(outcome, false) === "later") await outbox.put(outcome, FOREVER, false);
}

/** Runs one task; synchronously unless its function returns a promise. */
function run(task: PoolTask, lookup: (key: FunctionKey) => Task): Prepared | Promise<Prepared> {
  const [id, key, kind, payload] = task;
  try {
    const fn = lookup(key);
    if (kind === TaskKind.Apply) {
      const value = fn(...payload);
      if (!isThenable(value)) return succeeded(id, value, fn);
      return Promise.resolve(value).then((v) => succeeded(id, v, fn), (e) => failed(id, e));
    }
    // A chunk runs its items in order, one at a time, and fails as a whole (as in Python).
    const results = new Array(payload.length);
    for (let i = 0; i < payload.length; i++) {
      const value = kind === TaskKind.Map ? fn(payload[i]) : fn(...payload[i] as unknown[]);
      if (isThenable(value)) return finishChunk(id, fn, kind, payload, results, i, value);
      results[i] = value;
    }
    return succeeded(id, packNumbers(results), fn);
  } catch (error) {
    return failed(id, error);
  }
}

/** The rest of a chunk, from item `i`, whose call returned a promise. */
async function finishChunk(
  id: number,
  fn: Task,
  kind: TaskKind,
  payload: readonly unknown[],
  results: unknown[],
  i: number,
  pending: PromiseLike<unknown>,
): Promise<Prepared> {
  try {
    results[i] = await pending;
    for (i++; i < payload.length; i++) {
      results[i] = await (kind === TaskKind.Map ? fn(payload[i]) : fn(...payload[i] as unknown[]));
    }
    return succeeded(id, packNumbers(results), fn);
  } catch (error) {
    return failed(id, error);
  }
}

function succeeded(id: number, value: unknown, fn: Task): Prepared {
  try {
    return prepare([id, 1, value]);
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "DataCloneError")) return failed(id, error);
    try {
      prepareOrExplain(value, "result", `send back what ${fn.name} returned as`);
      return failed(id, error);
    } catch (explained) {
      return failed(id, explained);
    }
  }
}

function failed(id: number, error: unknown): Prepared {
  return prepare([id, 0, encodeError(error)]);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}
