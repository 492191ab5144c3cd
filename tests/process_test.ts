import assert from "node:assert/strict";
import { Process, ProcessError } from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, crashReport, reportFile, runScript, withReports } from "./_helpers.ts";
import * as targets from "./testdata/targets.ts";
import * as throwsAtImport from "./testdata/throws_at_import.ts";

const module = targets.MODULE;

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test("Process runs its target with structured-clone copies of its args", async () => {
    await using report = await reportFile();
    const args: [string, ...unknown[]] = [
      report.path,
      { nested: { list: [1, "two", null, true] } },
      new Map([["k", new Set([1, 2])]]),
      new Date(0),
      new Uint8Array([1, 2, 3]),
      /re/g,
      10n,
      undefined,
    ];
    const p = new Process({ target: targets.echoArgs, args, module, backend });
    await p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    const { inspected } = await report.read<{ inspected: string }>();
    assert.equal(inspected, Deno.inspect(args.slice(1), { depth: 10, sorted: true }));
  });

  test("Process.start() resolves once the target runs and sets pid", async () => {
    const p = new Process({ target: targets.forever, module, backend });
    assert.equal(p.pid, null);
    assert.equal(p.isAlive(), false);
    const started = p.start();
    assert.equal(typeof p.pid, "number");
    assert.equal(p.isAlive(), true);
    await started;
    assert.equal(p.isAlive(), true);
    assert.equal(p.exitCode, null);
    p.terminate();
    await p.join();
    assert.equal(p.isAlive(), false);
  });

  test("Process exit codes: 0 on return, n on Deno.exit(n) modulo 256, 0 on self.close()", async () => {
    const cases: [Process, number][] = [
      [new Process({ target: targets.noop, module, backend }), 0],
      [new Process({ target: targets.exitWith, args: [3], module, backend }), 3],
      [new Process({ target: targets.exitWith, args: [300], module, backend }), 44],
      [new Process({ target: targets.exitWith, args: [0], module, backend }), 0],
      [new Process({ target: targets.closeSelf, module, backend }), 0],
      [new Process({ module, backend }), 0],
    ];
    for (const [p] of cases) await p.start();
    for (const [p, code] of cases) {
      await p.join();
      assert.equal(p.exitCode, code, `${p.name} exit code`);
    }
  });

  test(
    "Process exit code is 1 for a throw, a rejection, an error in a timer or a background rejection",
    withReports([
      crashReport("TargetError: sync"),
      crashReport("TypeError: async"),
      crashReport("RangeError: timer"),
      crashReport("EvalError: background"),
    ], async () => {
      const crashing = [
        new Process({ target: targets.throwError, args: ["sync"], module, backend }),
        new Process({ target: targets.rejectAsync, args: ["async"], module, backend }),
        new Process({ target: targets.throwInTimer, args: ["timer"], module, backend }),
        new Process({ target: targets.rejectInBackground, args: ["background"], module, backend }),
      ];
      for (const p of crashing) await p.start();
      for (const p of crashing) {
        await p.join();
        assert.equal(p.exitCode, 1, `${p.name} exit code`);
      }
    }),
  );

  test("Process.terminate() gives -15 and kill() gives -9; both are no-ops after exit", async () => {
    const t = new Process({ target: targets.forever, module, backend });
    const k = new Process({ target: targets.forever, module, backend });
    await t.start();
    await k.start();
    t.terminate();
    k.kill();
    await t.join();
    await k.join();
    assert.equal(t.exitCode, -15);
    assert.equal(k.exitCode, -9);
    t.kill();
    k.terminate();
    assert.equal(t.exitCode, -15);
    assert.equal(k.exitCode, -9);
  });

  test("Process can be terminated before its start() resolves", async () => {
    const p = new Process({ target: targets.forever, module, backend });
    const started = p.start();
    p.terminate();
    await assert.rejects(started, ProcessError);
    await p.join();
    assert.equal(p.exitCode, -15);
  });

  test("Process.join(timeout) resolves undefined on timeout and polls at zero or less", async () => {
    const p = new Process({ target: targets.forever, module, backend });
    await p.start();
    assert.equal(await p.join(20), undefined);
    assert.equal(p.isAlive(), true);
    assert.equal(await p.join(0), undefined);
    assert.equal(await p.join(-1), undefined);
    assert.equal(p.exitCode, null);
    p.terminate();
    assert.equal(await p.join(), undefined);
    assert.equal(await p.join(), undefined, "a process can be joined again");
  });

  test("Process.join() rejects with the signal's reason when aborted", async () => {
    const p = new Process({ target: targets.forever, module, backend });
    await p.start();
    const controller = new AbortController();
    const joined = p.join(undefined, { signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assert.rejects(joined, { message: "stop waiting" });
    await assert.rejects(p.join(undefined, { signal: AbortSignal.abort(new Error("already")) }), {
      message: "already",
    });
    p.terminate();
    await p.join();
  });

  test("Process.exited resolves with the exit code", async () => {
    const p = new Process({ target: targets.exitWith, args: [5], module, backend });
    assert.throws(() => p.exited, ProcessError);
    await p.start();
    assert.equal(await p.exited, 5);
  });

  test("Process.close() refuses a running process and closes a finished one", async () => {
    const p = new Process({ target: targets.forever, module, backend });
    await p.start();
    assert.throws(() => p.close(), { name: "ProcessError", message: /still running/ });
    p.terminate();
    await p.join();
    p.close();
    p.close();
    assert.throws(() => p.isAlive(), { message: /closed/ });
    assert.throws(() => p.exitCode, { message: /closed/ });
    assert.throws(() => p.pid, { message: /closed/ });
    assert.throws(() => p.terminate(), { message: /closed/ });
    await assert.rejects(p.join(), { message: /closed/ });
    assert.match(p.name, /^Process-/);
  });

  test("Process with await using is terminated, joined and closed at scope end", async () => {
    let escaped: Process | undefined;
    {
      await using p = new Process({ target: targets.forever, module, backend });
      await p.start();
      escaped = p;
    }
    assert.throws(() => escaped.isAlive(), { message: /closed/ });
  });

  test("Process subclass runs run() in the child with its fields, without running its constructor", async () => {
    await using report = await reportFile();
    const before = targets.constructorRuns;
    const clock = new targets.Clock(5, report.path);
    assert.equal(targets.constructorRuns, before + 1);
    assert.match(clock.name, /^Clock-\d+$/);
    await clock.start();
    await clock.join();
    assert.equal(clock.exitCode, 0);
    assert.deepEqual(await report.read(), {
      ticks: [0, 1, 2],
      intervalMs: 5,
      name: clock.name,
      isCurrent: true,
      isClock: true,
      constructorRuns: 0,
    });
  });

  test(
    "Process.start() rejects, and the child exits 1, when the target is not exported",
    // Whoever awaits start() gets the error: it is not printed as well.
    withReports([], async () => {
      const hidden = targets.notExported();
      const p = new Process({ target: hidden, module, backend });
      await assert.rejects(p.start(), (error: Error) => {
        assert.ok(error instanceof ProcessError);
        assert.match(error.message, /Cannot find the target "hidden"/);
        assert.match(error.message, /must be a named export of its module\. Export it/);
        assert.equal((error.cause as Error).name, "ReferenceError");
        return true;
      });
      await p.join();
      assert.equal(p.exitCode, 1);

      const subclass = targets.makeHiddenClock();
      await assert.rejects(subclass.start(), /Cannot find the Process subclass "HiddenClock"/);
      await subclass.join();
      assert.equal(subclass.exitCode, 1);
    }),
  );

  test('Process.start() of an inline target says the target must be a named export, not that "target" is missing', async () => {
    const p = new Process({ target: (x: number) => x * 2, args: [1], module, backend });
    await assert.rejects(p.start(), (error: Error) => {
      assert.match(
        error.message,
        /Cannot find the target among the exports of \S+ as it is an inline function/,
      );
      assert.match(error.message, /must be a named export of its module/);
      assert.doesNotMatch(error.message, /"target"\) among|export function target/);
      return true;
    });
    await p.join();
    assert.equal(p.exitCode, 1);
  });

  test("Process.start()'s rejection shows the caller's frames and the child's, none of troupe's own", async () => {
    const p = new Process({ target: throwsAtImport.t, module: throwsAtImport.MODULE, backend });
    const error = await p.start().then(() => undefined, (e: Error) => e);
    await p.join();
    assert.ok(error instanceof ProcessError);
    const stack = error.stack ?? "";
    assert.match(stack, /process_test\.ts:\d+:\d+/, "the caller's frame");
    assert.doesNotMatch(stack, /\/src\//, "no frame of troupe's own");
    const cause = error.cause as Error;
    assert.match(
      cause.stack ?? "",
      /at failAtImport \(\S+throws_at_import\.ts:\d+:\d+\)/,
      "the child's frame",
    );
    assert.doesNotMatch(cause.stack ?? "", /\/src\/|ext:/);
    // Shown once: the rejection's header points to its cause rather than repeat it.
    const shown = Deno.inspect(error, { colors: false });
    assert.equal(shown.split("thrown at import on purpose").length - 1, 1, shown);
    assert.match(error.message, /thrown at import on purpose/, "its message still says it all");
  });

  test(
    "Process.start() rejects when the target module cannot be imported, keeping the error's class and fields",
    withReports([], async () => {
      const broken = "data:text/javascript,class BootError extends Error { name = 'BootError'; code = 42 };" +
        "throw new BootError('cannot boot', { cause: new RangeError('inner') }); export function t() {}";
      const p = new Process({ target: function t() {}, module: broken, backend });
      await assert.rejects(p.start(), (error: Error) => {
        const cause = error.cause as Error & { code: number };
        assert.equal(cause.name, "BootError");
        assert.equal(cause.message, "cannot boot");
        assert.equal(cause.code, 42);
        assert.ok(cause.cause instanceof RangeError);
        assert.match(cause.stack ?? "", /BootError: cannot boot/);
        return true;
      });
      await p.join();
      assert.equal(p.exitCode, 1);
    }),
  );

  test("Process.start() throws a TypeError naming the path of an argument that cannot be cloned", () => {
    const p = new Process({
      target: targets.echoArgs,
      args: ["unused", { onDone: () => {} }] as [string, ...unknown[]],
      module,
      backend,
    });
    assert.throws(() => p.start(), {
      name: "TypeError",
      message: /args\[1\]\.onDone is a function/,
    });
    assert.equal(p.isAlive(), false);
    return Promise.resolve();
  });

  test("Process starts many children at once without losing any start-up message", async () => {
    await using stack = new AsyncDisposableStack();
    const reports = await Promise.all(Array.from({ length: 8 }, async () => stack.use(await reportFile())));
    const processes = reports.map((report, i) =>
      new Process({ target: targets.echoArgs, args: [report.path, i], module, backend })
    );
    await Promise.all(processes.map((p) => p.start()));
    for (const p of processes) await p.join();
    for (const [i, report] of reports.entries()) {
      assert.deepEqual(await report.read(), { inspected: Deno.inspect([i], { depth: 10, sorted: true }) });
    }
  });
}

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test("Process.start() rejects, and the child exits 1, when the target's module does not exist", async () => {
    // Deno prints this failure itself, so it runs as a program of its own (see the script).
    const { code, stdout, stderr } = await runScript("deno_errors_script.ts", {
      args: ["missingModule", backend],
    });
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { started: "ProcessError", exitCode: 1 });
    assert.match(stderr, /Module not found ".*no_such_module\.ts"/);
  });

  test("every start() and exit settles exactly once, whenever processes are stopped", async () => {
    // A fixed-seed shuffle of stop moments: before start() resolves, right after, or never (the target returns).
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const plans = Array.from({ length: 12 }, () => ["early", "late", "natural"][Math.floor(random() * 3)]);
    const processes = plans.map((plan) =>
      new Process({ target: plan === "natural" ? targets.noop : targets.forever, module, backend })
    );
    const settled: string[] = [];
    const starts = processes.map((p, i) =>
      p.start().then(() => settled.push(`start ${i} ok`), () => settled.push(`start ${i} failed`))
    );
    for (const [i, p] of processes.entries()) if (plans[i] === "early") p.kill();
    await Promise.all(starts);
    for (const [i, p] of processes.entries()) if (plans[i] === "late") p.terminate();
    const codes = await Promise.all(processes.map((p) => p.exited));
    assert.equal(settled.length, processes.length, "each start() settled once");
    for (const [i, code] of codes.entries()) {
      const expected = { early: -9, late: -15, natural: 0 }[plans[i]!];
      assert.equal(code, expected, `process ${i} (${plans[i]})`);
      if (plans[i] === "natural") assert.ok(settled.includes(`start ${i} ok`));
    }
  });
}
