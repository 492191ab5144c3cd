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
 * Two locks, as in Michael and Scott's two-lock queue: producers take the
 * put lock and own the tail, consumers take the take lock and own the head,
 * so one producer and one consumer never wait for each other. An item is
 * published by bumping `PUT_SEQ` after its bytes are written, and freed by
 * bumping `TAKE_SEQ`; the size is the difference. Only growing the buffer
 * takes both locks. Waiting is on those counters (and `DONE`) with
 * `Atomics.waitAsync`; notifies are skipped when nobody waits.
 *
 * @module
 */

import { type Deadline, served, sleepOn, SPIN_MS, wake } from "../core/_futex.ts";
import { hold } from "../core/_keep_alive.ts";
import { maxEncodedBytes, type Prepared, takeItem, type Taken, writeItem } from "./_item_codec.ts";

// The header: int32 slots in 64-byte lines, so that a producer and a
// consumer on different cores each write mostly to a line of their own.
// Line 0: set once, or rarely written.
const CAPACITY = 0;
const MAXSIZE = 1;
/** Four random words naming the ring, for processes that reach it through its home. */
const ID = 2;
const CLOSED = 6;
/** Pipe ends: open copies of the sending and the receiving end. */
const SENDERS = 7;
const RECEIVERS = 8;
/** Pipes: how many copy slots follow the header, and how many have been handed out. */
const COPY_SLOTS = 9;
const COPIES_CLAIMED = 10;
// Line 1: the producers' side.
const PUT_LOCK = 16;
/** Items ever put (wrapping): what getters wait on. Size is PUT_SEQ - TAKE_SEQ. */
const PUT_SEQ = 17;
const TAIL = 18;
/** Bumped at every wrap: a producer's copy of the head is good only for the lap it was read in. */
const LAP = 19;
// Line 2: the consumers' side.
const TAKE_LOCK = 32;
/** Items ever taken (wrapping): what blocked putters wait on. */
const TAKE_SEQ = 33;
const HEAD = 34;
// Line 3: written now and then by either side.
/** Where the data before the wrap ends, or -1 when the data is contiguous. */
const WRAP = 48;
const ITEM_WAITERS = 49;
const SPACE_WAITERS = 50;
/**
 * Set by a waiter just before it sleeps, cleared by the notify that wakes
 * it: a producer notifies once per sleep, not at every put until the
 * sleeper has run (a notify that wakes an isolate costs ~5 µs).
 */
const ITEM_ARMED = 51;
const SPACE_ARMED = 52;
// Line 4: JoinableQueue's items put and not yet marked done, and a counter bumped when that reaches 0.
const UNFINISHED = 64;
const DONE = 65;
const DONE_WAITERS = 66;
const DONE_ARMED = 67;
const SLOTS = 80;
const HEADER_BYTES = SLOTS * 4;
/** Offsets are int32s; a gigabyte of queued data is past any sensible use. */
const MAX_BYTES = 1 << 30;
/** How long one process may hold a lock before the others give up on it. */
const LOCK_PATIENCE_MS = 5_000;
const align4 = (n: number) => (n + 3) & ~3;
const armedFlag = (waiters: number) =>
  waiters === ITEM_WAITERS ? ITEM_ARMED : waiters === SPACE_WAITERS ? SPACE_ARMED : DONE_ARMED;

