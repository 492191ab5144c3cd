/**
 * One ring as a queue or pipe end uses it, whether this isolate holds it in
 * memory (`LocalChannel`) or reaches it through its home (`RemoteChannel`).
 * Results come back as plain outcomes; the public classes turn them into
 * Python's exceptions.
 *
 * @module
 */

import { decodeError } from "../wire/_error_codec.ts";
import { finishItem, type Prepared } from "./_item_codec.ts";
import { callRing, quietCaller, type RingCall, type RingResult, type RingStat } from "./_remote.ts";
import type { Deadline } from "../core/_futex.ts";
import { CLOSED_RING, EMPTY, FULL, Ring } from "./_ring.ts";
import { prepareRevived, type RingRef } from "./_shared.ts";
import { localRing, pendingRing, ringRef, servedNearby } from "./_served.ts";

/** Which end of a ring a pipe-end copy holds. */
export type CopyRole = "sender" | "receiver";

/** What a get gives: an item, or why there is none. */
export type Got = { readonly item: unknown } | "empty" | "closed";

/** A ring, wherever it is. */
export interface Channel {
  readonly maxsize: number;
  /** The items in the ring (for a remote ring, as of this process's last call). */
  size(): number;
  closed(): boolean;
  unfinished(): number;
  senders(): number;
  receivers(): number;
  put(item: Prepared, deadline: Deadline, task: boolean): Promise<"full" | "closed" | undefined>;
  /**
   * Puts without waiting, when this isolate holds the ring (the fast path):
   * "later" when it cannot now, and `put` must be used.
   */
  tryPut(item: Prepared, task: boolean): "full" | "closed" | "later" | undefined;
  /** Gets without waiting, when this isolate holds the ring; "later" when it cannot now. */
  tryGet(): Got | "later";
  /**
   * After a put that worked here: a test of whether a consumer has taken that
   * item yet. Absent where this isolate cannot tell (the ring is elsewhere).
   */
  takenTest?(): () => boolean;
  /** Puts without waiting for an answer: a pipe's `send` (its ring is unbounded). */
  send(item: Prepared): void;
  /** Resolves once the queues and pipe ends in the item can be used here (`channelsSettled`). */
  get(deadline: Deadline): Promise<Got>;
  /** Waits for an item or for the ring to close; takes nothing. */
  poll(deadline: Deadline): Promise<boolean>;
  join(deadline: Deadline): Promise<boolean>;
  close(): void;
  /** Marks one task done; false when none was pending (as far as this process can tell). */
  taskDone(): boolean;
  /** Counts in one more copy of a pipe end; returns its slot (-1: untracked). */
  claimCopy(role: CopyRole): number;
  /** Counts a copy of a pipe end out, once per slot however often it is called (-1: untracked, always). */
  releaseCopy(role: CopyRole, slot: number): void;
  /** How the ring crosses to another process. */
  ref(): RingRef;
}

class LocalChannel implements Channel {
  readonly #ring: Ring;

  constructor(ring: Ring) {
    this.#ring = ring;
  }

  get maxsize(): number {
    return this.#ring.maxsize;
  }

  size = () => this.#ring.size;
  closed = () => this.#ring.closed;
  unfinished = () => this.#ring.unfinished;
  senders = () => this.#ring.senders;
  receivers = () => this.#ring.receivers;

  tryPut(item: Prepared, task: boolean): "full" | "closed" | undefined {
    const outcome = this.#ring.tryPut(item, task);
    return outcome === FULL ? "full" : outcome === CLOSED_RING ? "closed" : undefined;
  }

  takenTest(): () => boolean {
    const ring = this.#ring, position = ring.lastPut;
    return () => ring.taken(position);
  }

  tryGet(): Got {
    const taken = this.#ring.tryTake();
    return taken === EMPTY ? "empty" : taken === CLOSED_RING ? "closed" : { item: finishItem(taken) };
  }

