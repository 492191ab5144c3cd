/**
 * A program ends when its main module is done (issue 22, item 9), as in
 * Python: a forgotten pool, a supervisor's children and a daemon child do not
 * keep it running, and end with it; a non-daemon child is waited for; and
 * what the main module awaits at top level (a map, a join) keeps it running
 * until it is there. When the main module is done, its daemon children are
 * terminated first, then the others joined (issue 17, seed 004), in every
 * process.
 */

import assert from "node:assert/strict";
import { BACKENDS, PATIENCE_MS, runProgram, type ScriptResult } from "./_helpers.ts";

const SCRIPT = new URL("./testdata/exit_rule_script.ts", import.meta.url);

/** Runs the script in `mode`; fails (killing it) if it has not ended by itself within PATIENCE_MS. */
function run(backend: string, mode: string, how = "await", flags = ["-A"]): Promise<ScriptResult> {
  return runProgram(SCRIPT, { args: [backend, mode, how], flags, timeoutMs: PATIENCE_MS });
}

/** The lines of `stdout` after "main done", but "pids: …" (what the program did once its main module was done). */
function afterMain(stdout: string): string[] {
  const lines = stdout.trimEnd().split("\n");
  return lines.slice(lines.indexOf("main done") + 1);
}

/** Whether OS process `pid` still runs (a zombie has ended). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/**
 * Waits, up to 5 s, for `pids` to be gone: the program sent them SIGTERM as
 * it ended (a subprocess also exits when its channel closes), and the OS
 * reaps them shortly after. An outside event with no notice to await.
 */
async function gone(pids: readonly number[]): Promise<number[]> {
  const until = performance.now() + 5_000;
  let left = pids.filter(running);
  while (left.length > 0 && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = left.filter(running);
  }
  return left;
}

/** The pids the script printed, and that they were alive then. */
function pidsOf(stdout: string): number[] {
  const line = stdout.match(/^pids: (.*)$/m);
  assert.ok(line, `no pids line in ${stdout}`);
  return JSON.parse(line[1]!) as number[];
}

