/**
 * Shared test helpers, for tests and for the children they start: the
 * backends every Process test runs on, how long to wait for anything, a file
 * a child can report to, a runner for scripts that must be their own program
 * (to watch a parent's exit or a child's stderr), how a child reports an
 * error it caught, and the capture of the crash reports a test causes on
 * purpose.
 */

import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { activeChildren, type Backend, currentProcess, type Process } from "../mod.ts";
import { CAPTURE_VARIABLE } from "../src/core/_report.ts";
import { withLeakCheck } from "../src/testing.ts";

/** Every backend the shared Process suite runs on. */
export const BACKENDS: readonly Backend[] = ["worker", "subprocess"];

/** A file a child writes its report to. */
export interface ReportFile extends AsyncDisposable {
  readonly path: string;
  read<T>(): Promise<T>;
}

/** A fresh report file, removed when disposed (`await using`). */
export async function reportFile(): Promise<ReportFile> {
  const path = await Deno.makeTempFile({ prefix: "troupe-report-" });
  return {
    path,
    async read<T>() {
      return JSON.parse(await Deno.readTextFile(path)) as T;
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(path).catch(() => {});
    },
  };
}

/** What a script printed and how it ended. */
export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to run a program in {@linkcode runProgram}. */
export interface RunOptions {
  /** The program's own arguments. */
  args?: string[];
  /** Deno's flags for it; `-A` by default. */
  flags?: string[];
  cwd?: string;
  /** More environment variables for it. */
  env?: Record<string, string>;
  /** How long it may run before it is killed and the call fails, so nothing hangs; 120 s by default. */
  timeoutMs?: number;
}

/** Runs a module as a program of its own; killed after `timeoutMs` so nothing hangs. */
export async function runProgram(module: URL | string, options: RunOptions = {}): Promise<ScriptResult> {
  const { args = [], flags = ["-A"], cwd, env = {}, timeoutMs = 120_000 } = options;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, String(module), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // A program of its own prints its reports: its stderr is what the test reads.
    env: { NO_COLOR: "1", [CAPTURE_VARIABLE]: "", ...env },
    signal: AbortSignal.timeout(timeoutMs),
    ...(cwd === undefined ? {} : { cwd }),
  }).output().catch((error) => {
    throw new Error(`The program did not end within ${timeoutMs} ms`, { cause: error });
  });
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Runs `tests/testdata/<name>` as a program of its own. */
export function runScript(name: string, options: RunOptions = {}): Promise<ScriptResult> {
  return runProgram(new URL(`./testdata/${name}`, import.meta.url), options);
}

/**
 * Waits for a child to write its report, by file-system event rather than
 * polling. Throws if nothing is written within `timeoutMs`.
 */
export async function waitForReport(path: string, timeoutMs = 20_000): Promise<void> {
  const watcher = Deno.watchFs(path);
  const timer = setTimeout(() => watcher.close(), timeoutMs);
  try {
    // Checked after the watcher exists, so a write in between is not missed.
    if ((await Deno.stat(path)).size > 0) return;
    for await (const _event of watcher) {
      if ((await Deno.stat(path)).size > 0) return;
    }
    throw new Error(`Cannot find a report in ${path} after ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch {
      // Already closed by the timer.
    }
  }
}

/** How long a test waits for anything before it fails rather than hang. */
export const PATIENCE_MS = 10_000;

/**
 * How long a whole test that starts processes may take before it fails
 * instead of hanging: a manager's proxy calls wait as long as the manager
 * lives, so such a test bounds them all (see {@linkcode processTest}).
 */
export const TEST_PATIENCE_MS = 6 * PATIENCE_MS;

/** How long a child waits for anything before it gives up (and fails, so its test does). */
export const CHILD_PATIENCE_MS = 30_000;

/** Longer than any wait or call in a test could take unless it did not wait at all. */
export const QUICK_MS = 1_000;

/** Fails instead of hanging when `promise` does not settle within `ms`. */
export async function within<T>(promise: Promise<T>, ms = PATIENCE_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`No result in ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts processes, failing rather than hanging (a worker type-checks its module on its first start). */
export async function started(...processes: Process[]): Promise<void> {
  await within(Promise.all(processes.map((p) => p.start())), 3 * PATIENCE_MS);
}

/** A test that starts processes: checked for leaks, and failed rather than hung after `TEST_PATIENCE_MS`. */
export function processTest(name: string, fn: () => Promise<void>): void {
  Deno.test(name, withLeakCheck(() => within(fn(), TEST_PATIENCE_MS)));
}

/** The manager's own process, found among the children. */
export function managerProcess(): Process {
  const found = activeChildren().filter((p) => p.name.startsWith("SyncManager-"));
  assert.equal(found.length, 1, `one manager process runs: ${found.map((p) => p.name)}`);
  return found[0]!;
}

/**
 * A subprocess child's own channel to the root, as its bootstrap exposes it
 * for tests that play a broken or hostile child; undefined in a worker.
 */
export function childChannel(): { conn: Deno.Conn; flush: () => Promise<void> } | undefined {
  return (globalThis as Record<symbol, unknown>)[Symbol.for("troupe.channel")] as ReturnType<
    typeof childChannel
  >;
}

/** What a caught error looks like once a child reports it through a queue. */
export interface Caught {
  name: string;
  message: string;
}

/** The name and message of `error`, which a child can send through a queue. */
export function caught(error: unknown): Caught {
  const { name, message } = error as Error;
  return { name, message };
}

/** How a promise settled: its value, or its error as `describe` shows it. */
export type Outcome<T = unknown, E = Caught> = { value: T } | { error: E };

/** Waits for `promise` and tells how it settled, rejections included. */
export async function outcome<T, E = Caught>(
  promise: Promise<T>,
  describe: (error: unknown) => E = caught as (error: unknown) => E,
): Promise<Outcome<T, E>> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: describe(error) };
  }
}

