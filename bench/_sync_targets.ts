/** What the synchronization rows run inside workers; each times itself and reports through shared memory. */

import type { Barrier, Lock, RawArray, Semaphore, SharedArray, Value } from "../mod.ts";

export const MODULE = import.meta.url;

/** `n` uncontended acquire + release pairs of a troupe Lock; writes µs per pair to `out[slot]`. */
export async function lockPairs(lock: Lock, n: number, out: RawArray<"d">, slot: number): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await lock.acquire();
    lock.release();
  }
  out.set(slot, (performance.now() - t0) * 1000 / n);
}

/** The raw baseline: `n` compare-exchange + store pairs on an Int32Array word, awaited like a lock. */
export async function rawPairs(word: Int32Array, n: number, out: RawArray<"d">, slot: number): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(word, 0, 0, 1) !== 0) throw new Error("the raw lock was taken");
    await undefined;
    Atomics.store(word, 0, 0);
  }
  out.set(slot, (performance.now() - t0) * 1000 / n);
}

/** One side of a strict hand-off: take `mine`, give `theirs`, `n` times; writes the elapsed ms to `out[slot]`. */
export async function handOff(
  mine: Semaphore,
  theirs: Semaphore,
  n: number,
  start: Barrier,
  out: RawArray<"d">,
  slot: number,
): Promise<void> {
  await start.wait();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await mine.acquire();
    theirs.release();
  }
  out.set(slot, performance.now() - t0);
}

/** `n` increments of `value` under its lock; writes the elapsed ms to `out[slot]`. */
export async function increment(
  value: Value<"i">,
  n: number,
  start: Barrier,
  out: RawArray<"d">,
  slot: number,
): Promise<void> {
  await start.wait();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await value.acquire();
    value.value += 1;
    value.release();
  }
  out.set(slot, performance.now() - t0);
}

/** Seed 002's loop on a plain typed array, `passes` times; writes ms per pass to `out[slot]`. */
export function negateRaw(a: Int32Array, passes: number, out: RawArray<"d">, slot: number): void {
  const t0 = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    for (let i = 0; i < a.length; i++) a[i] = -a[i]!;
  }
  out.set(slot, (performance.now() - t0) / passes);
}

/** Seed 002's loop on a SharedArray, indexed, `passes` times; writes ms per pass to `out[slot]`. */
export function negateShared(a: SharedArray<"i">, passes: number, out: RawArray<"d">, slot: number): void {
  const t0 = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    for (let i = 0; i < a.length; i++) a[i] = -a[i]!;
  }
  out.set(slot, (performance.now() - t0) / passes);
}
