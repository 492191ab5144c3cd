import assert from "node:assert/strict";
import { AccessDeniedError, NoSuchProcessError, pids, Process, ProcessError, processInfo } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import * as targets from "./testdata/targets.ts";

const linux = Deno.build.os === "linux";

Deno.test({
  name: "processInfo() describes this process as psutil would",
  ignore: !linux,
  fn: async () => {
    const me = await processInfo();
    assert.equal(me.pid, Deno.pid);
    assert.equal(me.name, "deno");
    assert.equal(me.exe, Deno.execPath());
    assert.equal(me.cwd, Deno.cwd());
    assert.equal(me.cmdline[0]?.endsWith("deno"), true);
    assert.ok(["running", "sleeping"].includes(me.status), me.status);
    assert.ok(me.username.length > 0);
    assert.ok(me.createTime.getTime() <= Date.now() && me.createTime.getTime() > Date.now() - 24 * 3600_000);
    assert.ok(me.cpuTimes.user + me.cpuTimes.system > 0);
    assert.ok(me.memory.rss > 1 << 20 && me.memory.vms >= me.memory.rss);
    assert.ok(me.numThreads >= 1);
    assert.ok(Array.isArray(me.openFiles));
  },
});

Deno.test({
  name: "pids() lists every process, this one and its parent included",
  ignore: !linux,
  fn: async () => {
    const all = await pids();
    const me = await processInfo();
    assert.ok(all.includes(Deno.pid) && all.includes(me.ppid));
    assert.deepEqual(all, [...all].sort((a, b) => a - b));
  },
});

Deno.test({
  name: "processInfo() of a missing pid rejects with NoSuchProcessError, of a bad one with RangeError",
  ignore: !linux,
  fn: async () => {
    await assert.rejects(processInfo(2 ** 30), (error) => {
      assert.ok(error instanceof NoSuchProcessError && error instanceof ProcessError);
      assert.equal(error.pid, 2 ** 30);
      return true;
    });
    await assert.rejects(processInfo(-1), RangeError);
    await assert.rejects(processInfo(1.5), RangeError);
    assert.equal(new AccessDeniedError(7).pid, 7);
  },
});

Deno.test({
  name: "processInfo() of a subprocess child names this process as its parent",
  ignore: !linux,
  fn: withLeakCheck(async () => {
    const child = new Process({ target: targets.forever, module: targets.MODULE, backend: "subprocess" });
    await child.start();
    try {
      const info = await processInfo(child.pid!);
      assert.equal(info.ppid, Deno.pid);
      assert.equal(info.name, "deno");
      assert.ok(info.cmdline.includes("run"));
    } finally {
      child.terminate();
      await child.join();
    }
  }),
});
