import assert from "node:assert/strict";
import {
  activeChildren,
  cpuCount,
  currentProcess,
  parentProcess,
  Process,
  ProcessError,
  shutdown,
} from "../mod.ts";
import { liveProcesses, withLeakCheck } from "../src/testing.ts";
import { BACKENDS, reportFile, waitForReport } from "./_helpers.ts";
import * as targets from "./testdata/targets.ts";

const module = targets.MODULE;

interface WhoAmI {
  name: string;
  pid: number;
  daemon: boolean;
  alive: boolean;
  exitCode: number | null;
  parentName: string | null;
  parentPid: number | null;
  parentAlive: boolean | null;
}

Deno.test("currentProcess() is MainProcess and parentProcess() is null in the main module", () => {
  const self = currentProcess();
  assert.equal(self.name, "MainProcess");
  assert.equal(self.pid, Deno.pid);
  assert.equal(self.daemon, false);
  assert.equal(self.isAlive(), true);
  assert.equal(self.exitCode, null);
  assert.equal(currentProcess(), self);
  assert.equal(parentProcess(), null);
  assert.throws(() => self.start(), ProcessError);
  assert.throws(() => self.terminate(), ProcessError);
  assert.ok(Number.isInteger(cpuCount()) && cpuCount() >= 1);
  assert.equal(cpuCount(), navigator.hardwareConcurrency);
});

Deno.test("currentProcess().join() rejects: a process cannot join itself", async () => {
  await assert.rejects(currentProcess().join(), { name: "ProcessError", message: /current process/ });
});

Deno.test("Process names count up per creating process, subclasses use their class name", () => {
  const a = new Process();
  const b = new Process();
  const na = Number(a.name.split("-")[1]);
  assert.equal(b.name, `Process-${na + 1}`);
  assert.equal(new Process({ name: "custom" }).name, "custom");
  class Worker2 extends Process {}
  assert.equal(new Worker2().name, `Worker2-${na + 3}`);
});

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test("a child sees itself as currentProcess() and its parent as parentProcess()", async () => {
    await using report = await reportFile();
    const p = new Process({ target: targets.whoAmI, args: [report.path], module, backend, daemon: true });
    await p.start();
    await p.join();
    assert.deepEqual(await report.read<WhoAmI>(), {
      name: p.name,
      pid: p.pid,
      daemon: true,
      alive: true,
      exitCode: null,
      parentName: "MainProcess",
      parentPid: Deno.pid,
      parentAlive: true,
    });
  });

  test("activeChildren() lists started children until they end", async () => {
    const p = new Process({ target: targets.forever, module, backend });
    assert.ok(!activeChildren().includes(p));
    await p.start();
    assert.ok(activeChildren().includes(p));
    p.terminate();
    await p.join();
    assert.ok(!activeChildren().includes(p));
  });

  test("a child's child is named Process-N:1, hosted by the root, and reported to its own parent", async () => {
    await using report = await reportFile();
    await using grandchild = await reportFile();
    const p = new Process({
      target: targets.spawnChild,
      args: [report.path, grandchild.path],
      module,
      backend,
    });
    await p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    const seen = await report.read<{
      kidName: string;
      kidExitCode: number;
      whileRunning: string[];
      afterJoin: string[];
    }>();
    assert.equal(seen.kidName, `${p.name}:1`);
    assert.equal(seen.kidExitCode, 0);
    assert.deepEqual(seen.whileRunning, [seen.kidName]);
    assert.deepEqual(seen.afterJoin, []);
    const kid = await grandchild.read<WhoAmI>();
    assert.equal(kid.name, `${p.name}:1`);
    assert.equal(kid.parentName, p.name);
    assert.equal(kid.parentAlive, true);
  });

  test("a child can terminate its own child", async () => {
    await using report = await reportFile();
    const p = new Process({ target: targets.terminateGrandchild, args: [report.path], module, backend });
    await p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.deepEqual(await report.read(), { exitCode: -15 });
  });

  test("a child that returns terminates its daemon children and waits for the others", async () => {
    await using report = await reportFile();
    await using finished = await reportFile();
    const p = new Process({
      target: targets.leaveGrandchildren,
      args: [report.path, finished.path, 100],
      module,
      backend,
    });
    await p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    // The non-daemon grandchild finished before its parent's exit was reported.
    assert.deepEqual(await finished.read(), { finished: true });
    assert.deepEqual(liveProcesses(), []);
  });

  test("parentProcess() in a child's child follows its parent's death", async () => {
    await using ready = await reportFile();
    await using seen = await reportFile();
    const p = new Process({ target: targets.holdWaiter, args: [ready.path, seen.path], module, backend });
    await p.start();
    await waitForReport(ready.path);
    p.terminate();
    await p.join();
    await waitForReport(seen.path);
    assert.deepEqual(await seen.read(), { aliveBefore: true, aliveAfter: false });
    await shutdown();
  });

  test("a daemon process cannot start children", async () => {
    await using report = await reportFile();
    const p = new Process({
      target: targets.tryStartChild,
      args: [report.path],
      module,
      backend,
      daemon: true,
    });
    await p.start();
    await p.join();
    const seen = await report.read<{ error: string; message: string }>();
    assert.equal(seen.error, "ProcessError");
    assert.match(seen.message, /daemonic processes are not allowed to have children/);
  });

  test("terminating a parent leaves its children running as orphans", async () => {
    await using report = await reportFile();
    await using finished = await reportFile();
    const p = new Process({
      target: targets.holdGrandchildren,
      args: [report.path, finished.path, 500],
      module,
      backend,
    });
    // holdGrandchildren reports once both grandchildren run.
    await p.start();
    await waitForReport(report.path);
    p.terminate();
    await p.join();
    const orphans = liveProcesses().filter((o) => o.owner !== 0);
    assert.equal(orphans.length, 2, "both grandchildren outlive a terminated parent");
    assert.deepEqual(new Set(orphans.map((o) => o.daemon)), new Set([true, false]));
    await shutdown();
    assert.deepEqual(liveProcesses(), []);
    assert.deepEqual(await finished.read(), { finished: true });
  });
}

