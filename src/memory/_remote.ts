/**
 * Rings across OS processes. A SharedArrayBuffer cannot leave its OS
 * process, so a process elsewhere operates on a ring by calling the isolate
 * that serves it: the root's main isolate for rings of the root's OS process,
 * a subprocess's main isolate for its own. Calls travel through the root,
 * which routes them (`_hosting.ts`); every reply carries the ring's counts,
 * so the caller's `qsize()` is as fresh as its last call.
 *
 * A wait that the caller abandons (an abort) is cancelled at the home, and
 * the caller waits for the home's answer: an item the home took just before
 * the cancel still reaches the caller instead of vanishing.
 *
 * @module
 */

import { holdWhile } from "../core/_keep_alive.ts";
import { decodeError, type EncodedError, encodeError } from "../wire/_error_codec.ts";
import type { Prepared, Taken } from "./_item_codec.ts";
import { served } from "../core/_futex.ts";
import { CLOSED_RING, EMPTY, FULL, type Ring } from "./_ring.ts";
import { servedRing } from "./_served.ts";

/** An operation on a ring at its home. Waits are relative milliseconds; null waits forever. */
export type RingCall =
  | {
    readonly op: "put";
    readonly ring: string;
    readonly item: Prepared;
    readonly timeoutMs: number | null;
    readonly task: boolean;
    /** Answer only if it fails: a pipelined put to an unbounded ring. */
    readonly quiet?: boolean;
  }
  | { readonly op: "get" | "poll" | "join"; readonly ring: string; readonly timeoutMs: number | null }
  | { readonly op: "close" | "taskDone" | "stat"; readonly ring: string }
  /** A worker of the root's OS process asks for the ring's memory, to use it directly from then on. */
  | { readonly op: "buffer"; readonly ring: string }
  /** A pipe-end copy counted in (slot null) or out (once per slot; -1 is untracked). */
  | {
    readonly op: "copy";
    readonly ring: string;
    readonly role: "sender" | "receiver";
    readonly slot: number | null;
  }
  /** Abandons the caller's call `ref`. */
  | { readonly op: "cancel"; readonly ref: number };

/** A ring's counts, as of a reply. */
export interface RingStat {
  readonly size: number;
  readonly closed: boolean;
  readonly unfinished: number;
  readonly senders: number;
  readonly receivers: number;
}

/** What a call resolves to at the home. */
export type RingResult =
  | { readonly item: Taken }
  | { readonly buffer: SharedArrayBuffer }
  | "empty"
  | "full"
  | "closed"
  | boolean
  | null;

/** The home's answer to a call. */
export type RingReply =
  | { readonly ok: true; readonly value: RingResult; readonly stat: RingStat | null }
  | { readonly ok: false; readonly error: EncodedError };

function statOf(ring: Ring): RingStat {
  return {
    size: ring.size,
    closed: ring.closed,
    unfinished: ring.unfinished,
    senders: ring.senders,
    receivers: ring.receivers,
  };
}

const deadline = (timeoutMs: number | null, signal: AbortSignal) => ({
  until: timeoutMs === null ? Infinity : performance.now() + Math.max(0, timeoutMs),
  signal,
  // Made for the caller: whether the program waits is the caller's business.
  background: true,
});

/** Waits at the home that callers may cancel, by caller and call. */
const abandonable = new Map<string, AbortController>();

/** Stops the waits process `from` made here: it exited, and nobody would take their result. */
export function abandonCalls(from: number): void {
  for (const [key, controller] of abandonable) {
    if (key.startsWith(`${from}:`)) controller.abort();
  }
}

/**
 * Runs `call`, made by process `from` as its call `ref`, on a ring this
 * isolate serves. Resolves to undefined when no answer is due (a quiet put
 * that went well).
 */
export async function serveRingCall(
  from: number,
  ref: number,
  call: RingCall,
): Promise<RingReply | undefined> {
  try {
    return await serve(from, ref, call);
  } catch (error) {
    // Never a rejection: the call came from another process, and an answer is all it may cost.
    return { ok: false, error: encodeError(error) };
  }
}