/** Raised when a lock holder vanished mid-operation (killed inside a put or get). */
export class RingLockError extends Error {
  constructor() {
    super(
      "A queue's lock was held too long: a process was probably " +
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
  /** A pipe's copy slots: 0 while the copy is open, 1 once counted out. */
  readonly #copies: Int32Array;
  /** Where the entries start: after the header and the copy slots. */
  readonly #start: number;
  #id: string | undefined;
  /**
   * The last PUT_SEQ and HEAD this isolate read. Both only move forward, so
   * a stale copy only under-reports items (to a consumer) or room (to a
   * producer), and each is re-read only when it falls short. That spares
   * reading a line the other core just wrote, on most operations.
   */
  #seenPut = 0;
  #seenHead = 0;
  /** PUT_SEQ just after this isolate's last put: where that item stands in line. */
  #lastPut = 0;
  #seenLap = -1;
  /** How long this isolate waits for a lock before it gives up with a RingLockError. */
  readonly #lockPatienceMs: number;

  /**
   * A new, empty ring; `maxsize` 0 is unbounded. A pipe's ring has
   * `copySlots`: one word per copy of a pipe end handed to a process, so that
   * a copy is counted out exactly once, whoever closes it (see `releaseCopy`).
   */
  static create(maxsize: number, initialBytes = 4096, copySlots = 0): Ring {
    const start = HEADER_BYTES + copySlots * 4;
    const buffer = new SharedArrayBuffer(start + initialBytes, { maxByteLength: start + MAX_BYTES });
    const header = new Int32Array(buffer, 0, SLOTS);
    header[COPY_SLOTS] = copySlots;
    header[WRAP] = -1;
    header[CAPACITY] = initialBytes;
    header[MAXSIZE] = maxsize;
    // From the OS's generator, not Math.random: a process that knows a ring's id may call it through
    // the root, so ids must not be predictable from ones a child was given (~0.15 µs).
    crypto.getRandomValues(header.subarray(ID, ID + 4));
    return new Ring(buffer);
  }

  /**
   * This isolate's view of the ring in `buffer`. A pool passes a short
   * `lockPatienceMs` for the rings it shares with one worker each: the only
   * other lock holder is that worker, and if it died holding a lock the pool
   * must learn it at once and drop the ring, not stall for seconds.
   */
  constructor(buffer: SharedArrayBuffer, lockPatienceMs = LOCK_PATIENCE_MS) {
    this.buffer = buffer;
    this.#lockPatienceMs = lockPatienceMs;
    this.#header = new Int32Array(buffer, 0, SLOTS);
    this.#copies = new Int32Array(buffer, HEADER_BYTES, this.#header[COPY_SLOTS]!);
    this.#start = HEADER_BYTES + this.#copies.byteLength;
    // Length-tracking views: they follow the buffer as any isolate grows it.
    this.#bytes = new Uint8Array(buffer, this.#start);
    this.#words = new Int32Array(buffer, this.#start);
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
    return (Atomics.load(this.#header, PUT_SEQ) - Atomics.load(this.#header, TAKE_SEQ)) | 0;
  }

  get closed(): boolean {
    return Atomics.load(this.#header, CLOSED) !== 0;
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

  /** Where this isolate's last put stands: pass it to `taken` to learn whether a consumer took it. */
  get lastPut(): number {
    return this.#lastPut;
  }

  /** Whether the item that `lastPut` returned for has been taken (items are taken in order). */
  taken(position: number): boolean {
    return ((Atomics.load(this.#header, TAKE_SEQ) - position) | 0) >= 0;
  }

  /** A slot for one more copy of a pipe end, or -1 when all are taken (that copy goes untracked). */
  claimCopy(): number {
    const slot = Atomics.add(this.#header, COPIES_CLAIMED, 1);
    return slot < this.#copies.length ? slot : -1;
  }

  /** Marks a copy closed; true the first time only, so a copy is counted out once. */
  releaseCopy(slot: number): boolean {
    return slot < 0 || slot >= this.#copies.length || Atomics.exchange(this.#copies, slot, 1) === 0;
  }

  /** Puts an item unless the ring is full or closed; `countTask` is JoinableQueue's. */
  tryPut(prepared: Prepared, countTask = false): typeof FULL | typeof CLOSED_RING | undefined {
    const h = this.#header;
    const need = align4(4 + maxEncodedBytes(prepared));
    this.#lock(PUT_LOCK);
    try {
      if (Atomics.load(h, CLOSED)) return CLOSED_RING;
      if (h[MAXSIZE]! > 0 && this.size >= h[MAXSIZE]!) return FULL;
      const at = this.#reserve(need);
      const length = writeItem(prepared, this.#bytes, at + 4);
      this.#words[at >> 2] = length;
      h[TAIL] = at + align4(4 + length);
      if (countTask) Atomics.add(h, UNFINISHED, 1);
      // Publishes the bytes written above to every consumer.
      this.#lastPut = Atomics.add(h, PUT_SEQ, 1) + 1;
    } finally {
      this.#unlock(PUT_LOCK);
    }
    // All, not one: a wait abandoned by an abort may still hold a place in line.
    this.#wake(PUT_SEQ, ITEM_WAITERS);
    return undefined;
  }

  /** Takes the oldest item, as JSON text or codec bytes; EMPTY, or CLOSED_RING once closed and drained. */
  tryTake(): Taken | typeof EMPTY | typeof CLOSED_RING {
    const h = this.#header;
    let item: Taken;
    this.#lock(TAKE_LOCK);
    try {
      const taken = Atomics.load(h, TAKE_SEQ);
      // Counters wrap, and close() moves both: compare differences, not values.
      if (
        ((this.#seenPut - taken) | 0) <= 0 && (((this.#seenPut = Atomics.load(h, PUT_SEQ)) - taken) | 0) <= 0
      ) {
        return Atomics.load(h, CLOSED) ? CLOSED_RING : EMPTY;
      }
      let at = h[HEAD]!;
      if (at === Atomics.load(h, WRAP)) {
        // The producer wrapped here. HEAD is stored first: a producer that
        // sees WRAP cleared must also see the head it can write up to.
        Atomics.store(h, HEAD, at = 0);
        Atomics.store(h, WRAP, -1);
      }
      const length = this.#words[at >> 2]!;
      item = takeItem(this.#bytes, at + 4, length);
      Atomics.store(h, HEAD, at + align4(4 + length));
      Atomics.add(h, TAKE_SEQ, 1);
    } finally {
      this.#unlock(TAKE_LOCK);
    }
    this.#wake(TAKE_SEQ, SPACE_WAITERS);
    return item;
  }

  /** Puts, waiting for room while the ring is full. Rejects "full" at the deadline. */
  async put(
    prepared: Prepared,
    deadline: Deadline,
    countTask = false,
  ): Promise<typeof FULL | typeof CLOSED_RING | undefined> {
    for (;;) {
      const seen = Atomics.load(this.#header, TAKE_SEQ);
      const result = this.tryPut(prepared, countTask);
      if (result !== FULL) return result;
      if (!await this.#wait(TAKE_SEQ, SPACE_WAITERS, seen, deadline)) return FULL;
    }
  }

  /** Takes, waiting while the ring is empty. EMPTY at the deadline. */
  async take(deadline: Deadline): Promise<Taken | typeof EMPTY | typeof CLOSED_RING> {
    for (;;) {
      const seen = Atomics.load(this.#header, PUT_SEQ);
      const taken = this.tryTake();
      if (taken !== EMPTY) return taken;
      if (!await this.#wait(PUT_SEQ, ITEM_WAITERS, seen, deadline)) return EMPTY;
    }
  }

  /** Waits until an item is there or the ring is closed; false at the deadline. Takes nothing. */
  async poll(deadline: Deadline): Promise<boolean> {
    const ready = () => this.size > 0 || this.closed;
    for (;;) {
      const seen = Atomics.load(this.#header, PUT_SEQ);
      if (ready()) return true;
      if (!await this.#wait(PUT_SEQ, ITEM_WAITERS, seen, deadline)) return ready();
    }
  }

  /** Items ever put (wrapping): read it, look for items, then `whenPut` sleeps until it moves. */
  get putCount(): number {
    return Atomics.load(this.#header, PUT_SEQ);
  }

  /**
   * Resolves once an item is put after `putCount` read `seen`, or after at
   * most `ms`; without spinning, for a reader that waits on several rings.
   */
  async whenPut(seen: number, ms: number): Promise<void> {
    const h = this.#header;
    Atomics.add(h, ITEM_WAITERS, 1);
    try {
      Atomics.store(h, ITEM_ARMED, 1);
      const waiting = sleepOn(h, PUT_SEQ, seen, ms);
      if (waiting.async) await waiting.value;
    } finally {
      Atomics.sub(h, ITEM_WAITERS, 1);
    }
  }

  /** Closes the ring for puts; wakes every waiter. Returns false if it was closed already. */
  close(): boolean {
    // Both locks: no put or take is half done while the ring closes. Both
    // counters move by one, which leaves the size alone but wakes every
    // waiter, including one about to sleep on the value it last read.
    const h = this.#header;
    this.#lock(PUT_LOCK);
    this.#lock(TAKE_LOCK);
    const was = Atomics.exchange(h, CLOSED, 1);
    if (was === 0) {
      Atomics.add(h, PUT_SEQ, 1);
      Atomics.add(h, TAKE_SEQ, 1);
    }
    this.#unlock(TAKE_LOCK);
    this.#unlock(PUT_LOCK);
    if (was !== 0) return false;
    wake(h, PUT_SEQ);
    wake(h, TAKE_SEQ);
    this.#bump(DONE, DONE_WAITERS);
    return true;
  }

  /** JoinableQueue's task_done; false when called more often than items were put. */
  taskDone(): boolean {
    const h = this.#header;
    for (;;) {
      const unfinished = Atomics.load(h, UNFINISHED);
      if (unfinished <= 0) return false;
      if (Atomics.compareExchange(h, UNFINISHED, unfinished, unfinished - 1) !== unfinished) continue;
      if (unfinished === 1) this.#bump(DONE, DONE_WAITERS);
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
   * Called with the put lock held; consumers may move the head meanwhile,
   * which only frees more room than this sees.
   */
  #reserve(need: number): number {
    const h = this.#header;
    for (let fresh = false;; fresh = true) {
      const wrap = Atomics.load(h, WRAP);
      const tail = h[TAIL]!;
      if (wrap < 0) {
        if (tail + need <= h[CAPACITY]!) return tail;
        const head = Atomics.load(h, HEAD);
        // The first `need` bytes must stay clear of the head, which may still be there.
        if (need < head) {
          h[TAIL] = 0;
          h[LAP]!++;
          Atomics.store(h, WRAP, tail);
          return 0;
        }
      } else {
        // Within a lap the head only moves forward, so a copy read in this
        // lap (by this isolate) under-reports the room, never over-reports.
        if (this.#seenLap !== h[LAP] || fresh) {
          this.#seenLap = h[LAP]!;
          this.#seenHead = Atomics.load(h, HEAD);
        }
        if (tail + need < this.#seenHead) return tail;
        if (!fresh) continue;
      }
      this.#lock(TAKE_LOCK);
      try {
        this.#grow(need);
      } finally {
        this.#unlock(TAKE_LOCK);
      }
    }
  }

  /**
   * Makes room for `need` more bytes after the data, which ends up
   * contiguous. Called with both locks held.
   */
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
    if (capacity !== h[CAPACITY]) this.buffer.grow(this.#start + capacity);
    if (wrap >= 0) {
      // The head is at or before `wrap`, where the moved data now follows on.
      this.#bytes.copyWithin(wrap, 0, tail);
      h[TAIL] = end;
      h[WRAP] = -1;
    }
    h[CAPACITY] = capacity;
  }

  /** Bumps a counter and wakes everyone waiting on it. */
  #bump(seq: number, waiters: number): void {
    Atomics.add(this.#header, seq, 1);
    this.#wake(seq, waiters);
  }

  /**
   * Wakes everyone sleeping on `seq` (all, not one: a wait abandoned by an
   * abort may still hold a place in line), if anyone went to sleep since the
   * last wake-up.
   */
  #wake(seq: number, waiters: number): void {
    const h = this.#header;
    if (Atomics.load(h, waiters) > 0 && Atomics.exchange(h, armedFlag(waiters), 0) !== 0) {
      wake(h, seq);
    }
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
    const spinMs = served.waits === 0 ? SPIN_MS : 0;
    const spinUntil = performance.now() + spinMs;
    while (performance.now() < spinUntil) {
      for (let i = 0; i < 64; i++) if (Atomics.load(h, seq) !== seen) return true;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let release: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    Atomics.add(h, waiters, 1);
    try {
      // Chunks of at most a second: a waitAsync cannot be cancelled, so an
      // aborted wait must not leave one pending for long.
      const ms = Math.min(until - performance.now(), 1_000);
      if (ms <= 0) return false;
      Atomics.store(h, armedFlag(waiters), 1);
      const waiting = sleepOn(h, seq, seen, ms);
      if (waiting.async) {
        // A pending waitAsync does not keep the program running, nor does
        // its timeout wake a loop with nothing else to do: a timer ends a
        // timed wait. An endless wait must not keep the program running
        // (nothing else could end it), so it has none.
        const woken: Promise<unknown>[] = [waiting.value];
        if (until !== Infinity) {
          woken.push(new Promise((resolve) => timer = setTimeout(resolve, ms)));
          // A wait made for another process (a served call) must not keep this one running: its caller does.
          if (deadline.background) Deno.unrefTimer(timer!);
        } else if (!deadline.background) {
          // It holds the children that could end it, though (a daemon producer).
          release = hold();
        }
        if (signal) {
          woken.push(new Promise((_, reject) => onAbort = () => reject(signal.reason)));
          signal.addEventListener("abort", onAbort!, { once: true });
        }
        await Promise.race(woken);
      }
    } finally {
      clearTimeout(timer);
      release?.();
      if (onAbort) signal!.removeEventListener("abort", onAbort);
      Atomics.sub(h, waiters, 1);
    }
    signal?.throwIfAborted();
    return Atomics.load(h, seq) !== seen || performance.now() < until;
  }

  #lock(lock: number): void {
    const h = this.#header;
    if (Atomics.compareExchange(h, lock, 0, 1) === 0) return;
    const giveUp = performance.now() + this.#lockPatienceMs;
    for (;;) {
      for (let i = 0; i < 200; i++) {
        if (Atomics.load(h, lock) === 0 && Atomics.compareExchange(h, lock, 0, 1) === 0) return;
      }
      // 2 marks the lock contended, so the holder's unlock wakes a sleeper.
      if (Atomics.exchange(h, lock, 2) === 0) return;
      Atomics.wait(h, lock, 2, 1);
      if (performance.now() > giveUp) throw new RingLockError();
    }
  }

  #unlock(lock: number): void {
    if (Atomics.exchange(this.#header, lock, 0) === 2) Atomics.notify(this.#header, lock, 1);
  }
}
