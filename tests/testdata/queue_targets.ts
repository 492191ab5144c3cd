/**
 * Process targets for the queue, pipe and mailbox tests. They report what
 * they saw through queues, so a test awaits a `get` (with a timeout) instead
 * of sleeping. Every wait here has a timeout too, so a bug fails the test
 * instead of hanging it.
 */

import {
  type Backend,
  type Connection,
  currentProcess,
  EOFError,
  JoinableQueue,
  parentProcess,
  Process,
  Queue,
  SimpleQueue,
} from "../../mod.ts";
import { type Caught, caught, CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

export class CustomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CustomError";
  }
}

/** Items of every kind a queue must carry unchanged (made here, so they need not cross in args). */
export function samples(): unknown[] {
  const cyclic: Record<string, unknown> = { name: "cyclic" };
  cyclic.self = cyclic;
  return [
    undefined,
    null,
    0,
    -0,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_SAFE_INTEGER,
    123n,
    -(2n ** 70n),
    true,
    "",
    "plain",
    "unicode: é € 😀 日本",
    new Date(1_700_000_000_000),
    new Map<unknown, unknown>([["k", 1], [2, { v: [3] }]]),
    new Set([1, "two", 3n]),
    new Uint8Array([0, 1, 255]),
    new Float64Array([1.5, -0, NaN]),
    /re+/gi,
    [1, [2, [3, [4, [5]]]], undefined, null],
    { nested: { list: [1, "two", null, true], date: new Date(0), map: new Map([["a", new Set([1])]]) } },
    cyclic,
    new TypeError("bad type"),
    new RangeError("out of range"),
    new CustomError("custom"),
  ];
}

/** Puts the numbers below `count`, then `samples()`, then closes the queue. */
export async function produceSamples(q: Queue<unknown>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await q.put(i);
  for (const item of samples()) await q.put(item);
  q.close();
}

/** Puts every item, then closes the queue if asked. */
export async function produce(q: Queue<unknown>, items: unknown[], close: boolean): Promise<void> {
  for (const item of items) await q.put(item);
  if (close) q.close();
}

/** Finds its queues nested in an object and an array, puts on one, gets from the other, and reports. */
export async function nestedQueues(
  where: { deep: { queues: Queue<unknown>[] } },
  again: Queue<unknown>,
  out: Queue<unknown>,
): Promise<void> {
  const [first] = where.deep.queues;
  await first!.put("through the nested one");
  const item = await again.get({ timeout: PATIENCE_MS });
  await out.put({ item, same: first === again });
}

/** Puts `{ p: id, i }` for i from 0 to count - 1. */
export async function produceTagged(
  q: Queue<{ p: number; i: number }>,
  id: number,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) await q.put({ p: id, i });
}

/** The length of the padding of producer `p`'s item `i`: anything from 0 to 19,999 characters. */
export function padLength(p: number, i: number): number {
  return ((i + p) * 7919) % 20_000;
}

/** Puts `{ p: id, i, pad }` for i from 0 to count - 1, with paddings of very different sizes. */
export async function producePadded(q: Queue<unknown>, id: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await q.put({ p: id, i, pad: "z".repeat(padLength(id, i)) });
}

/**
 * Gets until the queue is closed and drained, checking every item's padding;
 * reports `[p, i]` of each item, or the first thing that went wrong.
 */
export async function collectChecked(q: Queue<unknown>, out: Queue<unknown>): Promise<void> {
  const got: [number, number][] = [];
  try {
    for await (const item of q) {
      const { p, i, pad } = item as { p: number; i: number; pad: string };
      if (pad.length !== padLength(p, i) || /[^z]/.test(pad)) {
        throw new Error(`item ${p}:${i} came back with a padding of ${pad.length} characters`);
      }
      got.push([p, i]);
    }
    await out.put({ got });
  } catch (error) {
    await out.put({ error: caught(error) });
  }
}

/** Gets `count` numbers and reports their sum and the order they came in. */
export async function sumOf(q: Queue<number>, out: Queue<unknown>, count: number): Promise<void> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push(await q.get({ timeout: PATIENCE_MS }));
  await out.put({ sum: seen.reduce((a, b) => a + b, 0), seen });
}

/** Gets until the queue is closed and drained, then reports everything it got. */
export async function collect(q: Queue<unknown>, out: Queue<unknown>): Promise<void> {
  const got: unknown[] = [];
  for await (const item of q) got.push(item);
  await out.put(got);
}