async function serve(from: number, ref: number, call: RingCall): Promise<RingReply | undefined> {
  if (call.op === "cancel") {
    abandonable.get(`${from}:${call.ref}`)?.abort();
    return { ok: true, value: null, stat: null };
  }
  const found = servedRing(call.ring);
  const ring = found instanceof Promise ? await found : found;
  if (!ring) {
    return {
      ok: false,
      error: encodeError(new Error(`Cannot find queue ${call.ring}: it is no longer served here`)),
    };
  }
  if (call.op === "put" && call.quiet) {
    // A pipe whose every reader has closed takes no more (a queue has no senders to count).
    const broken = ring.senders > 0 && ring.receivers <= 0;
    const outcome = broken ? CLOSED_RING : ring.tryPut(call.item, call.task);
    return outcome === undefined ? undefined : { ok: true, value: "closed", stat: statOf(ring) };
  }
  const key = `${from}:${ref}`;
  const controller = new AbortController();
  abandonable.set(key, controller);
  served.waits++;
  try {
    const value = await run(ring, call, controller.signal);
    return { ok: true, value, stat: statOf(ring) };
  } catch (error) {
    return { ok: false, error: encodeError(error) };
  } finally {
    served.waits--;
    abandonable.delete(key);
  }
}

async function run(ring: Ring, call: Exclude<RingCall, { op: "cancel" }>, signal: AbortSignal) {
  switch (call.op) {
    case "put": {
      const result = await ring.put(call.item, deadline(call.timeoutMs, signal), call.task);
      return result === FULL ? "full" : result === CLOSED_RING ? "closed" : null;
    }
    case "get": {
      const taken = await ring.take(deadline(call.timeoutMs, signal));
      return taken === EMPTY ? "empty" : taken === CLOSED_RING ? "closed" : { item: taken };
    }
    case "poll":
      return await ring.poll(deadline(call.timeoutMs, signal));
    case "join":
      return await ring.join(deadline(call.timeoutMs, signal));
    case "close":
      return ring.close();
    case "taskDone":
      return ring.taskDone();
    case "copy": {
      const add = (delta: number) =>
        call.role === "sender" ? ring.addSenders(delta) : ring.addReceivers(delta);
      if (call.slot === null) add(1);
      else if (ring.releaseCopy(call.slot)) add(-1);
      return null;
    }
    case "stat":
      return null;
    case "buffer":
      return { buffer: ring.buffer };
  }
}

/** Sends a call toward a home; set by the runtime (a child posts to the root, the root routes). */
export type CallSender = (ref: number, home: number, call: RingCall) => void;

let sender: CallSender | undefined;
let nextRef = 1;
const waiting = new Map<number, (reply: RingReply) => void>();
/** Where the answers to quiet calls go (only failures are answered), by ref; kept until dropped. */
const listening = new Map<number, (reply: RingReply) => void>();

/** Gives this isolate its way to send calls. */
export function setCallSender(send: CallSender): void {
  sender = send;
}

/** Hands a reply to the call that waits for it. */
export function deliverReply(ref: number, reply: RingReply): void {
  const resolve = waiting.get(ref) ?? listening.get(ref);
  waiting.delete(ref);
  resolve?.(reply);
}

/**
 * Sends calls that are answered only when they fail, all under one ref
 * whose failures go to `onFailure`. Returns the sender.
 */
export function quietCaller(home: number, onFailure: (reply: RingReply) => void): (call: RingCall) => void {
  const ref = nextRef++;
  listening.set(ref, onFailure);
  return (call) => {
    if (!sender) throw new Error("Cannot reach a queue in another process before troupe has started");
    sender(ref, home, call);
  };
}

/**
 * Calls a ring's home and resolves with the result. On abort the call is
 * cancelled there, and this rejects with the signal's reason unless the
 * home had already finished it.
 */
export function callRing(
  home: number,
  call: RingCall,
  signal?: AbortSignal,
): Promise<{ value: RingResult; stat: RingStat | null }> {
  if (!sender) {
    return Promise.reject(new Error("Cannot reach a queue in another process before troupe has started"));
  }
  signal?.throwIfAborted();
  const ref = nextRef++;
  const { promise, resolve } = Promise.withResolvers<RingReply>();
  // The answer comes from a child: awaited, it holds the children (see `_keep_alive.ts`).
  holdWhile(promise);
  waiting.set(ref, resolve);
  sender(ref, home, call);
  const onAbort = () => sender!(nextRef++, home, { op: "cancel", ref });
  signal?.addEventListener("abort", onAbort, { once: true });
  return promise.then((reply) => {
    signal?.removeEventListener("abort", onAbort);
    if (reply.ok) return { value: reply.value, stat: reply.stat };
    if (signal?.aborted && reply.error.name === "AbortError") throw signal.reason;
    throw decodeError(reply.error);
  });
}