for (const backend of BACKENDS) {
  const cases: [mode: string, what: string, expect: RegExp, children: number][] = [
    ["pool-idle", "a forgotten idle Pool", /main done/, 2],
    ["pool-mapped", "a Pool forgotten after a map", /map: 1,4,9\npids: .*\nmain done/, 2],
    ["supervisor", "a forgotten Supervisor with running children", /ask: 2\npids: .*\nmain done/, 2],
    ["daemon", "a forgotten daemon Process", /main done/, 1],
  ];
  for (const [mode, what, expect, children] of cases) {
    Deno.test(`Program exit: ${what} does not keep the program running; its children end (${backend})`, async () => {
      const { code, stdout, stderr } = await run(backend, mode);
      assert.match(stdout, expect, stderr);
      assert.equal(stderr, "");
      assert.equal(code, 0, stdout);
      const pids = pidsOf(stdout);
      assert.equal(pids.length, backend === "subprocess" ? children : 0, `pids ${pids}`);
      assert.deepEqual(await gone(pids), [], "children left alive");
    });
  }

  for (const how of ["await", "then"]) {
    const where = how === "await" ? "at top level" : "in a callback";
    Deno.test(`Program exit: waiting ${where} on a pool's map or a daemon's join keeps the program running until it is there (${backend})`, async () => {
      const { code, stdout, stderr } = await run(backend, "await", how);
      assert.match(stdout, /map: 300,10\ndaemon said\ndaemon exit code: 0\npids: .*\nmain done/, stderr);
      assert.equal(stderr, "");
      assert.equal(code, 0);
      assert.deepEqual(await gone(pidsOf(stdout)), []);
    });

    Deno.test(`Program exit: an endless get ${where} waits for a daemon's put (${backend})`, async () => {
      const { code, stdout, stderr } = await run(backend, "queue", how);
      assert.match(stdout, /got: late item\npids: .*\nmain done/, stderr);
      assert.equal(stderr, "");
      assert.equal(code, 0);
      assert.deepEqual(await gone(pidsOf(stdout)), []);
    });
  }

  Deno.test(`Program exit: a forgotten non-daemon Process is waited for, as Python joins it (${backend})`, async () => {
    const { code, stdout, stderr } = await run(backend, "non-daemon");
    assert.match(stdout, /main done\nchild done/, stderr);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.deepEqual(await gone(pidsOf(stdout)), []);
  });

  Deno.test(`Program exit: when the main module is done its daemon child is terminated, then the non-daemon joined, as Python does (${backend})`, async () => {
    // The non-daemon waits for the daemon's end (EOF on a pipe only the daemon writes to): without the
    // rule, the daemon would finish its work (5 s) first.
    const { code, stdout, stderr } = await run(backend, "python-rule");
    assert.equal(stderr, "");
    assert.deepEqual(afterMain(stdout), [
      "non-daemon: the daemon has ended",
      "non-daemon done",
      "exit codes: daemon -15, child 0",
    ]);
    assert.equal(code, 0);
    assert.deepEqual(await gone(pidsOf(stdout)), []);
  });

  Deno.test(`Program exit: a child's daemon is terminated when its target returns, its non-daemon joined (${backend})`, async () => {
    const { code, stdout, stderr } = await run(backend, "nested-daemon");
    assert.equal(stderr, "");
    assert.deepEqual(afterMain(stdout), [
      "child target returns",
      "grandchild: the daemon has ended",
      "grandchild done",
      "exit codes: child 0",
    ]);
    assert.equal(code, 0);
  });

  Deno.test(`Program exit: the main module's daemon is terminated when it is done while a grandchild still runs (${backend})`, async () => {
    const { code, stdout, stderr } = await run(backend, "nested");
    assert.equal(stderr, "");
    assert.deepEqual(afterMain(stdout), [
      "grandchild: the daemon has ended",
      "grandchild done",
      "exit codes: daemon -15, child 0",
    ]);
    assert.equal(code, 0);
    assert.deepEqual(await gone(pidsOf(stdout)), []);
  });

  Deno.test(`Program exit: a forgotten Pool and Supervisor are neither terminated nor restarted while a non-daemon child is joined (${backend})`, async () => {
    const { code, stdout, stderr } = await run(backend, "forgotten-with-child");
    assert.equal(stderr, "");
    assert.deepEqual(afterMain(stdout), ["child done", "exit codes: child 0"]);
    assert.equal(code, 0);
    assert.deepEqual(await gone(pidsOf(stdout)), [], "children left alive");
  });

  Deno.test(`Program exit: Deno.exit() in the main module leaves no child running (${backend})`, async () => {
    const { code, stdout, stderr } = await run(backend, "deno-exit");
    assert.equal(stderr, "");
    assert.equal(code, 3);
    assert.doesNotMatch(stdout, /child done/);
    const pids = pidsOf(stdout);
    assert.equal(pids.length, backend === "subprocess" ? 2 : 0, `pids ${pids}`);
    assert.deepEqual(await gone(pids), [], "children left alive");
  });

  Deno.test(`Program exit: a sandboxed non-daemon child is joined; on the worker backend the daemon is terminated only after it (${backend})`, async () => {
    const { code, stdout, stderr } = await run(backend, "sandboxed", "await", [
      "-A",
      "--unstable-worker-options",
    ]);
    assert.equal(stderr, "");
    // A web Worker cannot be unref'd: the main module is seen done only once it has ended, so it waits
    // for the daemon's end in vain (2 s). A subprocess's sandbox is its flags: the rule holds there.
    const saw = backend === "worker" ? "the daemon still runs" : "the daemon has ended";
    assert.deepEqual(afterMain(stdout), [
      `sandboxed child: ${saw}`,
      "sandboxed child done",
      "exit codes: daemon -15, child 0",
    ]);
    assert.equal(code, 0);
    assert.deepEqual(await gone(pidsOf(stdout)), []);
  });

  Deno.test(`Program exit: a child sees \`self\`, whatever kind of worker runs it (${backend})`, async () => {
    const { code, stdout, stderr } = await run(backend, "globals");
    assert.match(stdout, /self: true\n/, stderr);
    assert.equal(code, 0);
  });
}
