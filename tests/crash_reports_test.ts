// How troupe reports crashes and start failures, read from the stderr of programs of their own.
import assert from "node:assert/strict";
import { BACKENDS, runScript } from "./_helpers.ts";

const SCRIPT = "crash_reports_script.ts";
/** A report troupe made, in either form: "Process name:\n…" or "Process name: …". */
const REPORT = /^Process [^\n]+?:(\n| )/gm;

function reportsIn(stderr: string): number {
  return stderr.match(REPORT)?.length ?? 0;
}

for (const backend of BACKENDS) {
  Deno.test(`[${backend}] a start failure someone awaits is one report: the rejection, with the user's frames`, async () => {
    const runs = await Promise.all(
      ["throws", "inline", "syntax"].map((kind) =>
        runScript(SCRIPT, { args: ["start", backend, kind, "await"] })
      ),
    );
    for (const [i, { code, stdout, stderr }] of runs.entries()) {
      const kind = ["throws", "inline", "syntax"][i];
      assert.equal(code, 0, `${kind}: ${stderr}`);
      assert.match(stdout, /exit code 1/);
      assert.equal(reportsIn(stderr), 0, `${kind}: troupe printed nothing of its own: ${stderr}`);
      assert.match(stdout, /^ProcessError: Cannot start Process-1/m, kind);
      assert.match(stdout, /crash_reports_script\.ts:\d+:\d+/, `${kind}: the caller's frame`);
      assert.doesNotMatch(stdout, /\/src\/|ext:/, `${kind}: no frame of troupe's own`);
    }
    const [throws, inline] = runs;
    assert.match(throws!.stdout, /\[cause\]: Error: thrown at import on purpose\n\s+at failAtImport/);
    assert.equal(throws!.stdout.split("thrown at import on purpose").length - 1, 1, throws!.stdout);
    assert.match(inline!.stdout, /inline function \(named "target" after the option\)/);
  });

  Deno.test(`[${backend}] a start failure nobody awaits is printed once, with the user's frames`, async () => {
    const [throws, inline] = await Promise.all(
      ["throws", "inline"].map((kind) => runScript(SCRIPT, { args: ["start", backend, kind, "ignore"] })),
    );
    assert.equal(reportsIn(throws!.stderr), 1, throws!.stderr);
    assert.match(
      throws!.stderr,
      /^Process Process-1:\nError: thrown at import on purpose\n\s+at failAtImport/m,
    );
    assert.doesNotMatch(throws!.stderr, /\/src\/|ext:/);
    assert.equal(reportsIn(inline!.stderr), 1, inline!.stderr);
    assert.match(inline!.stderr, /ReferenceError: Cannot find the target among the exports/);
  });
}

Deno.test("a module that does not parse is reported by Deno alone, and start() rejects saying the child failed", async () => {
  for (const backend of BACKENDS) {
    const { stdout, stderr } = await runScript(SCRIPT, { args: ["start", backend, "syntax", "ignore"] });
    assert.equal(reportsIn(stderr), 0, stderr);
    assert.equal(stderr.split("SyntaxError").length - 1, 1, stderr);
    assert.match(stdout, /exit code 1/);
  }
});

Deno.test("a supervisor reports each crash of its child in one line by default, with the error's first frame", async () => {
  const { stdout, stderr } = await runScript(SCRIPT, { args: ["supervised", "line"] });
  assert.match(stdout, /gave up: SupervisorError/);
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 3, stderr);
  for (const line of lines) {
    assert.match(
      line,
      /^Process Supervisor:crasher: Error: crashed on purpose \(at file:\S+crash_reports_script\.ts:\d+:\d+\)$/,
    );
  }
});

Deno.test('a supervisor with crashReports "stack" prints each stack, "none" nothing, a function gets each crash', async () => {
  const [stack, none, callback] = await Promise.all(
    ["stack", "none", "callback"].map((mode) => runScript(SCRIPT, { args: ["supervised", mode] })),
  );
  assert.equal(reportsIn(stack!.stderr), 3, stack!.stderr);
  assert.match(
    stack!.stderr,
    /^Process Supervisor:crasher:\nError: crashed on purpose\n\s+at (Process\.)?crashAfterStart/m,
  );
  assert.equal(none!.stderr, "");
  assert.match(none!.stdout, /gave up: SupervisorError/);
  assert.equal(callback!.stderr, "");
  assert.equal(
    callback!.stdout.split("\n").filter((line) =>
      line === "callback: Supervisor:crasher: Error: crashed on purpose"
    )
      .length,
    3,
    callback!.stdout,
  );
});

Deno.test("a pool reports a worker's crash in one line by default; crashReports quiets or takes them", async () => {
  const [line, none, callback] = await Promise.all(
    ["line", "none", "callback"].map((mode) => runScript(SCRIPT, { args: ["pool", mode] })),
  );
  for (const run of [line, none, callback]) assert.match(run!.stdout, /map failed: PoolClosedError/);
  const lines = line!.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 3, line!.stderr);
  for (const text of lines) {
    assert.match(
      text,
      /^Process PoolWorker-\d+: RangeError: the initializer failed on purpose \(at file:\S+crash_reports_script\.ts:\d+:\d+\)$/,
    );
  }
  assert.equal(none!.stderr, "");
  assert.equal(callback!.stderr, "");
  assert.equal(
    callback!.stdout.split("\n").filter((l) =>
      /^callback: PoolWorker-\d+: RangeError: the initializer failed/.test(l)
    )
      .length,
    3,
  );
});

Deno.test("Supervisor and Pool refuse a crashReports that is not one of the ways", async () => {
  const { Pool, Supervisor } = await import("../mod.ts");
  assert.throws(() => new Supervisor({ crashReports: "loud" as "line" }), {
    name: "TypeError",
    message: /^Supervisor: crashReports must be "stack", "line", "none" or a function, not loud$/,
  });
  assert.throws(() => new Pool({ processes: 1, crashReports: 1 as unknown as "line" }), {
    name: "TypeError",
    message: /^Pool: crashReports must be "stack", "line", "none" or a function, not 1$/,
  });
});
