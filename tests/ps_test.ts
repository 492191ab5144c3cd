/**
 * ps(): one row per live troupe process, with what its registry, its
 * creator, its own answer to a probe and /proc say about it. Plain
 * processes, busy ones, pool workers, supervised children, and ps() called
 * from a child. The targets are in testdata/ps_targets.ts; a module that
 * holds a worker in "starting" is testdata/ps_slow_module.ts.
 */

import assert from "node:assert/strict";
import {
  type Backend,
  Barrier,
  type ChildSpec,
  Process,
  type ProcessStatus,
  ps,
  Queue,
  RawArray,
  Supervisor,
  type SupervisorEventDetail,
  WorkerCrashedError,
} from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { holdWhile } from "../src/core/_keep_alive.ts";
import {
  BACKENDS,
  crashReport,
  joined,
  PATIENCE_MS,
  waitForReport,
  within,
  withReports,
} from "./_helpers.ts";
import * as targets from "./testdata/ps_targets.ts";
import * as actorTargets from "./testdata/actor_targets.ts";
import * as slow from "./testdata/ps_slow_module.ts";
import * as poolTargets from "./testdata/pool_targets.ts";
import { pool, tempDir } from "./testdata/pool_helpers.ts";

const module = targets.MODULE;
const linux = Deno.build.os === "linux";

/** Every field a row has. */
const FIELDS = [
  "backend",
  "cpuTime",
  "heapUsed",
  "mailbox",
  "name",
  "parent",
  "pid",
  "restarts",
  "rss",
  "status",
  "tasksDone",
  "uptimeMs",
];

/** A snapshot in which every process that can answer has ample time to. */
function snapshot(): Promise<ProcessStatus[]> {
  return within(ps({ timeoutMs: PATIENCE_MS }), PATIENCE_MS * 2);
}

/** The one row named `name` in `rows`. */
function rowOf(rows: readonly ProcessStatus[], name: string): ProcessStatus {
  const found = rows.filter((row) => row.name === name);
  assert.equal(found.length, 1, `one row for ${name} in ${Deno.inspect(rows.map((r) => r.name))}`);
  return found[0]!;
}

/** Checks `cpuTime`: seconds where Linux's /proc gives them. */
function assertCpuTime(row: ProcessStatus): void {
  if (!linux) return;
  assert.notEqual(row.cpuTime, null, `${row.name} has a CPU time`);
  const { user, system } = row.cpuTime!;
  assert.ok(Number.isFinite(user) && user >= 0, `user ${user}`);
  assert.ok(Number.isFinite(system) && system >= 0, `system ${system}`);
}

/** Checks what a row says about memory for its backend, when the process answered its probe. */
function assertMemory(row: ProcessStatus, backend: Backend): void {
  if (backend === "worker") {
    assert.equal(row.rss, null, "a worker has no rss of its own");
    assert.ok(typeof row.heapUsed === "number" && row.heapUsed > 0, `heapUsed ${row.heapUsed}`);
  } else {
    assert.ok(typeof row.rss === "number" && row.rss > 0, `rss ${row.rss}`);
    assert.equal(row.heapUsed, null, "a subprocess reports no heap");
  }
}

/** Resolves with the detail of the next `type` event of `sup`. */
function nextEvent(sup: Supervisor, type: SupervisorEventDetail["type"]): Promise<SupervisorEventDetail> {
  return new Promise((resolve) =>
    sup.addEventListener(type, (event) => resolve((event as CustomEvent<SupervisorEventDetail>).detail), {
      once: true,
    })
  );
}

// ---------------------------------------------------------------------------
// Without processes
// ---------------------------------------------------------------------------

Deno.test(
  "ps() lists nothing when no troupe process is alive: the main process is not listed",
  withLeakCheck(async () => {
    assert.deepEqual(await snapshot(), []);
    assert.deepEqual(await within(ps()), []);
  }),
);

