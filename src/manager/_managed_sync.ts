/**
 * The locks, semaphores, event, condition and barrier a manager holds, for
 * proxies in any process. They live in the manager's one isolate, so plain
 * promises suffice; what shared memory gives the direct primitives, the
 * caller's id gives these: who holds a lock is the process that called,
 * each process naming itself with a random id (`proxy.ts`).
 *
 * A blocking method takes a `wait` token. Its timeout runs here, in the
 * manager, and a caller that stops waiting (its signal aborted) cancels the
 * token, so nothing is taken for a caller that has gone.
 *
 * @module
 */

import { startTimer, stopTimer, type Timer } from "../core/_duration.ts";
import { BrokenBarrierError } from "../sync/barrier.ts";
import { ProcessError } from "../core/errors.ts";

/** How a blocking call waits: Python's block and timeout (ms), and the token that cancels it. */
export interface Blocking {
  readonly block?: boolean;
  readonly timeout?: number | null;
  readonly wait?: string;
}

/** Waits by token, so a `cancel` can end them. */
const waits = new Map<string, AbortController>();
/** Cancels that came before their wait (they travel apart). */
const cancelledEarly = new Set<string>();

/** Ends the wait `token` names: the call rejects and takes nothing. */
export function cancelWait(token: string): void {
  const controller = waits.get(token);
  if (controller) controller.abort(new DOMException("The caller stopped waiting", "AbortError"));
  else cancelledEarly.add(token);
}

type Outcome<T> = { readonly granted: true; readonly value: T } | { readonly granted: false };

interface Waiter<T> {
  readonly caller: string;
  readonly settle: (outcome: Outcome<T>) => void;
}

/** Callers waiting for a grant, first come first served; each may time out or be cancelled. */
class Line<T = void> {
  readonly #waiting: Waiter<T>[] = [];

  get length(): number {
    return this.#waiting.length;
  }

  /**
   * Waits for a grant: resolves with its value, or undefined when `timeout`
   * (ms; null waits as long as it takes) passed first; rejects when the
   * wait is cancelled.
   */
  wait(caller: string, blocking: Blocking): Promise<Outcome<T>> {
    const { timeout = null, wait } = blocking;
    if (wait !== undefined && cancelledEarly.delete(wait)) {
      return Promise.reject(new DOMException("The caller stopped waiting", "AbortError"));
    }
    const { promise, resolve, reject } = Promise.withResolvers<Outcome<T>>();
    const controller = new AbortController();
    let timer: Timer | undefined;
    const waiter: Waiter<T> = {
      caller,
      settle: (outcome) => {
        const at = this.#waiting.indexOf(waiter);
        if (at < 0) return;
        this.#waiting.splice(at, 1);
        stopTimer(timer);
        if (wait !== undefined) waits.delete(wait);
        resolve(outcome);
      },
    };
    this.#waiting.push(waiter);
    if (wait !== undefined) waits.set(wait, controller);
    controller.signal.addEventListener("abort", () => {
      const at = this.#waiting.indexOf(waiter);
      if (at < 0) return;
      this.#waiting.splice(at, 1);
      stopTimer(timer);
      waits.delete(wait!);
      reject(controller.signal.reason);
    });
    if (timeout !== null) timer = startTimer(() => waiter.settle({ granted: false }), timeout);
    return promise;
  }

  /** Grants the first waiter `value`; the caller it went to, or undefined when nobody waits. */
  grant(value: T): string | undefined {
    const first = this.#waiting[0];
    first?.settle({ granted: true, value });
    return first?.caller;
  }

