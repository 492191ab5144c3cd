/**
 * A many-producer, many-consumer FIFO of encoded items in one growable
 * SharedArrayBuffer: the storage behind every queue, mailbox and pipe. Every
 * isolate of this OS process that holds the buffer puts and takes directly,
 * with no hop through another isolate; other OS processes reach it through
 * the isolate that serves it (`_remote.ts`).
 *
 * Layout: a header of int32 counters, then a byte ring of entries, each an
 * int32 length and the encoded item, 4-byte aligned. An entry never wraps:
 * when it does not fit before the end, the writer records where the data
 * stops (`WRAP`) and starts again at 0. When the free space is too small the
 * buffer grows, and wrapped data is moved so the ring is contiguous again.
 *
 * One lock guards the header and the bytes; it is held only to copy an item
 * in or out. Waiting is on sequence counters (`ITEMS`, `SPACE`, `DONE`) with
 * `Atomics.waitAsync`, and notifies are skipped when nobody waits.
 *
 * @module
 */

import { maxEncodedBytes, type Prepared, takeItem, type Taken, writeItem } from "./_item_codec.ts";

const LOCK = 0;
const CLOSED = 1;
const COUNT = 2;
const HEAD = 3;
const TAIL = 4;
/** Where the data before the wrap ends, or -1 when the data is contiguous. */
const WRAP = 5;
const CAPACITY = 6;
const MAXSIZE = 7;
/** Bumped on every put and on close: what getters wait on. */
const ITEMS = 8;
/** Bumped on every take and on close: what blocked putters wait on. */
const SPACE = 9;
const ITEM_WAITERS = 10;
const SPACE_WAITERS = 11;
/** JoinableQueue: items put and not yet marked done, and a counter bumped when that reaches 0. */
const UNFINISHED = 12;
const DONE = 13;
const DONE_WAITERS = 14;
/** Pipe ends: open copies of the sending and the receiving end. */
const SENDERS = 15;
const RECEIVERS = 16;
/** Four random words naming the ring, for processes that reach it through its home. */
const ID = 24;
const SLOTS = 32;
const HEADER_BYTES = SLOTS * 4;
/** Offsets are int32s; a gigabyte of queued data is past any sensible use. */
const MAX_BYTES = 1 << 30;
/** How long one process may hold the lock before the others give up on it. */
const LOCK_PATIENCE_MS = 5_000;
/** Reads of a counter before sleeping on it: a few microseconds that save a ~25 µs wake-up. */
const SPIN = 2_000;

const align4 = (n: number) => (n + 3) & ~3;

/** What a caller may wait for: a deadline (`Infinity` for none) and a signal. */
export interface Deadline {
  readonly until: number;
  readonly signal?: AbortSignal | undefined;
}

/** Converts Python's `block`/`timeout` pair (timeout in ms) to a deadline; negative means 0. */
export function deadlineOf(block = true, timeoutMs?: number, signal?: AbortSignal): Deadline {
  const until = !block ? 0 : timeoutMs === undefined ? Infinity : performance.now() + Math.max(0, timeoutMs);
  return { until, signal };
}

/** Raised when a lock holder vanished mid-operation (killed inside a put or get). */
export class RingLockError extends Error {
  constructor() {
    super(
      `A queue's lock was held for over ${LOCK_PATIENCE_MS / 1000} s: a process was probably ` +
        "terminated in the middle of a put or get, which can corrupt a queue (as in Python). " +
        "Stop processes that use a queue by closing it or sending them a sentinel instead",
    );
    this.name = "RingLockError";
  }
}

/** Results of the non-blocking operations. */
export const FULL = Symbol("full");
export const EMPTY = Symbol("empty");
export const CLOSED_RING = Symbol("closed");

/** The queue in shared memory, as one isolate sees it. */
export class Ring {
  readonly buffer: SharedArrayBuffer;
  readonly #header: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #words: Int32Array;
  #id: string | undefined;