Deno.test("ps() throws at once for a timeoutMs that is not a number >= 0: a TypeError for NaN", () => {
  const table: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [-1, RangeError, /timeoutMs must be a number >= 0/],
    [-Infinity, RangeError, /timeoutMs must be a number >= 0/],
    ["x", TypeError, /timeoutMs must be a number of milliseconds/],
    [NaN, TypeError, /timeoutMs must be a number of milliseconds/],
    [null, TypeError, /timeoutMs must be a number of milliseconds/],
  ];
  for (const [timeoutMs, kind, message] of table) {
    assert.throws(
      () => ps({ timeoutMs: timeoutMs as number }),
      (error) => {
        assert.ok(error instanceof kind, `timeoutMs ${String(timeoutMs)}: ${error}`);
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

Deno.test("ps() rejects with the signal's reason, aborted before or during the snapshot", async () => {
  const reason = new Error("no snapshot today");
  await assert.rejects(ps({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  const controller = new AbortController();
  const pending = ps({ signal: controller.signal });
  const later = new Error("changed my mind");
  controller.abort(later);
  await assert.rejects(pending, (error) => error === later);
  // A signal that is never aborted changes nothing.
  assert.deepEqual(await ps({ signal: new AbortController().signal }), []);
});

// ---------------------------------------------------------------------------
// With processes, on each backend
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`ps(): ${name} (${backend})`, withLeakCheck(fn));

  test("a started process is listed with its facts, and is gone after join", async () => {
    const gate = new Queue<unknown>();
    const p = new Process({ target: targets.waitFor, args: [gate], module, backend });
    const before = performance.now();
    await p.start();
    try {
      const rows = await snapshot();
      const elapsed = performance.now() - before;
      assert.equal(rows.length, 1, Deno.inspect(rows));
      const row = rowOf(rows, p.name);
      assert.deepEqual(Object.keys(row).sort(), FIELDS);
      assert.match(row.name, /^Process-\d+$/);
      assert.equal(row.pid, p.pid);
      if (backend === "worker") assert.equal(row.pid, Deno.pid);
      else assert.notEqual(row.pid, Deno.pid);
      assert.equal(row.parent, "MainProcess");
      assert.equal(row.backend, backend);
      assert.equal(row.status, "running");
      assert.ok(
        row.uptimeMs >= 0 && row.uptimeMs <= Math.ceil(elapsed),
        `uptime ${row.uptimeMs} of ${elapsed}`,
      );
      assert.equal(row.restarts, 0);
      assert.equal(row.mailbox, 0);
      assert.equal(row.tasksDone, null);
      // The snapshot is the caller's own array.
      rows.length = 0;
      assert.equal((await snapshot()).length, 1);
    } finally {
      await gate.put("go");
      await joined(p);
    }
    assert.deepEqual(await snapshot(), []);
  });

  test("a named process is listed by its name; two are listed oldest first", async () => {
    const gate = new Queue<unknown>();
    const a = new Process({ target: targets.waitFor, args: [gate], module, backend, name: "alpha" });
    const b = new Process({ target: targets.waitFor, args: [gate], module, backend, name: "beta" });
    await a.start();
    await b.start();
    try {
      const rows = await snapshot();
      assert.deepEqual(rows.map((row) => row.name), ["alpha", "beta"]);
      assert.ok(rows.every((row) => row.status === "running" && row.parent === "MainProcess"));
    } finally {
      await gate.put(1);
      await gate.put(2);
      await joined(a);
      await joined(b);
    }
    assert.deepEqual(await snapshot(), []);
  });

  test("mailbox counts the messages put to p.mailbox that the child has not read", async () => {
    const gate = new Queue<string>();
    const out = new Queue<unknown>();
    const p = new Process({ target: targets.readOnCommand, args: [gate, out], module, backend });
    await p.mailbox.put("before start");
    await p.start();
    try {
      assert.equal(rowOf(await snapshot(), p.name).mailbox, 1);
      await p.mailbox.put("second");
      await p.mailbox.put("third");
      assert.equal(rowOf(await snapshot(), p.name).mailbox, 3);
      await gate.put("read");
      assert.equal(await out.get({ timeout: PATIENCE_MS }), "before start");
      assert.equal(rowOf(await snapshot(), p.name).mailbox, 2);
      await gate.put("read");
      await gate.put("read");
      assert.deepEqual([await out.get({ timeout: PATIENCE_MS }), await out.get({ timeout: PATIENCE_MS })], [
        "second",
        "third",
      ]);
      assert.equal(rowOf(await snapshot(), p.name).mailbox, 0);
    } finally {
      await gate.put("stop");
      await joined(p);
    }
  });

  test("an idle process reports its memory for its backend, and its CPU time", async () => {
    const gate = new Queue<unknown>();
    const p = new Process({ target: targets.waitFor, args: [gate], module, backend });
    await p.start();
    try {
      const row = rowOf(await snapshot(), p.name);
      assert.equal(row.status, "running");
      assertMemory(row, backend);
      assertCpuTime(row);
      // CPU time only grows.
      const again = rowOf(await snapshot(), p.name);
      if (linux) {
        assert.ok(again.cpuTime!.user >= row.cpuTime!.user && again.cpuTime!.system >= row.cpuTime!.system);
      }
      assert.ok(again.uptimeMs >= row.uptimeMs);
    } finally {
      await gate.put("go");
      await joined(p);
    }
  });

  test("a child's ps() lists itself and its own child, whose parent is the child", async () => {
    for (const kidBackend of BACKENDS) {
      const out = new Queue<targets.ChildView>();
      const gate = new Queue<unknown>();
      const p = new Process({ target: targets.psFromChild, args: [out, gate, kidBackend], module, backend });
      await p.start();
      try {
        const view = await out.get({ timeout: PATIENCE_MS });
        assert.equal(view.self, p.name);
        assert.deepEqual(view.rows.map((row) => row.name), [p.name, view.kid], `kid on ${kidBackend}`);
        const [self, kid] = view.rows as [ProcessStatus, ProcessStatus];
        assert.equal(self.parent, "MainProcess");
        assert.equal(self.backend, backend);
        assert.equal(self.pid, p.pid);
        assert.equal(self.status, "running");
        assert.equal(kid.parent, p.name);
        assert.equal(kid.backend, kidBackend);
        assert.equal(kid.pid, view.kidPid);
        // The main process hosts every worker, a subprocess's too; a subprocess has its own pid.
        if (kidBackend === "worker") assert.equal(kid.pid, Deno.pid);
        else assert.ok(kid.pid !== p.pid && kid.pid !== Deno.pid);
        assert.equal(kid.status, "running");
        assert.equal(kid.mailbox, 0, "its creator, the child, counts its mailbox");
        assertMemory(kid, kidBackend);
        // The main process sees the same two processes.
        const mine = await snapshot();
        assert.deepEqual(
          mine.map((row) => [row.name, row.parent, row.pid, row.backend]),
          view.rows.map((row) => [row.name, row.parent, row.pid, row.backend]),
        );
      } finally {
        await gate.put("done");
        await joined(p);
      }
      assert.deepEqual(await snapshot(), []);
    }
  });

  test("a pool's workers are PoolWorkers, and their tasksDone add up to the tasks and chunks run", async () => {
    await using p = pool(backend, 2);
    await using dir = await tempDir();
    // Two tasks that meet: each worker has run one, so both are running.
    const ids = await within(
      Promise.all([0, 1].map(() => p.apply(poolTargets.rendezvous, [dir.path, 2], { timeoutMs: 20_000 }))),
    );
    assert.equal(new Set(ids).size, 2);
    // Ten items in chunks of three: four tasks.
    assert.deepEqual(await within(p.map(poolTargets.square, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)), [
      0,
      1,
      4,
      9,
      16,
      25,
      36,
      49,
      64,
      81,
    ]);
    const rows = await snapshot();
    assert.equal(rows.length, 2, Deno.inspect(rows));
    for (const row of rows) {
      assert.match(row.name, /^PoolWorker-\d+$/);
      assert.equal(row.parent, "MainProcess");
      assert.equal(row.backend, backend);
      assert.equal(row.status, "running");
      assert.equal(row.restarts, 0);
      assert.ok(row.tasksDone !== null && row.tasksDone >= 1, `${row.name} did ${row.tasksDone}`);
      assertMemory(row, backend);
    }
    assert.equal(rows.reduce((sum, row) => sum + row.tasksDone!, 0), 2 + 4);
    // They agree with the pool's own count.
    const stats = p.stats().workers;
    assert.deepEqual(
      rows.map((row) => [row.name, row.pid, row.tasksDone]).sort(),
      stats.map((worker) => [worker.name, worker.pid, worker.chunks]).sort(),
    );
    p.close();
    await within(p.join());
    assert.deepEqual(await snapshot(), []);
  });

  test("a pool worker that replaces one that exited has restarts 1, and its own tasksDone", async () => {
    await using p = pool(backend, 1);
    assert.equal(await within(p.apply(poolTargets.square, [3])), 9);
    const first = rowOf(await snapshot(), p.stats().workers[0]!.name);
    assert.deepEqual([first.restarts, first.tasksDone], [0, 1]);
    await assert.rejects(within(p.apply(poolTargets.exitWith, [7])), WorkerCrashedError);
    // The next task runs on the replacement.
    assert.equal(await within(p.apply(poolTargets.square, [4])), 16);
    const rows = await snapshot();
    assert.equal(rows.length, 1, Deno.inspect(rows));
    const [second] = rows as [ProcessStatus];
    assert.notEqual(second.name, first.name);
    assert.match(second.name, /^PoolWorker-\d+$/);
    assert.equal(second.status, "running");
    assert.equal(second.restarts, 1);
    assert.equal(second.tasksDone, 1);
    // And the one after it has restarts 2.
    await assert.rejects(within(p.apply(poolTargets.exitWith, [7])), WorkerCrashedError);
    assert.equal(await within(p.apply(poolTargets.square, [5])), 25);
    const [third] = await snapshot() as [ProcessStatus];
    assert.notEqual(third.name, second.name);
    assert.deepEqual([third.restarts, third.tasksDone], [2, 1]);
    await p.terminate();
    assert.deepEqual(await snapshot(), []);
  });

  test(
    "a supervised child's restarts counts its restarts after crashes",
    withReports([crashReport("Error: m crashed on purpose")], async () => {
      await using sup = new Supervisor({
        intensity: 5,
        periodMs: 60_000,
        children: [{
          id: "m",
          target: actorTargets.member as ChildSpec["target"],
          args: ["m"],
          module: actorTargets.MODULE,
          backend,
        }],
      });
      await sup.start();
      const name = `${sup.name}:m`;
      const first = rowOf(await snapshot(), name);
      assert.equal(first.restarts, 0);
      assert.equal(first.parent, "MainProcess");
      assert.equal(first.backend, backend);
      assert.equal(first.tasksDone, null);
      for (const n of [1, 2]) {
        const restarted = nextEvent(sup, "restarted");
        sup.ref("m").tell("crash");
        const detail = await within(restarted);
        assert.equal(detail.id, "m");
        const rows = await snapshot();
        assert.equal(rows.length, 1, Deno.inspect(rows));
        const row = rowOf(rows, name);
        assert.equal(row.restarts, n);
        assert.equal(row.status, "running");
        if (backend === "subprocess") assert.equal(row.pid, (detail as { pid: number | null }).pid);
      }
      await sup.stop();
      assert.deepEqual(await snapshot(), []);
    }),
  );
}

// ---------------------------------------------------------------------------
// Busy processes
// ---------------------------------------------------------------------------

Deno.test(
  "ps(): a worker spinning in a synchronous loop is busy, without heap but with CPU time; running again after",
  withLeakCheck(async () => {
    const flags = new RawArray("i", 2);
    const cells = flags.getObj();
    const gate = new Queue<unknown>();
    const p = new Process({ target: targets.spinUntilFlag, args: [flags, gate], module, backend: "worker" });
    await p.start();
    try {
      // Wait (without blocking this isolate) until it spins.
      const spinning = Atomics.waitAsync(cells, 1, 0, PATIENCE_MS);
      // A raw wait does not keep the test running while the (unref'd) worker spins: hold it as troupe's own do.
      if (spinning.async) assert.notEqual(await holdWhile(spinning.value), "timed-out");
      assert.equal(Atomics.load(cells, 1), 1);
      const busy = rowOf(await within(ps({ timeoutMs: 100 })), p.name);
      assert.equal(busy.status, "busy");
      assert.equal(busy.heapUsed, null);
      assert.equal(busy.rss, null);
      assert.equal(busy.pid, Deno.pid);
      assert.equal(busy.mailbox, 0, "its creator, the main process, still counts its mailbox");
      assertCpuTime(busy);
      if (linux) assert.ok(busy.cpuTime!.user + busy.cpuTime!.system > 0, "it has spun for a while");
    } finally {
      Atomics.store(cells, 0, 1);
    }
    try {
      // It now idles on the gate and answers.
      const idle = rowOf(await snapshot(), p.name);
      assert.equal(idle.status, "running");
      assertMemory(idle, "worker");
      assertCpuTime(idle);
    } finally {
      await gate.put("go");
      await joined(p);
    }
  }),
);

Deno.test(
  'ps(): a worker whose target cannot run yet (what its args need still loads) is "starting", then "running"',
  withLeakCheck(async () => {
    // Reviving the barrier imports its action's module, which holds the worker until told to go.
    const barrier = new Barrier(1, { action: slow.noop, module: slow.MODULE });
    const gate = new Queue<unknown>();
    const p = new Process({ target: targets.waitFor, args: [gate, barrier], module, backend: "worker" });
    const { loading, go } = slow.loadingFiles(Deno.pid, p.name);
    // Empty until the child writes it: waitForReport watches it.
    await Deno.writeTextFile(loading, "");
    const started = p.start();
    try {
      await waitForReport(loading);
      const row = rowOf(await within(ps({ timeoutMs: 100 })), p.name);
      assert.equal(row.status, "starting");
      assert.equal(row.parent, "MainProcess");
      assert.equal(row.backend, "worker");
      assert.equal(row.pid, Deno.pid);
      assert.ok(row.uptimeMs >= 0);
      await Deno.writeTextFile(go, "");
      await within(started);
      assert.equal(rowOf(await snapshot(), p.name).status, "running");
    } finally {
      await Deno.writeTextFile(go, "");
      await started.catch(() => {});
      await gate.put("go");
      await joined(p);
      await Deno.remove(loading).catch(() => {});
      await Deno.remove(go).catch(() => {});
    }
  }),
);

Deno.test(
  "ps(): a subprocess spinning in a synchronous loop is busy, with rss and CPU time",
  withLeakCheck(async () => {
    await using dir = await tempDir();
    const ready = `${dir.path}/ready`, stop = `${dir.path}/stop`;
    // Empty until the child writes it: waitForReport watches it.
    await Deno.writeTextFile(ready, "");
    const p = new Process({
      target: targets.spinUntilFile,
      args: [ready, stop],
      module,
      backend: "subprocess",
    });
    await p.start();
    try {
      await waitForReport(ready);
      const busy = rowOf(await within(ps({ timeoutMs: 100 })), p.name);
      assert.equal(busy.status, "busy");
      assert.equal(busy.heapUsed, null);
      assert.equal(busy.pid, p.pid);
      assert.ok(typeof busy.rss === "number" && busy.rss > 0, `rss ${busy.rss}`);
      assertCpuTime(busy);
    } finally {
      await Deno.writeTextFile(stop, "");
      await joined(p);
    }
  }),
);

Deno.test(
  "ps(): a signal aborted while a busy process keeps the snapshot waiting rejects with its reason",
  withLeakCheck(async () => {
    const flags = new RawArray("i", 2);
    const cells = flags.getObj();
    const gate = new Queue<unknown>();
    const p = new Process({ target: targets.spinUntilFlag, args: [flags, gate], module, backend: "worker" });
    await p.start();
    try {
      const spinning = Atomics.waitAsync(cells, 1, 0, PATIENCE_MS);
      // A raw wait does not keep the test running while the (unref'd) worker spins: hold it as troupe's own do.
      if (spinning.async) assert.notEqual(await holdWhile(spinning.value), "timed-out");
      const controller = new AbortController();
      const pending = ps({ timeoutMs: 60_000, signal: controller.signal });
      const reason = new DOMException("enough", "AbortError");
      // The snapshot cannot finish while the worker spins (for a minute): the abort ends the wait.
      controller.abort(reason);
      await assert.rejects(within(pending), (error) => error === reason);
    } finally {
      Atomics.store(cells, 0, 1);
      await gate.put("go");
      await joined(p);
    }
  }),
);

Deno.test(
  "ps(): a subprocess pool worker killed by a signal is replaced by one with restarts 1",
  withLeakCheck(async () => {
    await using p = pool("subprocess", 1);
    assert.equal(await within(p.apply(poolTargets.square, [3])), 9);
    const [first] = await snapshot() as [ProcessStatus];
    assert.deepEqual([first.restarts, first.tasksDone, first.backend], [0, 1, "subprocess"]);
    assert.notEqual(first.pid, Deno.pid);
    Deno.kill(first.pid, "SIGKILL");
    // The next task runs on the replacement (an OS-process worker confirms what
    // it receives, so the dead one is not blamed for a task on its way to it).
    assert.equal(await within(p.apply(poolTargets.square, [4])), 16);
    const rows = await snapshot();
    assert.equal(rows.length, 1, Deno.inspect(rows));
    const [second] = rows as [ProcessStatus];
    assert.notEqual(second.name, first.name);
    assert.notEqual(second.pid, first.pid);
    assert.deepEqual([second.status, second.restarts, second.tasksDone], ["running", 1, 1]);
    await p.terminate();
  }),
);

for (const kidBackend of BACKENDS) {
  Deno.test(
    `ps(): the ${kidBackend} child of a busy worker has no mailbox count until its creator answers again`,
    withLeakCheck(async () => {
      const flags = new RawArray("i", 2);
      const cells = flags.getObj();
      const gate = new Queue<unknown>();
      const out = new Queue<string>();
      const p = new Process({
        target: targets.spinWithKid,
        args: [flags, gate, out, kidBackend],
        module,
        backend: "worker",
      });
      await p.start();
      let kidName: string;
      try {
        kidName = await out.get({ timeout: PATIENCE_MS });
        const spinning = Atomics.waitAsync(cells, 1, 0, PATIENCE_MS);
        // A raw wait does not keep the test running (see above).
        if (spinning.async) assert.notEqual(await holdWhile(spinning.value), "timed-out");
        const rows = await within(ps({ timeoutMs: 100 }));
        assert.deepEqual(rows.map((row) => row.name), [p.name, kidName]);
        assert.equal(rowOf(rows, p.name).status, "busy");
        const kid = rowOf(rows, kidName);
        assert.equal(kid.status, "running");
        assert.equal(kid.parent, p.name);
        assert.equal(kid.mailbox, null, "its creator, busy, did not say");
        assertMemory(kid, kidBackend);
      } finally {
        Atomics.store(cells, 0, 1);
      }
      try {
        const rows = await snapshot();
        assert.equal(rowOf(rows, p.name).status, "running");
        assert.equal(rowOf(rows, kidName).mailbox, 1);
      } finally {
        await gate.put("go");
        await joined(p);
      }
      assert.deepEqual(await snapshot(), []);
    }),
  );
}