  /** Settles every waiter with `outcome`. */
  settleAll(outcome: Outcome<T>): void {
    for (const waiter of [...this.#waiting]) waiter.settle(outcome);
  }
}

/** How long to wait for `blocking`, Python's way: not at all without block, a negative timeout as 0. */
function patience(blocking: Blocking): Blocking | undefined {
  if (blocking.block === false) return undefined;
  const timeout = blocking.timeout ?? null;
  return { ...blocking, timeout: timeout === null ? null : Math.max(0, timeout) };
}

/** A manager's Lock (and, with `recursive`, RLock): held by one caller; handed straight to the next. */
export class ManagedLock {
  /** Ends the caller's wait `token` names (its signal aborted). */
  cancel(token: string): void {
    cancelWait(token);
  }

  readonly recursive: boolean;
  #owner: string | undefined;
  #depth = 0;
  readonly #line = new Line<void>();

  constructor(recursive = false) {
    this.recursive = recursive;
  }

  async acquire(caller: string, blocking: Blocking = {}): Promise<boolean> {
    if (this.#owner === undefined) {
      this.#owner = caller;
      this.#depth = 1;
      return true;
    }
    if (this.recursive && this.#owner === caller) {
      this.#depth++;
      return true;
    }
    const waiting = patience(blocking);
    if (!waiting) return false;
    return (await this.#line.wait(caller, waiting)).granted;
  }

  release(caller: string): void {
    if (this.#owner === undefined) {
      throw this.recursive
        ? new ProcessError("Cannot release the RLock as this process does not hold it: held by none")
        : new RangeError("Cannot release the Lock as it is not locked: release it once per acquire");
    }
    if (this.recursive && this.#owner !== caller) {
      throw new ProcessError(
        "Cannot release the RLock as this process does not hold it: held by another process",
      );
    }
    if (--this.#depth > 0) return;
    this.#owner = this.#line.grant();
    this.#depth = this.#owner === undefined ? 0 : 1;
  }

  locked(): boolean {
    return this.#owner !== undefined;
  }

  /** Whether `caller` holds it (a Condition's check). */
  isHeldBy(caller: string): boolean {
    return this.#owner === caller;
  }

  /** Lets go of every hold `caller` has, for a Condition's wait; the depth, to restore. */
  releaseAll(caller: string): number {
    const depth = this.#depth;
    this.#depth = 1;
    this.release(caller);
    return depth;
  }

  /** Takes the lock back for `caller` at `depth`, waiting as long as it takes. */
  async restore(caller: string, depth: number): Promise<void> {
    await this.acquire(caller, { timeout: null });
    // Another task of the same process may hold it meanwhile: add to its holds.
    this.#depth += depth - 1;
  }
}

/** A manager's Semaphore (and, with `bounded`, BoundedSemaphore). */
export class ManagedSemaphore {
  /** Ends the caller's wait `token` names (its signal aborted). */
  cancel(token: string): void {
    cancelWait(token);
  }

  #value: number;
  readonly #max: number | null;
  readonly #line = new Line<void>();

  constructor(value = 1, bounded = false) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot create a semaphore as its value must be an integer >= 0: current value is ${value}`,
      );
    }
    this.#value = value;
    this.#max = bounded ? value : null;
  }

  async acquire(caller: string, blocking: Blocking = {}): Promise<boolean> {
    if (this.#value > 0) {
      this.#value--;
      return true;
    }
    const waiting = patience(blocking);
    if (!waiting) return false;
    return (await this.#line.wait(caller, waiting)).granted;
  }

  release(): void {
    if (this.#line.grant() !== undefined) return;
    if (this.#max !== null && this.#value >= this.#max) {
      throw new RangeError(
        `Cannot release the BoundedSemaphore above its initial value: current value is ${this.#max}`,
      );
    }
    this.#value++;
  }

  getValue(): number {
    return this.#value;
  }
}

/** A manager's Event. */
export class ManagedEvent {
  /** Ends the caller's wait `token` names (its signal aborted). */
  cancel(token: string): void {
    cancelWait(token);
  }

  #flag = false;
  readonly #line = new Line<void>();

  set(): void {
    this.#flag = true;
    this.#line.settleAll({ granted: true, value: undefined });
  }

  clear(): void {
    this.#flag = false;
  }

  isSet(): boolean {
    return this.#flag;
  }

  async wait(caller: string, blocking: Blocking = {}): Promise<boolean> {
    if (this.#flag) return true;
    return (await this.#line.wait(caller, patience(blocking) ?? { timeout: 0 })).granted;
  }
}

/** A manager's Condition, over one of its locks. */
export class ManagedCondition {
  /** Ends the caller's wait `token` names (its signal aborted). */
  cancel(token: string): void {
    cancelWait(token);
  }

  readonly #lock: ManagedLock;
  readonly #line = new Line<void>();

  constructor(lock: ManagedLock) {
    this.#lock = lock;
  }

  acquire(caller: string, blocking: Blocking = {}): Promise<boolean> {
    return this.#lock.acquire(caller, blocking);
  }

  release(caller: string): void {
    this.#lock.release(caller);
  }

  async wait(caller: string, blocking: Blocking = {}): Promise<boolean> {
    this.#assertHeld(caller, "wait");
    const waiting = this.#line.wait(caller, patience(blocking) ?? { timeout: 0 });
    const depth = this.#lock.releaseAll(caller);
    try {
      return (await waiting).granted;
    } finally {
      await this.#lock.restore(caller, depth);
    }
  }

  notify(caller: string, n = 1): void {
    this.#assertHeld(caller, "notify");
    for (let i = 0; i < n && this.#line.grant() !== undefined; i++);
  }

  notifyAll(caller: string): void {
    this.notify(caller, Infinity);
  }

  #assertHeld(caller: string, method: string): void {
    if (!this.#lock.isHeldBy(caller)) {
      throw new ProcessError(
        `Cannot ${method} on the Condition as this process does not hold its lock: acquire it first`,
      );
    }
  }
}

/** A manager's Barrier: threading.Barrier's rules, in one isolate (no action). */
export class ManagedBarrier {
  /** Ends the caller's wait `token` names (its signal aborted). */
  cancel(token: string): void {
    cancelWait(token);
  }

  readonly parties: number;
  readonly #timeout: number | null;
  #broken = false;
  #arrived = 0;
  #line = new Line<"tripped">();

  constructor(parties: number, timeout: number | null = null) {
    if (!Number.isInteger(parties) || parties < 1) {
      throw new RangeError(
        `Cannot create a Barrier as parties must be a positive integer: current value is ${parties}`,
      );
    }
    this.parties = parties;
    this.#timeout = timeout;
  }

  async wait(caller: string, blocking: Blocking = {}): Promise<number> {
    if (this.#broken) throw broken();
    const index = this.#arrived++;
    if (this.#arrived === this.parties) {
      this.#arrived = 0;
      this.#line.settleAll({ granted: true, value: "tripped" });
      return index;
    }
    const line = this.#line;
    let outcome: Outcome<"tripped">;
    try {
      outcome = await line.wait(caller, { ...blocking, timeout: blocking.timeout ?? this.#timeout });
    } catch (error) {
      // A party that stopped waiting breaks the barrier for the others.
      this.#break();
      throw error;
    }
    if (outcome.granted) return index;
    if (line === this.#line && !this.#broken) this.#break();
    throw broken();
  }

  abort(): void {
    this.#break();
  }

  reset(): void {
    const line = this.#line;
    this.#line = new Line();
    this.#arrived = 0;
    this.#broken = false;
    line.settleAll({ granted: false });
  }

  nWaiting(): number {
    return this.#broken ? 0 : this.#arrived;
  }

  broken(): boolean {
    return this.#broken;
  }

  #break(): void {
    this.#broken = true;
    this.#arrived = 0;
    this.#line.settleAll({ granted: false });
  }
}

function broken(): BrokenBarrierError {
  return new BrokenBarrierError(
    "Cannot pass the barrier as it is broken (a party timed out or stopped waiting, or it was aborted " +
      "or reset): reset() it to use it again",
  );
}
