import assert from "node:assert/strict";
import { runScript } from "./_helpers.ts";

Deno.test("an uncaught error prints the child's stack under its name and leaves the parent running", async () => {
  const { code, stdout, stderr } = await runScript("crash_script.ts");
  assert.equal(code, 0);
  assert.match(stdout, /parent alive after crash: exitCode=1/);
  assert.match(stderr, /^Process Process-1:\nError: boom in child\n\s+at .*boom/m);
});

Deno.test("shutdown() terminates daemon children and waits for the others", async () => {
  const { code, stdout } = await runScript("exit_script.ts", { args: ["shutdown"] });
  assert.equal(code, 0);
  assert.match(stdout, /daemon started/);
  assert.match(stdout, /worker done\n[^]*main done: daemon exitCode=-15, worker exitCode=0/);
});

Deno.test("the program waits for non-daemon children after the main module ends", async () => {
  const { code, stdout } = await runScript("exit_script.ts", { args: ["natural"] });
  assert.equal(code, 0);
  assert.equal(stdout, "main done\nworker done\n");
});

Deno.test("Deno.exit() in the main module ends every child at once", async () => {
  const { code, stdout } = await runScript("exit_script.ts", { args: ["deno-exit"] });
  assert.equal(code, 3);
  assert.doesNotMatch(stdout, /worker done/);
});

Deno.test("a main module with a top-level await: the child runs the target only once the module is done", async () => {
  const { code, stdout, stderr } = await runScript("top_level_await_script.ts");
  assert.equal(code, 0, stderr);
  assert.equal(
    stdout,
    "child sees: initialized\nworker exit code 0\nchild sees: initialized\nsubprocess exit code 0\n",
  );
});

Deno.test("a child re-imports the main module: top-level code runs again, import.meta.main code does not", async () => {
  const { code, stdout } = await runScript("main_guard_script.ts");
  assert.equal(code, 0);
  assert.equal(
    stdout,
    "top-level ran in MainProcess\nmain block ran\ntop-level ran in Process-1\n" +
      "target ran in Process-1, import.meta.main=false\n",
  );
});

Deno.test("a process started at module level fails in the child instead of forking again", async () => {
  const { code, stdout, stderr } = await runScript("unguarded_script.ts");
  assert.equal(code, 0);
  assert.match(stdout, /start failed: .*import\.meta\.main/);
  assert.match(stdout, /exitCode=1/);
  // Reported once: the parent awaited start(), so the rejection it caught is the report.
  assert.doesNotMatch(stderr, /Process Process-1:/);
});
