/**
 * Sleeping on a word of shared memory without blocking the event loop, the
 * one wait every lock, semaphore, event and condition is built on.
 *
 * @module
 */

import { DURATION_RULE, isDuration, showValue, startTimer, stopTimer, type Timer } from "./_duration.ts";
import { hold } from "./_keep_alive.ts";

/**
 * How long a waiter keeps reading a counter before it sleeps on it: a wake-up
 * costs ~25 µs, more than a whole round trip between two spinning isolates.
 */
export const SPIN_MS = 0.05;

/**
 * Waits this isolate runs for other OS processes (`_remote.ts` counts them).
 * While there are any, a waiter here does not spin: spinning would hold up
 * the event loop that has to deliver their results.
 */
export const served = { waits: 0 };

/** What a caller may wait for: a deadline (`Infinity` for none) and a signal. */
export interface Deadline {
  readonly until: number;
  readonly signal?: AbortSignal | undefined;
  /** A wait made for another process (served here), which must not keep the program running. */
  readonly background?: boolean | undefined;
}

/**
 * Waits while `cells[index]` still holds `seen`. Resolves true when it may
 * have changed (callers re-check: a wake-up is a hint, not a grant), false
 * when the deadline passed first; rejects with the signal's reason on abort.
 *
 * Spins a little first, as a wake-up costs ~25 µs, more than most hand-offs.
 * While it sleeps, `cells[waiters]` (if given) counts it, so a releaser can
 * skip the notify when nobody sleeps.
 */
export async function waitChange(
  cells: Int32Array,
  index: number,
  seen: number,
  deadline: Deadline,
  waiters?: number,
): Promise<boolean> {
  const { until, signal } = deadline;
  signal?.throwIfAborted();
  if (performance.now() >= until) return false;
  const spinUntil = performance.now() + (served.waits === 0 ? SPIN_MS : 0);
  while (performance.now() < spinUntil) {
    for (let i = 0; i < 64; i++) if (Atomics.load(cells, index) !== seen) return true;
  }
  let timer: Timer | undefined;
  let release: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  let woken = false;
  let settled = true;
  if (waiters !== undefined) Atomics.add(cells, waiters, 1);
  try {
    const ms = until - performance.now();
    if (ms <= 0) return false;
    const waiting = sleepOn(cells, index, seen, ms);
    if (!waiting.async) return true;
    settled = false;
    // A pending waitAsync neither keeps the program running nor, on an idle
    // loop, times out: a timer just past its timeout keeps the loop going.
    // An endless wait gets none, so a wait that nothing can end lets the
    // program end rather than hang.
    const ended: Promise<unknown>[] = [waiting.value.then((result) => {
      settled = true;
      woken = result === "ok";
    })];
    if (until !== Infinity) {
      // A wait made for another process (a served call) does not keep this one running: its caller does.
      ended.push(
        new Promise((resolve) => timer = startTimer(() => resolve(undefined), ms + 2, !deadline.background)),
      );
    } else if (!deadline.background) {
      // An endless wait holds the children that could end it (a daemon producer).
      release = hold();
    }
    if (signal) {
      ended.push(new Promise((resolve) => onAbort = () => resolve(undefined)));
      signal.addEventListener("abort", onAbort!, { once: true });
    }
    await Promise.race(ended);
  } finally {
    stopTimer(timer);
    release?.();
    if (onAbort) signal!.removeEventListener("abort", onAbort);
    if (waiters !== undefined) Atomics.sub(cells, waiters, 1);
  }
  // A waitAsync given up on (an abort) stays queued and could swallow a
  // notify meant for a live waiter: wake everyone, and they re-check.
  if (!settled) Atomics.notify(cells, index);
  if (signal?.aborted) throw signal.reason;
  return woken || Atomics.load(cells, index) !== seen || performance.now() < until;
}

/**
 * `Atomics.waitAsync`, counted: while it is pending, {@linkcode wake} knows
 * that a waiter of this isolate sleeps, and keeps the main loop turning until
 * it resumes.
 */
export function sleepOn(
  cells: Int32Array,
  index: number,
  seen: number,
  ms: number,
): ReturnType<typeof Atomics.waitAsync> {
  const waiting = Atomics.waitAsync(cells, index, seen, ms);
  if (!waiting.async) return waiting;
  asleep++;
  return { async: true, value: waiting.value.finally(() => asleep--) };
}

/** Takes one from `cells[index]` if it is above 0, atomically; whether it did. */
export function takeOne(cells: Int32Array, index: number): boolean {
  let value = Atomics.load(cells, index);
  while (value > 0) {
    const seen = Atomics.compareExchange(cells, index, value, value - 1);
    if (seen === value) return true;
    value = seen;
  }
  return false;
}

/** Whether this is the main isolate, the only one whose event loop can run out of work and end. */
const IS_MAIN_ISOLATE =
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "undefined";
/** Waiters of this isolate asleep in `Atomics.waitAsync`. */
let asleep = 0;
/** Turns of the loop still to keep after a wake-up (see `wake`). */
let turnsLeft = 0;
/** Enough turns for a woken waiter to resume even on a loaded machine, few enough to cost nothing. */
const WAKE_TURNS = 20;

/**
 * Wakes up to `count` waiters on `cells[index]`. A waiter in this isolate
 * resumes in a task V8 queues for it, which Deno's main event loop does not
 * wait for: if nothing else is pending, the program would end with the
 * waiter still asleep. So the loop keeps turning (1 ms timers) until no
 * waiter of this isolate sleeps, or for at most `WAKE_TURNS` turns (one may
 * sleep on, woken by nobody: the program may then end).
 */
export function wake(cells: Int32Array, index: number, count = Infinity): void {
  if (Atomics.notify(cells, index, count) === 0 || !IS_MAIN_ISOLATE || asleep === 0) return;
  const idle = turnsLeft === 0;
  turnsLeft = WAKE_TURNS;
  if (!idle) return;
  const turn = () => {
    if (asleep > 0 && --turnsLeft > 0) setTimeout(turn, 1);
    else turnsLeft = 0;
  };
  setTimeout(turn, 0);
}

/**
 * Converts Python's `block`/`timeout` pair (timeout in ms, checked) to a
 * deadline; negative means 0, undefined or `Infinity` no deadline.
 */
export function deadlineOf(block = true, timeoutMs?: number, signal?: AbortSignal): Deadline {
  const until = !block ? 0 : timeoutMs === undefined ? Infinity : performance.now() + Math.max(0, timeoutMs);
  return { until, signal };
}

/** Python's `block`/`timeout` pair, as locks and semaphores take it. */
export interface BlockingOptions {
  readonly block?: boolean | undefined;
  readonly timeout?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The deadline of a blocking call, checked: `block: false` never waits (the
 * timeout is then ignored), a negative timeout counts as 0, none or
 * `Infinity` waits for as long as it takes. Throws a TypeError naming
 * `method` for a bad option (the timeout as `name`: NaN is one).
 */
export function checkedDeadline(method: string, options: BlockingOptions = {}, name = "timeout"): Deadline {
  const { block = true, timeout, signal } = options;
  if (typeof block !== "boolean") {
    throw new TypeError(`${method}: block must be a boolean, not ${typeof block}`);
  }
  if (timeout !== undefined && !isDuration(timeout)) {
    throw new TypeError(`${method}: ${name} ${DURATION_RULE}, not ${showValue(timeout)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${method}: signal must be an AbortSignal`);
  }
  return deadlineOf(block, timeout, signal);
}