/** Joins with a timeout and checks the exit code. */
export async function joined(p: Process, code = 0): Promise<void> {
  await p.join(PATIENCE_MS);
  assert.equal(p.exitCode, code, `${p.name} exit code`);
}

/**
 * The file troupe appends its reports to while a test expects them (see
 * {@linkcode expectReports}). The main process names it in its environment
 * once, when it loads these helpers, so that every child inherits it, a spare
 * started before the test included; the file exists only while a test
 * expects reports, and a report made at any other time is printed.
 */
let reportsPath: string | undefined;
// Only the test program's isolates (deno test gives each test file one), and only with the permission:
// children load these helpers too. The first test file names it in the environment, where the others find
// it; the pid tells this program's name from one a parent test program passed on, and the random part
// keeps a file left by a killed run with the same pid from getting in the way.
if (
  currentProcess().name === "MainProcess" && Deno.permissions.querySync({ name: "env" }).state === "granted"
) {
  const prefix = `${tmpdir()}/troupe-reports-${Deno.pid}-`;
  const named = Deno.env.get(CAPTURE_VARIABLE);
  if (named === undefined) Deno.env.set(CAPTURE_VARIABLE, reportsPath = prefix + crypto.randomUUID());
  else if (named.startsWith(prefix)) reportsPath = named;
}

/**
 * Runs `fn` with troupe's reports on stderr (a child's crash, a child killed
 * for breaking the protocol, a missed heartbeat: see `src/_report.ts`)
 * captured instead of printed, in this isolate and in every child, and
 * asserts that each of `expected` matches one of them at least. Reports that
 * match none are printed as they would have been, and so is every report
 * when `fn` fails: nothing unexpected is hidden. Returns what `fn` returned.
 */
export async function expectReports<T>(expected: readonly RegExp[], fn: () => Promise<T>): Promise<T> {
  const path = reportsPath;
  assert.ok(
    path && Deno.env.get(CAPTURE_VARIABLE) === path,
    `${CAPTURE_VARIABLE} names the file these helpers read`,
  );
  await Deno.writeTextFile(path, "", { createNew: true });
  let failed = true;
  let result: T;
  let reports: string[];
  try {
    result = await fn();
    failed = false;
  } finally {
    const text = await Deno.readTextFile(path);
    // Removed: a child that reports later (it outlived the test) prints again.
    await Deno.remove(path);
    reports = text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as string);
    for (const report of reports) {
      if (failed || !expected.some((pattern) => pattern.test(report))) console.error(report);
    }
  }
  for (const pattern of expected) {
    assert.ok(
      reports.some((report) => pattern.test(report)),
      `Cannot find a report that matches ${pattern} among ${JSON.stringify(reports, null, 2)}`,
    );
  }
  return result;
}

/** A test body (`fn`) that runs under {@linkcode expectReports}: for tests whose children crash on purpose. */
export function withReports<Args extends unknown[]>(
  expected: readonly RegExp[],
  fn: (...args: Args) => Promise<void>,
): (...args: Args) => Promise<void> {
  return (...args: Args) => expectReports(expected, () => fn(...args));
}

/**
 * The report of a process that crashed with an error shown as `shown` (its
 * first line, or more): as a stack (`Process name:` and the error below) or
 * in one line (`Process name: ` and the error), as supervisors and pools
 * report by default.
 */
export function crashReport(shown: string): RegExp {
  return new RegExp(`^Process [^\\n]+?:(\\n| )${shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
}