/** Puts 0 to count - 1 on a bounded queue, reporting each put on `progress` as it completes. */
export async function produceWithProgress(
  q: Queue<number>,
  progress: Queue<number>,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await q.put(i, { timeout: PATIENCE_MS });
    await progress.put(i);
  }
}

/** Says it is about to wait, then waits in `get()` with no timeout and reports how that ended. */
export async function getForever(q: Queue<unknown>, out: Queue<unknown>): Promise<void> {
  await out.put("waiting");
  try {
    const item = await q.get();
    await out.put({ item });
  } catch (error) {
    await out.put(caught(error));
  }
}

/** Reports how a `get` with a timeout ended, and how long it took. */
export async function getWithTimeout(
  q: Queue<unknown>,
  out: Queue<unknown>,
  timeoutMs: number,
): Promise<void> {
  const started = performance.now();
  try {
    const item = await q.get({ timeout: timeoutMs });
    await out.put({ item });
  } catch (error) {
    await out.put({ ...caught(error), elapsed: performance.now() - started });
  }
}

/** Tries to put an item holding a function and reports the error. */
export async function putUncloneable(q: Queue<unknown>, out: Queue<unknown>): Promise<void> {
  try {
    await q.put({ id: 1, onDone() {} });
    await out.put({ error: null });
  } catch (error) {
    await out.put(caught(error));
  }
}

/** Aborts its own waiting get, reports the rejection, then gets the next item with a timeout. */
export async function abortThenGet(q: Queue<unknown>, out: Queue<unknown>): Promise<void> {
  const controller = new AbortController();
  const waiting = q.get({ signal: controller.signal });
  controller.abort(new Error("changed my mind"));
  try {
    await out.put({ item: await waiting });
  } catch (error) {
    await out.put(caught(error));
  }
  await out.put({ item: await q.get({ timeout: PATIENCE_MS }) });
}

/** Gets with a signal that is already aborted while an item is there; reports what happened and what is left. */
export async function getAlreadyAborted(q: Queue<unknown>, out: Queue<unknown>): Promise<void> {
  let outcome: unknown;
  try {
    outcome = { item: await q.get({ signal: AbortSignal.abort(new Error("too late")) }) };
  } catch (error) {
    outcome = caught(error);
  }
  await out.put(outcome);
}

/** Takes `count` jobs, marking each done. */
export async function finishJobs(q: JoinableQueue<number>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await q.get({ timeout: PATIENCE_MS });
    q.taskDone();
  }
}

/** Marks one task done without having taken anything itself, and reports how that went. */
export async function taskDoneOnly(q: JoinableQueue<unknown>, out: Queue<unknown>): Promise<void> {
  try {
    q.taskDone();
    await out.put("done");
  } catch (error) {
    await out.put(caught(error));
  }
}

/** Says it is joining, then reports what `join` resolved to. */
export async function joinAndReport(q: JoinableQueue<unknown>, out: Queue<unknown>): Promise<void> {
  await out.put("joining");
  await out.put({ joined: await q.join({ timeout: PATIENCE_MS }) });
}

/** Reports which kind of queue each one arrived as, and uses each. */
export async function kindsOf(
  queues: (Queue<unknown> | SimpleQueue<unknown>)[],
  out: Queue<unknown>,
): Promise<void> {
  const kinds = [];
  for (const q of queues) {
    kinds.push({
      joinable: q instanceof JoinableQueue,
      queue: q instanceof Queue,
      simple: q instanceof SimpleQueue,
      maxsize: q instanceof Queue ? q.maxsize : null,
    });
    await q.put("used");
  }
  await out.put(kinds);
}

/** Starts a grandchild on `backend` that puts `items` on the queue it was given, and waits for it. */
export async function produceViaGrandchild(
  q: Queue<unknown>,
  items: unknown[],
  backend: Backend,
): Promise<void> {
  const kid = new Process({ target: produce, args: [q, items, false], module: MODULE, backend });
  await kid.start();
  await kid.join(PATIENCE_MS);
  if (kid.exitCode !== 0) throw new Error(`grandchild ended with ${kid.exitCode}`);
}

/**
 * Makes a queue of its own, hands it to a grandchild on `backend` that
 * fills it, and passes on what it got to `out`.
 */
export async function relayOwnQueue(out: Queue<unknown>, items: unknown[], backend: Backend): Promise<void> {
  const own = new Queue<unknown>();
  const kid = new Process({ target: produce, args: [own, items, true], module: MODULE, backend });
  await kid.start();
  const got: unknown[] = [];
  for (;;) {
    try {
      got.push(await own.get({ timeout: PATIENCE_MS }));
    } catch (error) {
      if ((error as Error).name === "QueueClosedError") break;
      throw error;
    }
  }
  await kid.join(PATIENCE_MS);
  await out.put(got);
}

