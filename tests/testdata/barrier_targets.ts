/**
 * Process targets for the barrier and condition tests. They are handed a
 * Barrier or a Condition and shared values in their `args` (worker
 * backend), and report what they saw through a queue, so a test awaits a
 * `get` (with a timeout) instead of sleeping. Every wait here has a timeout
 * too, so a bug fails the test instead of hanging it.
 */

import type { Barrier, Condition, Event, Queue, RawArray, Value } from "../../mod.ts";
import { type Caught, caught, CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

// --- A barrier's action, shared by every party ---

/** Where the cycle count is kept: `[cycles tripped, party that ran the last action]`. */
const TRIPS = 0;
const RUNNER = 1;

/** This isolate's tally: the shared cells and which party this isolate is. */
let tally: { cells: RawArray<"i">; party: number } | undefined;

/**
 * Tells this isolate's `countCycle` where to count and which party it is:
 * each process that may trip the barrier calls it before waiting.
 */
export function useTally(cells: RawArray<"i">, party: number): void {
  tally = { cells, party };
}

/**
 * A barrier action: counts the cycle and records which party ran it. Only
 * the last party to arrive runs it, while the others wait, so a plain
 * read-modify-write is safe.
 */
export function countCycle(): void {
  if (!tally) throw new Error("countCycle ran in an isolate that never called useTally");
  tally.cells.set(TRIPS, tally.cells.get(TRIPS) + 1);
  tally.cells.set(RUNNER, tally.party);
}

/** What a party saw as it passed the barrier once. */
export interface Passage {
  party: number;
  cycle: number;
  /** The arrival index `wait()` resolved to. */
  index: number;
  /** The cycle count right after passing: the action ran before the release. */
  trips: number;
  /** The party that ran this cycle's action. */
  runner: number;
}

/** Reads what the tally says now, for a party that just passed. */
export function passage(cells: RawArray<"i">, party: number, cycle: number, index: number): Passage {
  return { party, cycle, index, trips: cells.get(TRIPS), runner: cells.get(RUNNER) };
}

/**
 * Passes the barrier `cycles` times as party `party`, reporting each
 * passage on `out`, or the first error.
 */
export async function passCycles(
  barrier: Barrier,
  cells: RawArray<"i">,
  party: number,
  cycles: number,
  out: Queue<Passage | Caught>,
): Promise<void> {
  useTally(cells, party);
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      const index = await barrier.wait(PATIENCE_MS);
      await out.put(passage(cells, party, cycle, index));
    }
  } catch (error) {
    await out.put(caught(error));
  }
}

/**
 * Waits for `go`, then at the barrier once, with `timeoutMs` (null: the
 * barrier's own), and reports how that ended.
 */
export async function waitOnce(
  barrier: Barrier,
  go: Event,
  timeoutMs: number | null,
  out: Queue<{ index: number } | Caught>,
): Promise<void> {
  try {
    if (!(await go.wait(PATIENCE_MS))) throw new Error(`Cannot see go within ${PATIENCE_MS} ms`);
    await out.put({ index: await barrier.wait(timeoutMs ?? undefined) });
  } catch (error) {
    await out.put(caught(error));
  }
}

// --- Conditions ---

/** What a child saw while waiting on a condition. */
export interface Handoff {
  /** What `waitFor` returned: the flag, or 0 if it timed out. */
  got: number;
  /** The condition as the child saw it once `waitFor` returned (its lock held again). */
  after: string;
}

/**
 * Holds the condition's lock, says so on `waiting`, then waits on the
 * condition (which lets go of the lock) until `flag` is set, and reports.
 */
export async function awaitFlag(
  cond: Condition,
  flag: Value<"i">,
  waiting: Event,
  out: Queue<Handoff | Caught>,
): Promise<void> {
  if (!(await cond.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the condition");
  try {
    waiting.set();
    const got = await cond.waitFor(() => flag.value, PATIENCE_MS);
    await out.put({ got, after: String(cond) });
  } catch (error) {
    await out.put(caught(error));
  } finally {
    cond.release();
  }
}

/** Sets `flag` to `value` under the condition's lock and wakes every waiter. */
export async function raiseFlag(cond: Condition, flag: Value<"i">, value: number): Promise<void> {
  if (!(await cond.acquire({ timeout: PATIENCE_MS }))) throw new Error("Cannot acquire the condition");
  try {
    flag.value = value;
    cond.notifyAll();
  } finally {
    cond.release();
  }
}