Deno.test("Process rejects bad arguments with errors that say what to do", async () => {
  const bad: [unknown, RegExp][] = [
    [{ target: 42 }, /target must be a function/],
    [{ target: class Foo {} }, /subclass Process and override run\(\)/],
    [{ target: (() => () => {})() }, /anonymous or bound function/],
    [{ target: function named() {}.bind(null) }, /anonymous or bound function/],
    [{ args: "abc" }, /args must be an array/],
    [{ name: 7 }, /name must be a string/],
    [{ daemon: "yes" }, /daemon must be a boolean/],
    [{ backend: "thread" }, /backend must be "worker"/],
    [{ module: "./relative.ts" }, /module must be an absolute URL/],
    [{ kwargs: {} }, /"kwargs" is not an option/],
    [null, /options must be an object/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => new Process(options as never), { name: "TypeError", message }, String(message));
  }
  const p = new Process();
  assert.throws(() => (p.name = 1 as unknown as string), TypeError);
  assert.throws(() => (p.daemon = 1 as unknown as boolean), TypeError);
  assert.throws(() => p.terminate(), { name: "ProcessError", message: /never started/ });
  assert.throws(() => p.kill(), { name: "ProcessError", message: /never started/ });
  await assert.rejects(p.join(), { name: "ProcessError", message: /before start/ });
  await assert.rejects(p.join("1" as unknown as number), TypeError);
  await withLeakCheck(async () => {
    await p.start();
    assert.throws(() => p.start(), { name: "ProcessError", message: /twice/ });
    assert.throws(() => (p.daemon = true), { name: "ProcessError", message: /already started/ });
    await p.join();
  })();
});