  async put(item: Prepared, deadline: Deadline, task: boolean): Promise<"full" | "closed" | undefined> {
    const outcome = await this.#ring.put(item, deadline, task);
    return outcome === FULL ? "full" : outcome === CLOSED_RING ? "closed" : undefined;
  }

  send(item: Prepared): void {
    this.#ring.tryPut(item, false);
  }

  async get(deadline: Deadline): Promise<Got> {
    const taken = await this.#ring.take(deadline);
    if (taken === EMPTY || taken === CLOSED_RING) return taken === EMPTY ? "empty" : "closed";
    const item = finishItem(taken);
    if (ringsResolving()) await channelsSettled();
    return { item };
  }

  poll(deadline: Deadline): Promise<boolean> {
    return this.#ring.poll(deadline);
  }

  join(deadline: Deadline): Promise<boolean> {
    return this.#ring.join(deadline);
  }

  close(): void {
    this.#ring.close();
  }

  taskDone(): boolean {
    return this.#ring.taskDone();
  }

  claimCopy(role: CopyRole): number {
    countCopy(this.#ring, role, 1);
    return this.#ring.claimCopy();
  }

  releaseCopy(role: CopyRole, slot: number): void {
    if (this.#ring.releaseCopy(slot)) countCopy(this.#ring, role, -1);
  }

  ref(): RingRef {
    return ringRef(this.#ring);
  }
}

const timeoutOf = (deadline: Deadline) =>
  deadline.until === Infinity ? null : Math.max(0, deadline.until - performance.now());

class RemoteChannel implements Channel {
  tryPut = () => "later" as const;
  tryGet = () => "later" as const;

  readonly maxsize: number;
  readonly #ref: RingRef;
  #stat: RingStat = { size: 0, closed: false, unfinished: 0, senders: 1, receivers: 1 };
  /** A failure of a call nobody awaited (a send, a close), reported by the next call. */
  #failure: unknown;
  #quiet: ((call: RingCall) => void) | undefined;

  constructor(ref: RingRef, maxsize: number) {
    this.#ref = ref;
    this.maxsize = maxsize;
  }

  /**
   * Sends a put nobody waits for; only a refusal comes back, with counts that
   * show why (the queue closed, the pipe's reader is gone), so the next put
   * or send fails as it would have.
   */
  #putQuietly(item: Prepared, task: boolean): void {
    this.#quiet ??= quietCaller(this.#ref.home, (reply) => {
      if (!reply.ok) this.#failure ??= decodeError(reply.error);
      else if (reply.stat) this.#stat = reply.stat;
    });
    this.#quiet({ op: "put", ring: this.#id, item, timeoutMs: 0, task, quiet: true });
  }

  size = () => this.#stat.size;
  closed = () => this.#stat.closed;
  unfinished = () => this.#stat.unfinished;
  senders = () => this.#stat.senders;
  receivers = () => this.#stat.receivers;

