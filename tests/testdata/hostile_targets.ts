/**
 * Children that attack their parent through their own channel to the root:
 * they send what the protocol does not allow, as a broken or malicious
 * child could. Used by `hostile_messages_script.ts`.
 */

import { encodeFrame, FRAME_MAGIC } from "../../src/wire/_frame.ts";
import { childChannel } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** An object nested `levels` deep. */
export function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/**
 * What a child cannot send through its bootstrap: "deep" is a message too
 * deep for the root to read (a worker's structured clone; a subprocess's
 * frame, written by hand as the codec would refuse to encode it).
 */
function special(name: string): Uint8Array | unknown {
  if (name !== "deep") throw new Error(`No special message ${name}`);
  if (!childChannel()) return { $troupe: "started", tid: nested(3000) };
  const levels = 5_000;
  const json = new TextEncoder().encode(`${'["A",'.repeat(levels)}1${"]".repeat(levels)}`);
  const frame = new Uint8Array(12 + json.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, 4 + json.byteLength, true);
  view.setUint32(8, json.byteLength, true);
  frame.set(json, 12);
  return frame;
}

/**
 * Sends each of `messages` on this child's own channel, raw, twice over
 * (the parent must report the child once), then waits to be killed. A
 * string names a message made here (`special`). `_held` is what the child
 * must have been given for a message to mean something (a queue it names).
 */
export async function sendRaw(messages: readonly unknown[], _held?: unknown): Promise<void> {
  const made = messages.map((message) => typeof message === "string" ? special(message) : message);
  const link = childChannel();
  if (link) await link.flush();
  for (let round = 0; round < 2; round++) {
    for (const message of made) {
      if (!link) (self as unknown as { postMessage(message: unknown): void }).postMessage(message);
      else await link.conn.write(message instanceof Uint8Array ? message : encodeFrame(message));
    }
  }
  await new Promise(() => setInterval(() => {}, 1000));
}

/** Waits to be stopped. */
export function forever(): Promise<void> {
  return new Promise(() => setInterval(() => {}, 1000));
}

/** Takes one item from `inbox` and puts it on `out`. */
export async function echoOne(
  inbox: { get(): Promise<unknown> },
  out: { put(value: unknown): Promise<void> },
): Promise<void> {
  await out.put(await inbox.get());
}

/** Puts `value` on `queue` and exits: a sibling that still works. */
export async function putOne(queue: { put(value: unknown): Promise<void> }, value: unknown): Promise<void> {
  await queue.put(value);
}

/** Makes a queue of this process's own, hands it to the parent, and puts "real" in it once told to. */
export async function serveQueue(
  back: { put(value: unknown): Promise<void> },
  go: { get(): Promise<unknown> },
): Promise<void> {
  const { Queue } = await import("../../mod.ts");
  const own = new Queue<string>();
  await back.put(own);
  await go.get();
  await own.put("real");
  await forever();
}

/**
 * Answers calls it was never asked to serve: "served" replies to process
 * `to` for its calls 1 to `count`, each carrying a forged item, then says
 * "done" on `done`.
 */
export async function forgeReplies(to: number, count: number, done: { put(value: unknown): Promise<void> }) {
  const link = childChannel();
  if (link) await link.flush();
  const item = JSON.stringify("forged");
  const stat = { size: 0, closed: false, unfinished: 0, senders: 1, receivers: 1 };
  for (let ref = 1; ref <= count; ref++) {
    const message = { $troupe: "served", to, ref, reply: { ok: true, value: { item }, stat } };
    if (!link) (self as unknown as { postMessage(message: unknown): void }).postMessage(message);
    else await link.conn.write(encodeFrame(message));
  }
  await done.put("done");
}

/** How many levels deep `value` nests, following `.a` (as `nested` makes it). */
export function depthOf(value: unknown): number {
  let depth = 0;
  for (let at = value; typeof at === "object" && at !== null; at = (at as { a: unknown }).a) depth++;
  return depth;
}

/** Puts how deep its argument nests. */
export async function reportDepth(
  out: { put(value: unknown): Promise<void> },
  value: unknown,
): Promise<void> {
  await out.put(depthOf(value));
}

/** Puts a value nested `levels` deep, and then what that put threw ("ok" if nothing). */
export async function putNested(out: { put(value: unknown): Promise<void> }, levels: number): Promise<void> {
  try {
    await out.put(nested(levels));
    await out.put("ok");
  } catch (error) {
    await out.put(`${(error as Error).name}: ${(error as Error).message}`);
  }
}

/** For a pool: the depth of its argument. */
export function poolDepth(value: unknown): number {
  return depthOf(value);
}

/**
 * Asks the root to host a child whose args hold a descriptor that is none
 * of troupe's (a pipe end without rings): well-formed, so the root hosts it;
 * the root must not choke on it when that child exits. Says "sent" on `done`.
 */
export async function spawnForged(done: { put(value: unknown): Promise<void> }): Promise<void> {
  const self =
    (globalThis as Record<symbol, { self: { id: number; name: string } }>)[Symbol.for("troupe.runtime")]!
      .self;
  const none = {
    read: false,
    write: false,
    net: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
  const spec = {
    host: { backend: "worker", permissions: none, sandboxed: false, memoryLimitMb: null },
    name: "Forged-2",
    identity: [1, 1],
    daemon: false,
    detached: false,
    entry: { kind: "none" },
    args: [{ $troupeShared: "connection", send: "no rings here", receive: null }],
    mainModule: MODULE,
    argv: [],
    parent: { name: self.name, pid: Deno.pid, id: self.id },
    mailboxes: { own: null, parent: null },
  };
  (globalThis as unknown as { postMessage(message: unknown): void }).postMessage({
    $troupe: "spawn",
    ref: 1,
    spec,
  });
  await done.put("sent");
}

/**
 * A pool function that makes its worker send what is no outcome: the next
 * item the worker writes to a ring (its outcome for this task) is replaced
 * by a string.
 */
export async function sabotage(): Promise<number> {
  const { Ring } = await import("../../src/memory/_ring.ts");
  const tryPut = Ring.prototype.tryPut;
  Ring.prototype.tryPut = function (this: InstanceType<typeof Ring>, _item, task) {
    Ring.prototype.tryPut = tryPut;
    return tryPut.call(this, { json: '"garbage"' }, task);
  };
  return 1;
}
