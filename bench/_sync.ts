/**
 * The benchmark's synchronization rows: an uncontended Lock inside a
 * worker against raw Atomics, a strict hand-off between two workers, and a
 * Value incremented under its lock by two workers, against Python.
 */

import { Barrier, Lock, Process, RawArray, Semaphore, SharedArray, Value } from "../mod.ts";
import { pythonSamples } from "./_python.ts";

const { MODULE: module, handOff, increment, lockPairs, negateRaw, negateShared, rawPairs } = await import(
  "./_sync_targets.ts"
);

/** A benchmark target, whatever its arguments. */
// deno-lint-ignore no-explicit-any
type Target = (...args: any[]) => unknown;

/** Acquire + release pairs per uncontended sample. */
export const PAIRS = 1_000_000;
/** Hand-offs each way per sample. */
export const HAND_OFFS = 20_000;
/** Increments per sample, split between the two workers. */
export const INCREMENTS = 1_000_000;

/** Elements of the array seed 002's loop negates. */
export const ELEMENTS = 1_000_000;
/** Passes of that loop per sample. */
export const PASSES = 20;

/** Runs `target` in one worker and gives what it wrote to out[0]. */
async function inWorker(
  target: Target,
  args: unknown[],
  out: RawArray<"d">,
): Promise<number> {
  const p = new Process({ target, args, module });
  await p.start();
  await p.join();
  if (p.exitCode !== 0) throw new Error(`the benchmark worker failed with exit code ${p.exitCode}`);
  return out.get(0);
}

/** µs per uncontended acquire + release, inside a worker: troupe's Lock, or raw Atomics. */
export function uncontended(kind: "troupe" | "raw"): Promise<number> {
  const out = new RawArray("d", 1);
  return kind === "troupe"
    ? inWorker(lockPairs, [new Lock(), PAIRS, out, 0], out)
    : inWorker(rawPairs, [new Int32Array(new SharedArrayBuffer(4)), PAIRS, out, 0], out);
}

/** Starts two workers that line up at a barrier with main, and gives the slower one's ms. */
async function pair(
  targets: [Target, unknown[]][],
  out: RawArray<"d">,
  start: Barrier,
) {
  const processes = targets.map(([target, args]) => new Process({ target, args, module }));
  for (const p of processes) await p.start();
  await start.wait();
  for (const p of processes) await p.join();
  if (processes.some((p) => p.exitCode !== 0)) throw new Error("a benchmark worker failed");
  return Math.max(out.get(0), out.get(1));
}

/** µs per hand-off between two workers alternating through two Semaphores. */
export async function handOffs(): Promise<number> {
  const out = new RawArray("d", 2), start = new Barrier(3);
  const a = new Semaphore(1), b = new Semaphore(0);
  const ms = await pair(
    [
      [handOff, [a, b, HAND_OFFS, start, out, 0]],
      [handOff, [b, a, HAND_OFFS, start, out, 1]],
    ],
    out,
    start,
  );
  return ms * 1000 / (2 * HAND_OFFS);
}

/** µs per increment of a Value under its lock, two workers; throws on a lost update. */
export async function increments(): Promise<number> {
  const out = new RawArray("d", 2), start = new Barrier(3);
  const value = new Value("i", 0);
  const half = INCREMENTS / 2;
  const ms = await pair(
    [
      [increment, [value, half, start, out, 0]],
      [increment, [value, half, start, out, 1]],
    ],
    out,
    start,
  );
  if (value.value !== INCREMENTS) throw new Error(`lost updates: ${value.value} of ${INCREMENTS}`);
  return ms * 1000 / INCREMENTS;
}

/** ms per pass of `a[i] = -a[i]` over ELEMENTS, inside a worker: on a plain Int32Array, or a SharedArray. */
export function negations(kind: "raw" | "troupe"): Promise<number> {
  const out = new RawArray("d", 1);
  return kind === "troupe"
    ? inWorker(negateShared, [new SharedArray("i", ELEMENTS), PASSES, out, 0], out)
    : inWorker(negateRaw, [new Int32Array(new SharedArrayBuffer(4 * ELEMENTS)), PASSES, out, 0], out);
}

/** Python's samples for a mode of _python_sync.py, or undefined without python3. */
export function python(mode: "handoff" | "value" | "index", runs: number): Promise<number[] | undefined> {
  return pythonSamples("./_python_sync.py", [
    mode,
    String(mode === "handoff" ? HAND_OFFS : mode === "index" ? ELEMENTS : INCREMENTS),
    String(runs),
  ]);
}
