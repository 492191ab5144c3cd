/**
 * Sandboxes hold (issue 22, items 1 and 7): a process never gets more than
 * the process that asked for it, whoever hosts it, on either backend, at
 * any depth, through pools, supervisors, managers and spares; and a Pool
 * works inside a sandbox without read permission.
 *
 * Each test runs `testdata/sandbox_script.ts` as a program of its own: it
 * starts a child with every permission denied, in which an attacker reads
 * /etc/hostname, writes a temp file, runs `id`, reads HOME and connects to
 * a local port, and prints what it could do (or why its start was refused).
 */

import assert from "node:assert/strict";
import { runScript } from "./_helpers.ts";

/** What an attacker in a sandbox must see. */
const DENIED = "read=NotCapable write=NotCapable run=NotCapable env=NotCapable net=NotCapable";

/** How the root refuses a worker it cannot sandbox. */
const NEEDS_WORKER_OPTIONS =
  /Cannot start \S+ as a worker in the sandbox of \S+ without Deno's worker-options feature \(the worker would hold all the program holds\): run deno with --unstable-worker-options \(or add "unstable": \["worker-options"\] to deno.json\), or use backend: "subprocess"/;

/** How the root refuses to load, for a sandboxed process's child, a module that process may not read. */
const MODULE_REFUSED =
  /RangeError: Cannot start \S+ from module data:text\/javascript,\S+ as its parent \S+ may not load it \(its sandbox denies read or import\): start it from a module \S+ was started from or the main module, or grant \S+ all of read and import/;

interface Run {
  /** The backend of the sandboxed child. */
  readonly backend: "worker" | "subprocess";
  /** Whether the program runs with Deno's worker-options feature. */
  readonly workerOptions: boolean;
  /** What the sandbox denies: everything (the default), or only net. */
  readonly sandbox?: "nothing" | "no-net";
}

/** Runs the scenarios, each in a sandboxed child of its own; returns what the program printed. */
async function attack(
  scenarios: string[],
  { backend, workerOptions, sandbox = "nothing" }: Run,
): Promise<string> {
  const { code, stdout, stderr } = await runScript("sandbox_script.ts", {
    flags: workerOptions ? ["-A", "--unstable-worker-options"] : ["-A"],
    args: [scenarios.join(","), backend, sandbox],
  });
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "", "nothing crashed");
  assert.doesNotMatch(stdout, /allowed/, "no attempt of any attacker succeeded");
  assert.doesNotMatch(stdout, /a spare served/, "no spare served a sandboxed request");
  for (const scenario of scenarios) {
    assert.match(stdout, new RegExp(`^sandbox ${scenario} exited with 0$`, "m"));
  }
  return stdout;
}

/** Asserts the attacker `where` ran and was denied everything. */
function assertDenied(stdout: string, where: string): void {
  assert.ok(stdout.split("\n").includes(`attack ${where}: ${DENIED}`), `${where} denied in:\n${stdout}`);
}

/** Asserts the start of attacker `where` was refused, with `reason`. */
function assertRefused(stdout: string, where: string, reason: RegExp): void {
  const line = stdout.split("\n").find((l) => l.startsWith(`refused ${where}: `));
  assert.ok(line, `${where} refused in:\n${stdout}`);
  assert.match(line, reason);
}

/** How many times the attacker `where` ran and was denied everything. */
function deniedCount(stdout: string, where: string): number {
  return stdout.split("\n").filter((line) => line === `attack ${where}: ${DENIED}`).length;
}

/** Every way below a sandbox: each scenario's attacker must be denied everything. */
const BELOW = [
  "worker",
  "subprocess",
  "spare-worker",
  "spare-subprocess",
  "deeper-worker",
  "deeper-subprocess",
  "supervisor",
  "manager",
];

/** Asserts that below a sandboxed child of `backend`, every process gets no more than it. */
async function assertHoldsBelow(backend: Run["backend"]): Promise<void> {
  const stdout = await attack(BELOW, { backend, workerOptions: true });
  for (const where of ["worker", "subprocess", "spare-worker", "spare-subprocess", "supervisor", "manager"]) {
    assertDenied(stdout, `${where} at depth 0`);
  }
  // Once below the sandbox's worker child, once below its OS process child.
  assert.equal(deniedCount(stdout, "worker at depth 1"), 2);
}

Deno.test("[attack] below a sandboxed OS process, every process gets no more than it, at any depth", () =>
  assertHoldsBelow("subprocess"));