  async #call(
    call: Parameters<typeof callRing>[1],
    signal?: AbortSignal,
  ): Promise<RingResult> {
    this.#throwFailure();
    const { value, stat } = await callRing(this.#ref.home, call, signal);
    if (stat) this.#stat = stat;
    return value;
  }

  /** Reports a failure of an earlier call that nobody awaited. */
  #throwFailure(): void {
    if (this.#failure === undefined) return;
    const failure = this.#failure;
    this.#failure = undefined;
    throw failure;
  }

  #fire(call: Parameters<typeof callRing>[1]): void {
    this.#call(call).catch((error) => this.#failure ??= error);
  }

  get #id(): string {
    return this.#ref.$troupeRing;
  }

  async put(item: Prepared, deadline: Deadline, task: boolean): Promise<"full" | "closed" | undefined> {
    if (this.maxsize === 0) {
      // Never full, so nothing to wait for: as Python's feeder thread does,
      // hand the item over and go on. Calls arrive in order, so FIFO holds;
      // a put the home refuses (the queue closed meanwhile) fails the next one.
      this.#throwFailure();
      if (this.#stat.closed) return "closed";
      this.#putQuietly(item, task);
      return undefined;
    }
    const value = await this.#call(
      { op: "put", ring: this.#id, item, timeoutMs: timeoutOf(deadline), task },
      deadline.signal,
    );
    return value === "full" || value === "closed" ? value : undefined;
  }

  send(item: Prepared): void {
    this.#throwFailure();
    this.#putQuietly(item, false);
  }

  async get(deadline: Deadline): Promise<Got> {
    const value = await this.#call(
      { op: "get", ring: this.#id, timeoutMs: timeoutOf(deadline) },
      deadline.signal,
    );
    if (value === "empty" || value === "closed") return value;
    const item = finishItem((value as { item: string | Uint8Array }).item);
    if (ringsResolving()) await channelsSettled();
    return { item };
  }

  async poll(deadline: Deadline): Promise<boolean> {
    return await this.#call(
      { op: "poll", ring: this.#id, timeoutMs: timeoutOf(deadline) },
      deadline.signal,
    ) ===
      true;
  }

  async join(deadline: Deadline): Promise<boolean> {
    return await this.#call(
      { op: "join", ring: this.#id, timeoutMs: timeoutOf(deadline) },
      deadline.signal,
    ) ===
      true;
  }

  close(): void {
    this.#stat = { ...this.#stat, closed: true };
    this.#fire({ op: "close", ring: this.#id });
  }

  taskDone(): boolean {
    // Only the home knows the count (another process may have put the item),
    // so a call too many is reported by this process's next call.
    this.#call({ op: "taskDone", ring: this.#id }).then((done) => {
      if (done === false) {
        this.#failure ??= new RangeError("taskDone() called too many times: call it once per item taken");
      }
    }, (error) => this.#failure ??= error);
    return true;
  }

  claimCopy(role: CopyRole): number {
    // A slot would take a round trip to claim: this copy goes untracked.
    this.#fire({ op: "copy", ring: this.#id, role, slot: null });
    return -1;
  }

  releaseCopy(role: CopyRole, slot: number): void {
    this.#fire({ op: "copy", ring: this.#id, role, slot });
  }

  ref(): RingRef {
    return this.#ref;
  }
}

/** Counts a pipe-end copy in (+1) or out (-1). */
function countCopy(ring: Ring, role: CopyRole, delta: number): void {
  if (role === "sender") ring.addSenders(delta);
  else ring.addReceivers(delta);
}

/** A channel on a new ring in this OS process; a pipe's ring has slots to track copies of its ends. */
export function newChannel(maxsize: number, copySlots = 0): Channel {
  return new LocalChannel(Ring.create(maxsize, 4096, copySlots));
}

/**
 * A ring of this OS process that this isolate learned of by id (inside a
 * message) and will hold in memory: a worker asks the root for the ring's
 * memory once; the root waits for the worker that made it to register it
 * (`pendingRing`). Then it works on it directly. Calls made meanwhile wait
 * for that, in order; a process's args are not handed to its target before
 * (`prepareRevived`), so its first `qsize()` is exact.
 */
class ResolvingChannel implements Channel {
  readonly maxsize: number;
  readonly #ref: RingRef;
  readonly #ready: Promise<Channel>;
  #resolved: Channel | undefined;

