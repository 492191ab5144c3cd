/**
 * troupe's own reports on stderr: a child's crash (printed by the child, as
 * Python's children print their traceback), a child killed for breaking the
 * protocol, a supervised child that missed a heartbeat, a pool callback that
 * threw.
 *
 * A crash is reported by the creator of the process that crashed (its child
 * sends the error), in the way the creator chose (`CrashReports`): a full
 * stack by default, as Python's children print their traceback; one line, or
 * nothing but a callback, for supervisors and pools, whose crashes are
 * expected and repeat.
 *
 * A test that causes them on purpose captures them instead of printing them,
 * so that a test run shows only what nobody expected: while the environment
 * variable `TROUPE_CAPTURE_REPORTS` names a file that exists, a process that
 * may read the variable and write the file appends each report to it, as one
 * JSON string a line. Workers see the program's variables and subprocesses
 * inherit them, so the capture reaches every child. Anything else (no such
 * variable or file, a sandboxed child) prints as before.
 *
 * @module
 */

/** The variable that names the capture file (see `captureReports` in `tests/_helpers.ts`). */
export const CAPTURE_VARIABLE = "TROUPE_CAPTURE_REPORTS";

/**
 * Reports `text` on stderr, followed by `error` as Deno shows it (in color on
 * a terminal), unless reports are being captured.
 */
export function report(text: string, error?: unknown): void {
  const show = (colors: boolean) => {
    if (error === undefined) return "";
    if (typeof error === "string") return error;
    try {
      // A child's error rebuilt here is an Error named as its class was
      // ("Error [TargetError]: …" to Deno): shown as the child would show it,
      // after the color codes a terminal gets.
      const shown = Deno.inspect(error, { colors });
      // An error whose stack has no frame left (troupe's own were dropped) is shown bare, not in brackets.
      const bare = error instanceof Error ? shown.replace(/^\[([^]*)\]$/, "$1") : shown;
      // deno-lint-ignore no-control-regex
      return bare.replace(/^((?:\x1b\[[\d;]*m)*)Error \[(\w+)\]/, "$1$2");
    } catch {
      // A revoked Proxy, say: the report must still be made, and whoever called must go on.
      return `(${typeof error} that cannot be shown)`;
    }
  };
  if (captured(text + show(false))) return;
  console.error(text + show(error !== undefined && !Deno.noColor && Deno.stderr.isTerminal()));
}

/** Appends `text` to the capture file, if there is one this process may write; whether it did. */
function captured(text: string): boolean {
  try {
    // Queried first: reading a variable without the permission would prompt on a terminal.
    if (Deno.permissions.querySync({ name: "env", variable: CAPTURE_VARIABLE }).state !== "granted") {
      return false;
    }
    const path = Deno.env.get(CAPTURE_VARIABLE);
    if (!path || Deno.permissions.querySync({ name: "write", path }).state !== "granted") return false;
    // Never created: once the test that made the file removes it, reports print again.
    Deno.writeTextFileSync(path, JSON.stringify(text) + "\n", { append: true, create: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * A process that crashed: its name and the error it crashed with (a child's
 * error, rebuilt with its class, message, fields and stack).
 *
 * @example
 * ```ts
 * import type { Crash } from "@troupe/troupe";
 *
 * const onCrash = (crash: Crash) => console.log(`${crash.process} crashed: ${crash.error}`);
 * onCrash({ process: "Supervisor:worker", error: new Error("boom") });
 * ```
 */
export interface Crash {
  /** The name of the process that crashed ("Supervisor:worker", "PoolWorker-3"). */
  readonly process: string;
  /** What it crashed with: the error its target threw, or its module or initializer failed with. */
  readonly error: unknown;
}

/**
 * How crashes are reported: `"stack"` prints the error with its full stack
 * on stderr (as Python's children print their traceback), `"line"` prints
 * one line (the error and its first frame outside troupe), `"none"` prints
 * nothing; a function is called with each crash instead of printing.
 *
 * @example
 * ```ts
 * import { Supervisor, type CrashReports } from "@troupe/troupe";
 *
 * const quiet: CrashReports = "line";
 * const sup = new Supervisor({ children: [], crashReports: quiet });
 * await sup.stop();
 * ```
 */
export type CrashReports = "stack" | "line" | "none" | ((crash: Crash) => void);

/** Whether `value` is a way to report crashes. */
export function isCrashReports(value: unknown): value is CrashReports {
  return value === "stack" || value === "line" || value === "none" || typeof value === "function";
}

/** Reports that process `name` crashed with `error`, as `how` says. */
export function reportCrash(name: string, error: unknown, how: CrashReports): void {
  if (typeof how === "function") {
    try {
      how({ process: name, error });
    } catch (thrown) {
      // Nothing is lost: the crash is shown, then why the callback did not take it.
      report(`Process ${name}:\n`, error);
      report("The crashReports callback threw: ", thrown);
    }
    return;
  }
  if (how === "stack") report(`Process ${name}:\n`, error);
  else if (how === "line") report(`Process ${name}: ${oneLine(error)}`);
}

/** Where troupe's own modules are: their frames say nothing about the user's code. */
const TROUPE_SOURCE = new URL("../", import.meta.url).href;

/** A stack line's frame that is troupe's or the runtime's own. */
function internalFrame(line: string): boolean {
  return line.includes(TROUPE_SOURCE) || /\((ext|node):|at (ext|node):/.test(line);
}

/**
 * `stack` without the frames of troupe's own modules and of the runtime
 * (`ext:`, `node:`): what is left is the user's code.
 */
export function userStack(stack: string): string {
  return stack.split("\n").filter((line) => !/^\s+at /.test(line) || !internalFrame(line)).join("\n");
}

/** An error in one line: its class and message's first line, then its first frame outside troupe. */
export function oneLine(error: unknown): string {
  if (!(error instanceof Error)) return typeof error === "string" ? error : safeInspect(error);
  const name = error.name || "Error";
  const message = String(error.message).split("\n")[0];
  const frame = (error.stack ?? "").split("\n").find((line) => /^\s+at /.test(line) && !internalFrame(line));
  const where = frame?.trim().replace(/^at (.* \()?(.*?)\)?$/, "$2");
  return `${message ? `${name}: ${message}` : name}${where ? ` (at ${where})` : ""}`;
}

function safeInspect(value: unknown): string {
  try {
    return Deno.inspect(value, { colors: false, breakLength: Infinity, compact: true });
  } catch {
    return `(${typeof value} that cannot be shown)`;
  }
}
