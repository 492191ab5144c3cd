/**
 * troupe's own reports on stderr: a child's crash (printed by the child, as
 * Python's children print their traceback), a child killed for breaking the
 * protocol, a supervised child that missed a heartbeat, a pool callback that
 * threw.
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
      return Deno.inspect(error, { colors });
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
