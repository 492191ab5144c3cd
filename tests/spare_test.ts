import assert from "node:assert/strict";
import { Process, shutdown } from "../mod.ts";
import { runtime } from "../src/runtime/_runtime.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, reportFile } from "./_helpers.ts";
import * as targets from "./testdata/targets.ts";

const module = targets.MODULE;

for (const backend of BACKENDS) {
  Deno.test(
    `[${backend}] a pre-started spare becomes the next process, with its name, args and parent`,
    withLeakCheck(async () => {
      const hosting = runtime.hosting!;
      await hosting.prestart(backend, 1);
      assert.equal(hosting.spares, 1);
      await using report = await reportFile();
      const p = new Process({ target: targets.whoAmI, args: [report.path], module, backend });
      await p.start();
      assert.equal(hosting.spares, 0, "the spare was used");
      await p.join();
      assert.equal(p.exitCode, 0);
      const seen = await report.read<{ name: string; pid: number; parentName: string }>();
      assert.equal(seen.name, p.name);
      assert.equal(seen.pid, p.pid);
      assert.equal(seen.parentName, "MainProcess");
    }),
  );

  Deno.test(`[${backend}] a spare is not used for a sandboxed child, and shutdown() releases it`, async () => {
    const hosting = runtime.hosting!;
    await hosting.prestart(backend, 1);
    const p = new Process({
      target: targets.exitWith,
      args: [4],
      module,
      backend: "subprocess",
      memoryLimitMb: 64,
    });
    await p.start();
    await p.join();
    assert.equal(p.exitCode, 4);
    assert.equal(hosting.spares, 1, "a memory-limited child needs its own process");
    await shutdown();
    assert.equal(hosting.spares, 0);
  });
}