Deno.test("[attack] without worker-options, a worker below a sandbox is refused, saying what to do", async () => {
  const stdout = await attack(
    ["worker", "supervisor", "manager", "deeper-subprocess", "subprocess"],
    { backend: "subprocess", workerOptions: false },
  );
  for (const where of ["worker", "supervisor", "manager"]) {
    assertRefused(stdout, `${where} at depth 0`, NEEDS_WORKER_OPTIONS);
  }
  assertRefused(stdout, "worker at depth 1", NEEDS_WORKER_OPTIONS);
  assertDenied(stdout, "subprocess at depth 0");
});

Deno.test("[attack] a sandboxed worker's children get no more than it, on either backend and deeper", () =>
  assertHoldsBelow("worker"));

Deno.test("[attack] a sandbox cannot have the root load, for its child, a module it may not read", async () => {
  // A data: module whose code is the attacker's, or that imports a JSON file the sandbox may not read.
  const scenarios = ["worker-data", "subprocess-data", "steal-worker", "steal-subprocess"];
  for (const backend of ["subprocess", "worker"] as const) {
    const stdout = await attack(scenarios, { backend, workerOptions: true });
    for (const where of scenarios) assertRefused(stdout, `${where} at depth 0`, MODULE_REFUSED);
    assert.doesNotMatch(stdout, /stole/);
  }
  // Where the sandbox may read, the same module is loaded: the attack is real.
  const { stdout } = await runScript("sandbox_script.ts", {
    flags: ["-A", "--unstable-worker-options"],
    args: ["steal-worker,steal-subprocess", "subprocess", "no-net"],
  });
  assert.equal(stdout.split("\n").filter((line) => line.startsWith("stole {")).length, 2, stdout);
});

Deno.test("[attack] the root decides from its own records, not from what a sandboxed child claims", async () => {
  // The child rewrites its spawn requests: no sandbox and every permission.
  const stdout = await attack(["forged-all"], { backend: "subprocess", workerOptions: true });
  const refusals = stdout.split("\n").filter((line) => line.startsWith("refused "));
  assert.equal(refusals.length, 2, stdout);
  for (const line of refusals) {
    assert.match(
      line,
      /RangeError: Cannot start \S+ with permissions\.read as its parent Process-1 does not hold it/,
    );
  }
});

Deno.test("[attack] a sandboxed child whose spawn request is malformed is killed, and nothing it asked for runs", async () => {
  // A set that is no permission set, or a memory limit that would pass V8 --allow-natives-syntax (its
  // internals) on the grandchild's command line: the message is refused as it arrives (`_validate.ts`).
  const { code, stdout, stderr } = await runScript("sandbox_script.ts", {
    flags: ["-A", "--unstable-worker-options"],
    args: ["forged-shape,forged-v8", "subprocess", "nothing"],
  });
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stdout, /allowed/, stdout);
  assert.match(stdout, /^sandbox forged-shape exited with -9$/m);
  assert.match(stdout, /^sandbox forged-v8 exited with -9$/m);
  const reports = stderr.trim().split("\n");
  assert.equal(reports.length, 4, stderr);
  assert.ok(
    reports.includes(
      'Cannot accept its "spawn" message as spec.host.permissions.read is "yes", not true, false or a list of ' +
        "non-empty strings; killing it",
    ),
    stderr,
  );
  assert.ok(
    reports.includes(
      'Cannot accept its "spawn" message as spec.host.memoryLimitMb is "64,--allow-natives-syntax", not an ' +
        "integer from 1; killing it",
    ),
    stderr,
  );
});

for (const backend of ["subprocess", "worker"] as const) {
  Deno.test(`[${backend} sandbox] a Pool in a sandbox without read maps, and its workers get no more`, async () => {
    const stdout = await attack(["pool-worker", "pool-subprocess"], { backend, workerOptions: true });
    assert.match(stdout, /^pool map worker: \[2,4,6\]$/m);
    assert.match(stdout, /^pool map subprocess: \[2,4,6\]$/m);
    assertDenied(stdout, "pool-worker at depth 0");
    assertDenied(stdout, "pool-subprocess at depth 0");
  });
}

Deno.test("[subprocess sandbox] without worker-options, a sandbox's Pool of workers is refused saying why", async () => {
  const stdout = await attack(["pool-worker", "pool-subprocess"], {
    backend: "subprocess",
    workerOptions: false,
  });
  assertRefused(stdout, "pool-worker at depth 0", NEEDS_WORKER_OPTIONS);
  assert.match(stdout, /^pool map subprocess: \[2,4,6\]$/m);
  assertDenied(stdout, "pool-subprocess at depth 0");
});
