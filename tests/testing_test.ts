import assert from "node:assert/strict";
import { Process } from "../mod.ts";
import { liveProcesses, ProcessLeakError, withLeakCheck } from "../src/testing.ts";
import * as targets from "./testdata/targets.ts";

const module = targets.MODULE;

Deno.test("withLeakCheck() fails a test that leaves a process running, and kills it", async () => {
  let leaked: Process | undefined;
  const leaky = withLeakCheck(async () => {
    leaked = new Process({ target: targets.forever, module, name: "leaky" });
    await leaked.start();
  });
  await assert.rejects(leaky(), (error: Error) => {
    assert.ok(error instanceof ProcessLeakError);
    assert.deepEqual(error.leaked.map((p) => p.name), ["leaky"]);
    assert.match(error.message, /leaky/);
    return true;
  });
  assert.deepEqual(liveProcesses(), []);
  await leaked!.join();
  assert.equal(leaked!.exitCode, -9);
});

Deno.test("withLeakCheck() rethrows the test's own failure after cleaning up", async () => {
  const failing = withLeakCheck(async () => {
    await new Process({ target: targets.forever, module }).start();
    throw new Error("the test's own failure");
  });
  await assert.rejects(failing(), { message: "the test's own failure" });
  assert.deepEqual(liveProcesses(), []);
});

Deno.test("withLeakCheck() passes a test that joins what it starts", async () => {
  await withLeakCheck(async () => {
    const p = new Process({ target: targets.noop, module });
    await p.start();
    await p.join();
  })();
});