  constructor(ref: RingRef, maxsize: number, pending?: Promise<Ring | undefined>) {
    this.#ref = ref;
    this.maxsize = maxsize;
    const found = pending ??
      callRing(ref.home, { op: "buffer", ring: ref.$troupeRing }).then(({ value }) =>
        new Ring((value as { buffer: SharedArrayBuffer }).buffer)
      );
    const ready = this.#ready = found.then(
      (ring) => this.#resolved = ring ? new LocalChannel(ring) : new RemoteChannel(ref, maxsize),
      // The root cannot give it (it no longer serves the ring): calls report that.
      () => this.#resolved = new RemoteChannel(ref, maxsize),
    );
    resolving.add(ready);
    ready.finally(() => resolving.delete(ready));
    prepareRevived(ready);
  }

  size = () => this.#resolved?.size() ?? 0;
  closed = () => this.#resolved?.closed() ?? false;
  unfinished = () => this.#resolved?.unfinished() ?? 0;
  senders = () => this.#resolved?.senders() ?? 1;
  receivers = () => this.#resolved?.receivers() ?? 1;
  // Not `??`: a put that worked answers undefined.
  tryPut = (item: Prepared, task: boolean) => this.#resolved ? this.#resolved.tryPut(item, task) : "later";
  tryGet = () => this.#resolved ? this.#resolved.tryGet() : "later";

  async put(item: Prepared, deadline: Deadline, task: boolean) {
    return (await this.#ready).put(item, deadline, task);
  }

  async get(deadline: Deadline) {
    return (await this.#ready).get(deadline);
  }

  async poll(deadline: Deadline) {
    return (await this.#ready).poll(deadline);
  }

  async join(deadline: Deadline) {
    return (await this.#ready).join(deadline);
  }

  send(item: Prepared): void {
    this.#later((channel) => channel.send(item));
  }

  close(): void {
    this.#later((channel) => channel.close());
  }

  taskDone(): boolean {
    this.#later((channel) => channel.taskDone());
    return true;
  }

  claimCopy(role: CopyRole): number {
    if (this.#resolved) return this.#resolved.claimCopy(role);
    this.#ready.then((channel) => channel.claimCopy(role));
    return -1;
  }

  releaseCopy(role: CopyRole, slot: number): void {
    this.#later((channel) => channel.releaseCopy(role, slot));
  }

  ref(): RingRef {
    // Once in memory, it crosses with its memory: a worker it is sent to needs no round trip.
    return this.#resolved?.ref() ?? this.#ref;
  }

  /** Does `work` now if the ring is here, else once it is, after what was asked before. */
  #later(work: (channel: Channel) => void): void {
    if (this.#resolved) work(this.#resolved);
    else this.#ready.then(work);
  }
}

/** Rings being resolved now, with work waiting on them. */
const resolving = new Set<Promise<unknown>>();

/**
 * Whether rings are being resolved now: an item just taken may name one
 * (a worker's queue the root has not been told of yet), and is then handed
 * out once `channelsSettled()`, so its sizes are exact from the start.
 */
export function ringsResolving(): boolean {
  return resolving.size > 0;
}

/**
 * Resolves once every ring being resolved is, and the work waiting on it
 * (sends, closes) is done: a process must not end with a send still held.
 */
export async function channelsSettled(): Promise<void> {
  while (resolving.size > 0) await Promise.allSettled([...resolving]);
  // The waiting work runs in reactions registered before these resolved.
  await Promise.resolve();
}

/**
 * Channels this isolate opened on rings it reaches by id, kept while in use:
 * a ring named in every message (an ask's reply queue) is resolved once.
 */
const opened = new Map<string, WeakRef<Channel>>();
const forget = new FinalizationRegistry<string>((id) => {
  if (!opened.get(id)?.deref()) opened.delete(id);
});

/** A channel on the ring `ref` names: in memory if this isolate can reach it, else through its home. */
export function openChannel(ref: RingRef, maxsize: number): Channel {
  const ring = localRing(ref);
  if (ring) return new LocalChannel(ring);
  const id = ref.$troupeRing;
  const known = opened.get(id)?.deref();
  if (known) return known;
  const pending = pendingRing(ref);
  const channel = pending || servedNearby(ref)
    ? new ResolvingChannel(ref, maxsize, pending)
    : new RemoteChannel(ref, maxsize);
  opened.set(id, new WeakRef(channel));
  forget.register(channel, id);
  return channel;
}