  /** A new, empty ring; `maxsize` 0 is unbounded. */
  static create(maxsize: number, initialBytes = 4096): Ring {
    const buffer = new SharedArrayBuffer(HEADER_BYTES + initialBytes, {
      maxByteLength: HEADER_BYTES + MAX_BYTES,
    });
    const header = new Int32Array(buffer, 0, SLOTS);
    header[WRAP] = -1;
    header[CAPACITY] = initialBytes;
    header[MAXSIZE] = maxsize;
    header.set(crypto.getRandomValues(new Int32Array(4)), ID);
    return new Ring(buffer);
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#header = new Int32Array(buffer, 0, SLOTS);
    // Length-tracking views: they follow the buffer as any isolate grows it.
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.#words = new Int32Array(buffer, HEADER_BYTES);
  }

  /** A name for the ring that is the same in every isolate that holds it. */
  get id(): string {
    return this.#id ??= [...this.#header.subarray(ID, ID + 4)].map((word) => (word >>> 0).toString(36)).join(
      "-",
    );
  }

  get maxsize(): number {
    return this.#header[MAXSIZE]!;
  }

  get size(): number {
    return Atomics.load(this.#header, COUNT);
  }

  get closed(): boolean {
    return Atomics.load(this.#header, CLOSED) !== 0;
  }

  get full(): boolean {
    const maxsize = this.maxsize;
    return maxsize > 0 && this.size >= maxsize;
  }

  get unfinished(): number {
    return Atomics.load(this.#header, UNFINISHED);
  }

  /** Open copies of a pipe's sending and receiving ends. */
  get senders(): number {
    return Atomics.load(this.#header, SENDERS);
  }

  get receivers(): number {
    return Atomics.load(this.#header, RECEIVERS);
  }

  /**
   * Counts copies of a pipe's sending end in (+1) or out (-1). When the last
   * one closes, the ring closes: the reader drains it, then sees EOF.
   */
  addSenders(delta: number): number {
    const now = Atomics.add(this.#header, SENDERS, delta) + delta;
    if (now <= 0) this.close();
    return now;
  }

  addReceivers(delta: number): number {
    return Atomics.add(this.#header, RECEIVERS, delta) + delta;
  }

  /** Puts an item unless the ring is full or closed; `countTask` is JoinableQueue's. */
  tryPut(prepared: Prepared, countTask = false): typeof FULL | typeof CLOSED_RING | undefined {
    const h = this.#header;
    const need = align4(4 + maxEncodedBytes(prepared));
    this.#lock();
    try {
      if (h[CLOSED]) return CLOSED_RING;
      if (h[MAXSIZE]! > 0 && h[COUNT]! >= h[MAXSIZE]!) return FULL;
      const at = this.#reserve(need);
      const length = writeItem(prepared, this.#bytes.subarray(at + 4, at + need));
      this.#words[at >> 2] = length;
      h[TAIL] = at + align4(4 + length);
      h[COUNT]!++;
      if (countTask) h[UNFINISHED]!++;
      h[ITEMS]!++;
    } finally {
      this.#unlock();
    }
    if (Atomics.load(h, ITEM_WAITERS) > 0) Atomics.notify(h, ITEMS, 1);
    return undefined;
  }

  /** Takes the oldest item, as JSON text or codec bytes; EMPTY, or CLOSED_RING once closed and drained. */
  tryTake(): Taken | typeof EMPTY | typeof CLOSED_RING {
    const h = this.#header;
    let taken: Taken;
    this.#lock();
    try {
      if (h[COUNT] === 0) return h[CLOSED] ? CLOSED_RING : EMPTY;
      if (h[WRAP]! >= 0 && h[HEAD] === h[WRAP]) {
        h[HEAD] = 0;
        h[WRAP] = -1;
      }
      const at = h[HEAD]!;
      const length = this.#words[at >> 2]!;
      taken = takeItem(this.#bytes.subarray(at + 4, at + 4 + length));
      if (--h[COUNT]! === 0) {
        h[HEAD] = h[TAIL] = 0;
        h[WRAP] = -1;
      } else {
        h[HEAD] = at + align4(4 + length);
      }
      h[SPACE]!++;
    } finally {
      this.#unlock();
    }
    if (Atomics.load(h, SPACE_WAITERS) > 0) Atomics.notify(h, SPACE, 1);
    return taken;
  }

  /** Puts, waiting for room while the ring is full. Rejects "full" at the deadline. */
  async put(
    prepared: Prepared,
    deadline: Deadline,
    countTask = false,
  ): Promise<typeof FULL | typeof CLOSED_RING | undefined> {
    for (;;) {
      const seen = Atomics.load(this.#header, SPACE);
      const result = this.tryPut(prepared, countTask);
      if (result !== FULL) return result;
      if (!await this.#wait(SPACE, SPACE_WAITERS, seen, deadline)) return FULL;
    }
  }

  /** Takes, waiting while the ring is empty. EMPTY at the deadline. */
  async take(deadline: Deadline): Promise<Taken | typeof EMPTY | typeof CLOSED_RING> {
    for (;;) {
      const seen = Atomics.load(this.#header, ITEMS);
      const taken = this.tryTake();
      if (taken !== EMPTY) return taken;
      if (!await this.#wait(ITEMS, ITEM_WAITERS, seen, deadline)) return EMPTY;
    }
  }

  /** Waits until an item is there or the ring is closed; false at the deadline. Takes nothing. */
  async poll(deadline: Deadline): Promise<boolean> {
    const ready = () => this.size > 0 || this.closed;
    for (;;) {
      const seen = Atomics.load(this.#header, ITEMS);
      if (ready()) return true;
      if (!await this.#wait(ITEMS, ITEM_WAITERS, seen, deadline)) return ready();
    }
  }

  /** Closes the ring for puts; wakes every waiter. Returns false if it was closed already. */
  close(): boolean {
    if (Atomics.exchange(this.#header, CLOSED, 1) !== 0) return false;
    this.#bump(ITEMS, ITEM_WAITERS, true);
    this.#bump(SPACE, SPACE_WAITERS, true);
    this.#bump(DONE, DONE_WAITERS, true);
    return true;
  }

  /** JoinableQueue's task_done; false when called more often than items were put. */
  taskDone(): boolean {
    const h = this.#header;
    for (;;) {
      const unfinished = Atomics.load(h, UNFINISHED);
      if (unfinished <= 0) return false;
      if (Atomics.compareExchange(h, UNFINISHED, unfinished, unfinished - 1) !== unfinished) continue;
      if (unfinished === 1) this.#bump(DONE, DONE_WAITERS, true);
      return true;
    }
  }

  /** Waits until every item put has been marked done; false at the deadline. */
  async join(deadline: Deadline): Promise<boolean> {
    for (;;) {
      const seen = Atomics.load(this.#header, DONE);
      if (this.unfinished === 0) return true;
      if (!await this.#wait(DONE, DONE_WAITERS, seen, deadline)) return this.unfinished === 0;
    }
  }

  /**
   * Where an entry of `need` bytes goes, growing the buffer if it must.
   * Called with the lock held.
   */
  #reserve(need: number): number {
    const h = this.#header;
    for (;;) {
      const head = h[HEAD]!, tail = h[TAIL]!, capacity = h[CAPACITY]!;
      if (h[WRAP]! < 0) {
        if (tail + need <= capacity) return tail;
        if (need <= head) {
          h[WRAP] = tail;
          h[TAIL] = 0;
          return 0;
        }
      } else if (tail + need <= head) {
        return tail;
      }
      this.#grow(need);
    }
  }

  /** Makes room for `need` more bytes after the data, which ends up contiguous. */
  #grow(need: number): void {
    const h = this.#header;
    const wrap = h[WRAP]!, tail = h[TAIL]!;
    // Wrapped data [0, tail) moves to follow the data that ends at `wrap`.
    const end = wrap >= 0 ? wrap + tail : tail;
    let capacity = h[CAPACITY]!;
    while (capacity < end + need) capacity *= 2;
    if (capacity > MAX_BYTES) {
      throw new RangeError(
        `Cannot queue an item of ${need} bytes: a queue holds at most ${MAX_BYTES} bytes. ` +
          "Send large data through a SharedArrayBuffer or a file instead",
      );
    }
    this.buffer.grow(HEADER_BYTES + capacity);
    if (wrap >= 0) {
      this.#bytes.copyWithin(wrap, 0, tail);
      h[TAIL] = end;
      h[WRAP] = -1;
    }
    h[CAPACITY] = capacity;
  }

  /** Bumps a sequence counter and wakes those waiting on it (all, or one). */
  #bump(seq: number, waiters: number, all: boolean): void {
    Atomics.add(this.#header, seq, 1);
    if (Atomics.load(this.#header, waiters) > 0) Atomics.notify(this.#header, seq, all ? Infinity : 1);
  }

  /**
   * Waits for `seq` to move from `seen`; false when the deadline passed first.
   * Spins a little before sleeping, as a wake-up costs ~25 µs. Rejects with
   * the signal's reason on abort.
   */
  async #wait(seq: number, waiters: number, seen: number, deadline: Deadline): Promise<boolean> {
    const h = this.#header;
    const { until, signal } = deadline;
    signal?.throwIfAborted();
    if (performance.now() >= until) return false;
    for (let i = 0; i < SPIN; i++) {
      if (Atomics.load(h, seq) !== seen) return true;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    Atomics.add(h, waiters, 1);
    try {
      // Chunks of at most a second: a waitAsync cannot be cancelled, so an
      // aborted wait must not leave one pending for long.
      const ms = Math.min(until - performance.now(), 1_000);
      if (ms <= 0) return false;
      const waiting = Atomics.waitAsync(h, seq, seen, ms);
      if (waiting.async) {
        // A pending waitAsync does not keep the program running, nor does
        // its timeout wake a loop with nothing else to do: a timer ends a
        // timed wait. An endless wait must not keep the program running
        // (nothing else could end it), so it has none.
        const woken: Promise<unknown>[] = [waiting.value];
        if (until !== Infinity) woken.push(new Promise((resolve) => timer = setTimeout(resolve, ms)));
        if (signal) {
          woken.push(new Promise((_, reject) => onAbort = () => reject(signal.reason)));
          signal.addEventListener("abort", onAbort!, { once: true });
        }
        await Promise.race(woken);
      }
    } finally {
      clearTimeout(timer);
      if (onAbort) signal!.removeEventListener("abort", onAbort);
      Atomics.sub(h, waiters, 1);
    }
    signal?.throwIfAborted();
    return Atomics.load(h, seq) !== seen || performance.now() < until;
  }

  #lock(): void {
    const h = this.#header;
    if (Atomics.compareExchange(h, LOCK, 0, 1) === 0) return;
    const giveUp = performance.now() + LOCK_PATIENCE_MS;
    for (;;) {
      for (let i = 0; i < 200; i++) {
        if (Atomics.load(h, LOCK) === 0 && Atomics.compareExchange(h, LOCK, 0, 1) === 0) return;
      }
      // 2 marks the lock contended, so the holder's unlock wakes a sleeper.
      if (Atomics.exchange(h, LOCK, 2) === 0) return;
      Atomics.wait(h, LOCK, 2, 1);
      if (performance.now() > giveUp) throw new RingLockError();
    }
  }

  #unlock(): void {
    if (Atomics.exchange(this.#header, LOCK, 0) === 2) Atomics.notify(this.#header, LOCK, 1);
  }
}