// --- Pipes ---

/** Sends back every message until EOF, then reports how many it echoed. */
export async function echo(conn: Connection<unknown, unknown>, out: Queue<unknown>): Promise<void> {
  let count = 0;
  for (;;) {
    let message: unknown;
    try {
      message = await conn.recv({ timeout: PATIENCE_MS });
    } catch (error) {
      if (error instanceof EOFError) break;
      throw error;
    }
    conn.send(message);
    count++;
  }
  conn.close();
  await out.put({ echoed: count });
}

/** Sends every message and returns without closing: the end closes as the process ends. */
export function sendAll(conn: Connection<unknown, unknown>, messages: unknown[]): void {
  for (const message of messages) conn.send(message);
}

/** Sends every message, then crashes without closing. */
export function sendThenThrow(conn: Connection<unknown, unknown>, messages: unknown[]): void {
  for (const message of messages) conn.send(message);
  throw new Error("crashed on purpose");
}

/** Closes its end, says so, then waits for the word to exit. */
export async function closeAndWait(
  conn: Connection<unknown, unknown>,
  out: Queue<unknown>,
  go: Queue<unknown>,
): Promise<void> {
  conn.close();
  await out.put("closed");
  await go.get({ timeout: PATIENCE_MS });
}

/** Waits for the word, sends one message, and reports whether the send threw. */
export async function sendWhenTold(
  conn: Connection<unknown, unknown>,
  go: Queue<unknown>,
  out: Queue<unknown>,
): Promise<void> {
  await go.get({ timeout: PATIENCE_MS });
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      conn.send("anyone?");
    } catch (error) {
      await out.put({ attempt, ...caught(error) });
      return;
    }
    // A subprocess reaches the pipe through its parent and learns that the
    // reader is gone from the next answer it gets: any awaited call will do.
    await go.get({ timeout: 0 }).catch(() => {});
  }
  await out.put("sent");
}

/** Sends a message, hands its end on to a grandchild on `backend` that sends `messages`, and closes its own copy. */
export async function handOnPipe(
  conn: Connection<unknown, unknown>,
  messages: unknown[],
  backend: Backend,
): Promise<void> {
  conn.send("from the child");
  const kid = new Process({ target: sendAll, args: [conn, messages], module: MODULE, backend });
  await kid.start();
  conn.close();
  await kid.join(PATIENCE_MS);
  if (kid.exitCode !== 0) throw new Error(`grandchild ended with ${kid.exitCode}`);
}

/** A target the child cannot find: it is not exported. */
export function hiddenTarget(): (conn: Connection<unknown, unknown>) => void {
  return function hidden() {};
}

/** Reads one message from a read-only end and reports it with what the child sees of the end. */
export async function readOne(conn: Connection<never, unknown>, out: Queue<unknown>): Promise<void> {
  const message = await conn.recv({ timeout: PATIENCE_MS });
  let sendError: Caught | null = null;
  try {
    (conn as unknown as Connection<unknown, unknown>).send("wrong way");
  } catch (error) {
    sendError = caught(error);
  }
  await out.put({ message, readable: conn.readable, writable: conn.writable, sendError });
}

// --- Mailboxes ---

/** Reads its own mailbox and answers in its parent's. */
export async function answerMail(count: number): Promise<void> {
  const self = currentProcess();
  for (let i = 0; i < count; i++) {
    const message = await self.mailbox.get({ timeout: PATIENCE_MS });
    await parentProcess()!.mailbox.put({ from: self.name, reply: message });
  }
}

/** Starts a grandchild on `backend`, mails it `message`, and passes its answer up to this process's parent. */
export async function mailGrandchild(message: unknown, backend: Backend): Promise<void> {
  const kid = new Process({ target: answerMail, args: [1], module: MODULE, backend });
  await kid.mailbox.put(message);
  await kid.start();
  const answer = await currentProcess().mailbox.get({ timeout: PATIENCE_MS });
  await kid.join(PATIENCE_MS);
  await parentProcess()!.mailbox.put({ relayedBy: currentProcess().name, answer });
}

/** Holds its end of a pipe, says so, and waits to be stopped. */
export async function holdUntilStopped(
  conn: Connection<unknown, unknown>,
  out: Queue<unknown>,
): Promise<void> {
  conn.send("holding");
  await out.put("holding");
  await new Promise(() => setInterval(() => {}, 60_000));
}
