/**
 * Task functions for the Pool tests. Pool workers import this module and find
 * these functions by their export name. Tasks that must tell the test they
 * started write a file the test watches, so the test never sleeps to
 * synchronize; a task may sleep inside the worker to be slow.
 */

import { currentProcess } from "../../mod.ts";

export const MODULE: string = import.meta.url;

/** This module instance's identity: one per worker incarnation. */
const WORKER_ID: string = crypto.randomUUID();

/** What the initializer set, and how often it ran, in this worker. */
let initialized: string | undefined;
let initCalls = 0;

export function square(x: number): number {
  return x * x;
}

export function identity<T>(x: T): T {
  return x;
}

/** Says what it was given: its type and value. */
export function describe(x: unknown): string {
  return `${typeof x} ${String(x)}`;
}

export function add(a: number, b: number): number {
  return a + b;
}

export async function asyncDouble(x: number): Promise<number> {
  await Promise.resolve();
  return 2 * x;
}

/** Returns `value` after `ms` ms (a slow task). */
export async function sleepy<T>(ms: number, value: T): Promise<T> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
}

/** Sleeps `ms` ms and returns it (one argument, for map and imap). */
export async function sleepyEcho(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}

/**
 * Writes a file named after this worker in `dir`, then waits (sleeping in the
 * worker) until `n` workers have: run with a timeout, so each goes to an idle
 * worker, `n` such tasks prove `n` workers are ready.
 */
export async function rendezvous(dir: string, n: number): Promise<string> {
  await Deno.writeTextFile(`${dir}/${WORKER_ID}`, "here");
  const deadline = performance.now() + 15_000;
  for (;;) {
    let count = 0;
    for await (const _ of Deno.readDir(dir)) count++;
    if (count >= n) return WORKER_ID;
    if (performance.now() > deadline) throw new Error(`Only ${count} of ${n} workers met in ${dir}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Writes `path` to say it runs, then sleeps `ms` ms and returns `value`. */
export async function startThenSleep<T>(path: string, ms: number, value: T): Promise<T> {
  await Deno.writeTextFile(path, "started");
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
}

/** Appends `line` to `path` (to tell whether a task ran at all). */
export async function appendLine(path: string, line: string): Promise<string> {
  await Deno.writeTextFile(path, `${line}\n`, { append: true });
  return line;
}

/** Spins for `ms` ms without yielding (only a kill stops it early). */
export function busy(ms: number): number {
  const until = performance.now() + ms;
  let n = 0;
  while (performance.now() < until) n++;
  return n;
}

export function exitWith(code: number): never {
  Deno.exit(code);
}

/** Exits with `code` if it is 0 or more; else returns it. */
export function exitUnless(code: number): number {
  if (code >= 0) Deno.exit(code);
  return code;
}

/** Exits with code 3 the first time (when `marker` does not exist yet, creating it), then returns "ok". */
export function crashOnce(marker: string): string {
  try {
    Deno.statSync(marker);
  } catch {
    Deno.writeTextFileSync(marker, "crashed once");
    Deno.exit(3);
  }
  return "ok";
}

export class TaskError extends Error {
  readonly code: string;
  readonly details: { attempt: number; tags: string[] };

  constructor(message: string, code: string) {
    super(message);
    this.name = "TaskError";
    this.code = code;
    this.details = { attempt: 1, tags: ["a", "b"] };
  }
}

export function throwTaskError(message: string, code: string): never {
  throw new TaskError(message, code);
}

export function throwTypeError(message: string): never {
  throw new TypeError(message);
}

export async function rejectRangeError(message: string): Promise<never> {
  await Promise.resolve();
  throw new RangeError(message);
}

/** Squares `x`, but throws a TaskError for a negative one. */
export function squareOrThrow(x: number): number {
  if (x < 0) throw new TaskError(`negative: ${x}`, "E_NEG");
  return x * x;
}

/** As `squareOrThrow`, after `ms` ms: the map items are `[x, ms]`. */
export async function slowSquareOrThrow(x: number, ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return squareOrThrow(x);
}

/** Returns what cannot be cloned: a function. */
export function returnFunction(): () => number {
  return () => 1;
}

/** Returns an object with a function inside. */
export function returnNestedFunction(): { ok: number; inner: { f: () => number } } {
  return { ok: 1, inner: { f: () => 1 } };
}

/** Sums the bytes of `buffer`, which may have been transferred. */
export function byteSum(buffer: ArrayBuffer): { length: number; sum: number } {
  const bytes = new Uint8Array(buffer);
  return { length: bytes.length, sum: bytes.reduce((a, b) => a + b, 0) };
}

/** An initializer: records itself in `path` (one line per worker) and sets the worker's tag. */
export async function initRecord(path: string, tag: string): Promise<void> {
  initCalls++;
  initialized = `${tag}:${WORKER_ID}`;
  await Deno.writeTextFile(path, `${WORKER_ID}\n`, { append: true });
}

/** What the initializer set in this worker. */
export function readInit(): { value: string | undefined; calls: number; id: string } {
  return { value: initialized, calls: initCalls, id: WORKER_ID };
}

/** An initializer that always fails. */
export function failingInit(): never {
  throw new Error("the initializer failed on purpose");
}

/** Which worker runs this: its module instance, process name and pid. */
export function whoAmI(): { id: string; name: string; pid: number } {
  return { id: WORKER_ID, name: currentProcess().name, pid: Deno.pid };
}

/** One step of a random workload: what to do, described by data. */
export type Step =
  | { kind: "ok"; value: number }
  | { kind: "throw"; value: number }
  | { kind: "exit"; code: number }
  | { kind: "slow"; ms: number; value: number };

export async function perform(step: Step): Promise<number> {
  switch (step.kind) {
    case "ok":
      return step.value;
    case "throw":
      throw new TaskError(`step ${step.value} threw`, "E_STEP");
    case "exit":
      Deno.exit(step.code);
      break;
    case "slow":
      await new Promise((resolve) => setTimeout(resolve, step.ms));
      return step.value;
  }
  throw new Error("unreachable");
}
