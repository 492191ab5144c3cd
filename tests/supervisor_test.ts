import assert from "node:assert/strict";
import {
  activeChildren,
  ActorExitedError,
  type ActorRef,
  type ChildInfo,
  type ChildSpec,
  MAILBOX_SIZE,
  Process,
  Queue,
  Supervisor,
  SupervisorError,
  type SupervisorEventDetail,
  type SupervisorOptions,
} from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, crashReport, PATIENCE_MS, runScript, within, withReports } from "./_helpers.ts";
import * as targets from "./testdata/actor_targets.ts";
import { FAIL_START_MODULE, FAIL_START_VARIABLE, fragile } from "./testdata/failing_start_targets.ts";

const module = targets.MODULE;

/** A child spec for a target in actor_targets.ts. */
function child(
  id: string,
  target: (...args: never[]) => unknown,
  fields: Partial<ChildSpec> = {},
): ChildSpec {
  return { id, target: target as ChildSpec["target"], module, ...fields };
}

/** Not exported by actor_targets.ts: a child cannot find it, so it fails to start. */
function notExported(): void {}

const EVENT_TYPES = ["started", "exited", "restarted", "gave-up"] as const;

/** Records a supervisor's events, and waits for them without sleeping. */
class Events {
  readonly seen: SupervisorEventDetail[] = [];
  /** When each event was seen (performance.now()). */
  readonly at: number[] = [];
  #wake: (() => void) | undefined;

  constructor(sup: Supervisor) {
    for (const type of EVENT_TYPES) {
      sup.addEventListener(type, (event) => {
        this.seen.push((event as CustomEvent<SupervisorEventDetail>).detail);
        this.at.push(performance.now());
        this.#wake?.();
      });
    }
  }

  /** The events as short lines: "started a", "exited b crash", "restarted a", "gave-up b". */
  lines(from = 0): string[] {
    return this.seen.slice(from).map((e) =>
      e.type === "exited" ? `exited ${e.id} ${e.reason}` : `${e.type} ${e.id}`
    );
  }

  /** How many events of `type` for child `id` were seen. */
  count(type: SupervisorEventDetail["type"], id: string): number {
    return this.seen.filter((e) => e.type === type && e.id === id).length;
  }

  /** Waits until `n` events of `type` for child `id` have been seen; fails after `ms`. */
  async until(type: SupervisorEventDetail["type"], id: string, n = 1, ms = PATIENCE_MS): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.count(type, id) < n) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`No ${n}× "${type} ${id}" in ${ms} ms: saw ${this.lines()}`);
      await within(new Promise<void>((resolve) => this.#wake = resolve), left).catch(() => {});
    }
  }

  /** When the last event of `type` for child `id` was seen. */
  when(type: SupervisorEventDetail["type"], id: string): number {
    const i = this.seen.findLastIndex((e) => e.type === type && e.id === id);
    assert.ok(i >= 0, `saw ${type} ${id}`);
    return this.at[i]!;
  }

  /** The last "exited" event of child `id`. */
  exited(id: string): Extract<SupervisorEventDetail, { type: "exited" }> {
    const found = this.seen.findLast((e) => e.type === "exited" && e.id === id);
    assert.ok(found?.type === "exited", `${id} exited`);
    return found;
  }
}

/** What a queue holds now, waiting for `n` items (each with a timeout). */
async function take<T>(q: Queue<T>, n: number): Promise<T[]> {
  const got: T[] = [];
  for (let i = 0; i < n; i++) got.push(await q.get({ timeout: PATIENCE_MS }));
  return got;
}

/** A child spec for `fragile`, whose start fails while `failingStarts` runs. */
function fragileChild(id: string, fields: Partial<ChildSpec> = {}): ChildSpec {
  return { id, target: fragile as ChildSpec["target"], args: [id], module: FAIL_START_MODULE, ...fields };
}

/** The report a start of `fragile` makes while its module refuses to load. */
const REFUSED_LOAD = crashReport("Error: this module refuses to load on purpose");

/**
 * Every start of a process while it is in place (`using`), with what the
 * supervisor said of its children at that moment; `until(n)` waits for `n`
 * starts of processes named `name`. Children load `fragile`'s module anew at
 * each start: while `failing` is set, those starts fail.
 */
class Starts implements Disposable {
  readonly seen: { name: string; children: ChildInfo[]; active: number }[] = [];
  readonly #original = Process.prototype.start;
  #wake: (() => void) | undefined;

  constructor(sup: Supervisor) {
    const original = this.#original;
    const seen = this.seen;
    const wake = () => this.#wake?.();
    Process.prototype.start = function (this: Process) {
      seen.push({ name: this.name, children: sup.whichChildren(), active: sup.countChildren().active });
      wake();
      return original.call(this);
    };
  }

  set failing(on: boolean) {
    if (on) Deno.env.set(FAIL_START_VARIABLE, "1");
    else Deno.env.delete(FAIL_START_VARIABLE);
  }

  count(name: string): number {
    return this.seen.filter((start) => start.name === name).length;
  }

  async until(name: string, n: number): Promise<void> {
    const deadline = performance.now() + PATIENCE_MS;
    while (this.count(name) < n) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`No ${n} starts of ${name} in ${PATIENCE_MS} ms`);
      await within(new Promise<void>((resolve) => this.#wake = resolve), left).catch(() => {});
    }
  }

  [Symbol.dispose](): void {
    Process.prototype.start = this.#original;
    this.failing = false;
  }
}

/** Fails when a child is started while an incarnation of it still runs. */
function neverTwice(sup: Supervisor): string[] {
  const running = new Set<string>();
  const problems: string[] = [];
  const up = (event: CustomEvent<{ id: string }>) => {
    if (running.has(event.detail.id)) problems.push(`${event.detail.id} started while running`);
    running.add(event.detail.id);
  };
  sup.addEventListener("started", up);
  sup.addEventListener("restarted", up);
  sup.addEventListener("exited", (event) => running.delete(event.detail.id));
  return problems;
}

/** A member's incarnation id, asked through `ref`. */
function incarnation(ref: ActorRef<string, unknown>): Promise<unknown> {
  return ref.ask("id", { timeout: PATIENCE_MS });
}

// ---------------------------------------------------------------------------
// Without processes
// ---------------------------------------------------------------------------

Deno.test("new Supervisor rejects bad flags and child specs with errors naming the field", () => {
  const ok = child("a", targets.member);
  const cases: [
    SupervisorOptions,
    ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor,
    RegExp,
  ][] = [
    [{ strategy: "bogus" as "one_for_one" }, TypeError, /strategy must be .*"one_for_one".*not "bogus"/],
    [{ strategy: "simple_one_for_one" as "one_for_one" }, TypeError, /strategy/],
    [{ intensity: -1 }, RangeError, /intensity must be a whole number ≥ 0, not -1/],
    [{ intensity: 1.5 }, RangeError, /intensity/],
    [{ intensity: "1" as unknown as number }, TypeError, /intensity/],
    [{ periodMs: 0 }, RangeError, /periodMs/],
    [{ backoff: { minMs: 100, maxMs: 10 } }, RangeError, /backoff\.maxMs/],
    [{ children: [ok, child("a", targets.counter)] }, TypeError, /children\[1\]\.id "a" is used twice/],
    [
      { children: [child("a", targets.member, { restart: "sometimes" as "permanent" })] },
      TypeError,
      /children\[0\]\.restart must be .*not "sometimes"/,
    ],
    [
      { children: [ok, child("b", targets.member, { type: "boss" as "worker" })] },
      TypeError,
      /children\[1\]\.type/,
    ],
    [{ children: [child("a", targets.member, { shutdownMs: -1 })] }, RangeError, /children\[0\]\.shutdownMs/],
    [{ children: [child("", targets.member)] }, TypeError, /children\[0\]\.id must be a non-empty string/],
    [
      { children: [{ id: "a", target: "member" as unknown as ChildSpec["target"] }] },
      TypeError,
      /children\[0\]\.target must be an exported function/,
    ],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => new Supervisor(options), (error) => {
      assert.ok(error instanceof type, `${Deno.inspect(options)}: a ${type.name}, not ${error}`);
      assert.match((error as Error).message, message);
      return true;
    });
  }
});

Deno.test("a supervisor with no children starts once, stops, and resolves done", async () => {
  const sup = new Supervisor();
  assert.deepEqual(sup.countChildren(), { specs: 0, active: 0, supervisors: 0, workers: 0 });
  await sup.start();
  await assert.rejects(sup.start(), { name: "SupervisorError", message: /already started/ });
  await sup.stop();
  await within(sup.done);
  await sup.stop(); // again: nothing to do
  await assert.rejects(sup.startChild(child("a", targets.member)), SupervisorError);
});

Deno.test("ref(id) queues tells for a child not yet started, up to MAILBOX_SIZE, then throws QueueFullError", async () => {
  const sup = new Supervisor({ children: [child("a", targets.member)] });
  const ref = sup.ref<number>("a");
  for (let i = 0; i < MAILBOX_SIZE; i++) ref.tell(i);
  assert.throws(() => ref.tell(MAILBOX_SIZE), { name: "QueueFullError" });
  assert.throws(() => sup.ref("b"), { name: "SupervisorError", message: /no child "b"/ });
  await sup.stop();
});

Deno.test(
  "backoff: a restart waits minMs after the crash",
  withLeakCheck(withReports([crashReport("Error: m crashed on purpose")], async () => {
    const DELAY_MS = 300;
    await using sup = new Supervisor({
      intensity: 3,
      periodMs: 60_000,
      backoff: { minMs: DELAY_MS, maxMs: DELAY_MS },
      children: [child("m", targets.member, { args: ["m"] })],
    });
    const events = new Events(sup);
    await sup.start();
    sup.ref("m").tell("crash");
    await events.until("restarted", "m", 1, 3_000);
    const waited = events.when("restarted", "m") - events.when("exited", "m");
    assert.ok(waited >= DELAY_MS * 0.95, `restarted ${Math.round(waited)} ms after the crash`);
  })),
);

Deno.test(
  "backoff: during the delay the child is restarting, and terminateChild and stop() do not wait for it",
  withLeakCheck(
    withReports(
      [crashReport("Error: m crashed on purpose"), crashReport("Error: n crashed on purpose")],
      async () => {
        const sup = new Supervisor({
          intensity: 3,
          periodMs: 60_000,
          backoff: { minMs: 60_000, maxMs: 60_000 },
          children: [
            child("m", targets.member, { args: ["m"] }),
            child("n", targets.member, { args: ["n"] }),
          ],
        });
        const events = new Events(sup);
        await sup.start();
        sup.ref("m").tell("crash");
        sup.ref("n").tell("crash");
        // Both: the two exits may arrive in either order.
        await events.until("exited", "m");
        await events.until("exited", "n");
        assert.deepEqual(sup.whichChildren().map((c) => [c.id, c.state, c.process]), [
          ["m", "restarting", null],
          ["n", "restarting", null],
        ]);
        assert.equal(sup.countChildren().active, 0);
        await within(sup.terminateChild("m"), PATIENCE_MS / 2);
        assert.equal(sup.whichChildren()[0]!.state, "stopped");
        await within(sup.stop(), PATIENCE_MS / 2);
        await within(sup.done);
        assert.equal(events.count("restarted", "m") + events.count("restarted", "n"), 0);
      },
    ),
  ),
);

// ---------------------------------------------------------------------------
// With children
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test('children start in order and stop in reverse, serve() children terminating with "shutdown"', async () => {
    const log = new Queue<targets.MemberEvent>();
    await using sup = new Supervisor({
      children: ["a", "b", "c"].map((id) => child(id, targets.member, { args: [id, log], backend })),
    });
    const events = new Events(sup);
    await sup.start();
    assert.deepEqual(events.lines(), ["started a", "started b", "started c"]);
    assert.deepEqual(sup.whichChildren().map((c) => [c.id, c.state, c.type, c.restart]), [
      ["a", "running", "worker", "permanent"],
      ["b", "running", "worker", "permanent"],
      ["c", "running", "worker", "permanent"],
    ]);
    assert.deepEqual(sup.countChildren(), { specs: 3, active: 3, supervisors: 0, workers: 3 });
    const inits = await take(log, 3);
    assert.deepEqual(inits.map((e) => e.name).sort(), ["a", "b", "c"]);

    await within(sup.stop());
    await within(sup.done);
    assert.deepEqual(await take(log, 3), [
      { event: "terminate", name: "c", reason: "shutdown" },
      { event: "terminate", name: "b", reason: "shutdown" },
      { event: "terminate", name: "a", reason: "shutdown" },
    ]);
    assert.deepEqual(events.lines(3), ["exited c shutdown", "exited b shutdown", "exited a shutdown"]);
    assert.deepEqual(events.seen.slice(3).map((e) => e.type === "exited" && e.exitCode), [0, 0, 0]);
    assert.deepEqual(sup.whichChildren().map((c) => [c.id, c.state, c.process]), [
      ["a", "stopped", null],
      ["b", "stopped", null],
      ["c", "stopped", null],
    ]);
  });

  const strategies = {
    one_for_one: { lines: ["exited b crash", "restarted b"], restarted: ["b"] },
    one_for_all: {
      lines: [
        "exited b crash",
        "exited c shutdown",
        "exited a shutdown",
        "restarted a",
        "restarted b",
        "restarted c",
      ],
      restarted: ["a", "b", "c"],
    },
    rest_for_one: {
      lines: ["exited b crash", "exited c shutdown", "restarted b", "restarted c"],
      restarted: ["b", "c"],
    },
  } as const;
  for (const [strategy, expected] of Object.entries(strategies)) {
    test(
      `${strategy}: a crash of b restarts ${expected.restarted.join(", ")} and leaves the others be`,
      withReports([crashReport("Error: b crashed on purpose")], async () => {
        await using sup = new Supervisor({
          strategy: strategy as keyof typeof strategies,
          intensity: 1, // one_for_all and rest_for_one count as one restart, however many children restart
          periodMs: 60_000,
          children: ["a", "b", "c"].map((id) => child(id, targets.member, { args: [id], backend })),
        });
        const events = new Events(sup);
        await sup.start();
        const refs = ["a", "b", "c"].map((id) => sup.ref<string, unknown>(id));
        const before = await Promise.all(refs.map(incarnation));
        const processes = sup.whichChildren().map((c) => c.process);
        refs[1]!.tell("crash");
        for (const id of expected.restarted) await events.until("restarted", id);
        assert.deepEqual(events.lines(3), expected.lines);
        assert.equal(events.exited("b").exitCode, 1);
        const after = await Promise.all(refs.map(incarnation));
        sup.whichChildren().forEach((c, i) => {
          const restarted = (expected.restarted as readonly string[]).includes(c.id);
          assert.equal(c.state, "running");
          assert.equal(after[i] !== before[i], restarted, `${c.id} is a new incarnation: ${restarted}`);
          assert.equal(c.process !== processes[i], restarted, `${c.id} is a new process: ${restarted}`);
          if (!restarted) assert.equal(c.process?.pid, processes[i]?.pid);
        });
      }),
    );
  }

  test(
    "one_for_all stops a temporary sibling with the crashed child, and forgets it instead of restarting it",
    withReports([crashReport("Error: a crashed on purpose")], async () => {
      await using sup = new Supervisor({
        strategy: "one_for_all",
        children: [
          child("a", targets.member, { args: ["a"], backend }),
          child("tmp", targets.member, { args: ["tmp"], backend, restart: "temporary" }),
        ],
      });
      const events = new Events(sup);
      await sup.start();
      sup.ref("a").tell("crash");
      await events.until("restarted", "a");
      assert.deepEqual(events.lines(2), ["exited a crash", "exited tmp shutdown", "restarted a"]);
      assert.deepEqual(sup.whichChildren().map((c) => [c.id, c.state]), [["a", "running"]]);
    }),
  );

  test(
    "heartbeatMs: a child whose event loop is stuck is killed and handled as a crash",
    withReports([/^Supervisor: child "spinner" missed a heartbeat \(200 ms\); killing it$/], async () => {
      await using sup = new Supervisor({
        intensity: 0,
        children: [child("spinner", targets.spin, { backend, heartbeatMs: 200, shutdownMs: "brutal_kill" })],
      });
      const events = new Events(sup);
      await sup.start();
      await events.until("gave-up", "spinner");
      assert.deepEqual(events.exited("spinner"), {
        type: "exited",
        id: "spinner",
        exitCode: -9,
        reason: "crash",
      });
      await assert.rejects(within(sup.done), SupervisorError);
    }),
  );

  test("a restart that fails is retried, each retry counting toward the intensity, until the supervisor gives up", async () => {
    // Deno prints why the module cannot load itself, so this runs as a program of its own (see the script):
    // the child's module exists for its first start only; restart 1 fails, restart 2 fails, 3 is one too many.
    const { code, stdout, stderr } = await runScript("deno_errors_script.ts", {
      args: ["moduleGone", backend],
    });
    assert.equal(code, 0, stderr);
    const { events, done } = JSON.parse(stdout) as { events: string[]; done: string };
    assert.ok(events.includes("gave-up m"), `gave up: ${events}`);
    assert.ok(!events.includes("restarted m"), `never restarted: ${events}`);
    assert.equal(done, "SupervisorError");
    // One line per crash, the supervisor's default (crashReports).
    assert.match(stderr, /^Process Supervisor:m: Error: m crashed on purpose/m);
    assert.match(stderr, /Module not found ".*member\.ts"/);
  });

  test(
    "transient: a normal exit is not restarted, a crash is; temporary: never restarted, and forgotten",
    withReports([crashReport(`Error: told "boom"`)], async () => {
      await using sup = new Supervisor({
        intensity: 3,
        periodMs: 60_000,
        children: [
          child("t", targets.oneMessage, { restart: "transient", backend, shutdownMs: "brutal_kill" }),
          child("tmp", targets.oneMessage, { restart: "temporary", backend, shutdownMs: "brutal_kill" }),
        ],
      });
      const events = new Events(sup);
      await sup.start();
      assert.deepEqual(sup.whichChildren().map((c) => c.restart), ["transient", "temporary"]);

      sup.ref("t").tell("normal");
      await events.until("exited", "t");
      assert.deepEqual(events.exited("t"), { type: "exited", id: "t", exitCode: 0, reason: "normal" });
      // The supervisor works one request at a time: restartChild runs after it
      // has decided about that exit, and succeeds only for a stopped child.
      await sup.restartChild("t");
      assert.equal(events.count("restarted", "t"), 0, "not restarted by the supervisor");
      assert.equal(events.count("started", "t"), 2, "started again by restartChild");

      sup.ref("t").tell("boom");
      await events.until("restarted", "t");
      assert.equal(events.exited("t").reason, "crash");

      sup.ref("tmp").tell("boom");
      await events.until("exited", "tmp");
      assert.equal(events.exited("tmp").reason, "crash");
      await assert.rejects(sup.restartChild("tmp"), { name: "SupervisorError", message: /no child "tmp"/ });
      assert.equal(events.count("restarted", "tmp"), 0);
      assert.deepEqual(sup.whichChildren().map((c) => c.id), ["t"]);
    }),
  );

  test(
    'more than intensity restarts within periodMs: "gave-up", the others stopped, done rejects',
    withReports([crashReport("Error: crashes at once")], async () => {
      const log = new Queue<targets.MemberEvent>();
      await using sup = new Supervisor({
        intensity: 1,
        periodMs: 60_000,
        children: [
          child("keeper", targets.member, { args: ["keeper", log], backend }),
          child("crasher", targets.crashAtOnce, { backend }),
        ],
      });
      const events = new Events(sup);
      await sup.start();
      await events.until("gave-up", "crasher");
      await assert.rejects(within(sup.done), (error) => {
        assert.ok(error instanceof SupervisorError);
        assert.match(error.message, /gave up: child "crasher" needed more than 1 restarts within 60000 ms/);
        return true;
      });
      assert.deepEqual(events.seen.find((e) => e.type === "gave-up"), {
        type: "gave-up",
        id: "crasher",
        restarts: 2,
      });
      assert.equal(events.count("restarted", "crasher"), 1);
      assert.equal(events.count("exited", "crasher"), 2);
      assert.deepEqual(await take(log, 2), [
        { event: "init", name: "keeper" },
        { event: "terminate", name: "keeper", reason: "shutdown" },
      ]);
      assert.deepEqual(sup.whichChildren().map((c) => c.state), ["stopped", "stopped"]);
      assert.equal(sup.countChildren().active, 0);
      await assert.rejects(sup.startChild(child("late", targets.member, { backend })), SupervisorError);
    }),
  );

  test(
    "a child that fails to start: start() rejects naming it, and the ones started are stopped",
    withReports([crashReport(`ReferenceError: Cannot find the target "notExported"`)], async () => {
      const log = new Queue<targets.MemberEvent>();
      await using sup = new Supervisor({
        children: [
          child("a", targets.member, { args: ["a", log], backend }),
          child("b", notExported, { backend }),
          child("c", targets.member, { args: ["c", log], backend }),
        ],
      });
      const events = new Events(sup);
      await assert.rejects(sup.start(), (error) => {
        assert.ok(error instanceof SupervisorError, `a SupervisorError, not ${error}`);
        assert.match(error.message, /could not start child "b"/);
        return true;
      });
      await assert.rejects(within(sup.done), SupervisorError);
      assert.deepEqual(await take(log, 2), [
        { event: "init", name: "a" },
        { event: "terminate", name: "a", reason: "shutdown" },
      ]);
      assert.deepEqual(events.lines(), ["started a", "exited a shutdown"]);
      assert.deepEqual(sup.whichChildren().map((c) => c.state), ["stopped", "stopped", "stopped"]);
    }),
  );

  test(
    "ref(id) survives a restart: tells sent while the child dies and restarts reach the new incarnation",
    withReports([crashReport("Error: m crashed on purpose")], async () => {
      await using sup = new Supervisor({
        intensity: 3,
        periodMs: 60_000,
        children: [child("m", targets.member, { args: ["m"], backend })],
      });
      const events = new Events(sup);
      await sup.start();
      const ref = sup.ref<string, unknown>("m");
      assert.equal(String(ref), "<ActorRef m>");
      const first = await incarnation(ref);
      ref.tell("crash");
      ref.tell("right after");
      await events.until("exited", "m");
      ref.tell("during");
      const asked = ref.ask("marks", { timeout: PATIENCE_MS }); // waits in the mailbox too
      await events.until("restarted", "m");
      ref.tell("after");
      assert.deepEqual(await asked, ["right after", "during"]);
      assert.deepEqual(await ref.ask("marks", { timeout: PATIENCE_MS }), ["right after", "during", "after"]);
      assert.notEqual(await incarnation(ref), first);
    }),
  );

  test("ref(id): an ask the dying child had taken fails at once; one still queued is answered after the restart", async () => {
    await using sup = new Supervisor({
      intensity: 3,
      periodMs: 60_000,
      children: [child("e", targets.echo, { backend })],
    });
    const events = new Events(sup);
    await sup.start();
    const ref = sup.ref<string, string>("e");
    const started = performance.now();
    const dying = ref.ask("die", { timeout: PATIENCE_MS });
    const queued = ref.ask("queued behind it", { timeout: PATIENCE_MS });
    await assert.rejects(dying, ActorExitedError);
    assert.ok(performance.now() - started < PATIENCE_MS / 2, "it failed at once, not at the timeout");
    assert.equal(await queued, "queued behind it");
    await events.until("restarted", "e");
  });

  test(
    "dynamic children: startChild, terminateChild, restartChild, deleteChild, whichChildren, countChildren",
    withReports([crashReport(`ReferenceError: Cannot find the target "notExported"`)], async () => {
      await using sup = new Supervisor();
      const events = new Events(sup);
      await sup.start();
      await sup.startChild(child("a", targets.member, { args: ["a"], backend }));
      await sup.startChild(child("b", targets.member, { args: ["b"], backend, restart: "temporary" }));
      assert.deepEqual(sup.whichChildren().map((c) => [c.id, c.state, c.restart]), [
        ["a", "running", "permanent"],
        ["b", "running", "temporary"],
      ]);
      assert.deepEqual(sup.countChildren(), { specs: 2, active: 2, supervisors: 0, workers: 2 });
      await assert.rejects(sup.startChild(child("a", targets.member, { backend })), {
        name: "TypeError",
        message: /"a" is used twice/,
      });
      await assert.rejects(sup.startChild(child("x", notExported, { backend })), {
        name: "SupervisorError",
        message: /could not start child "x"/,
      });
      assert.equal(sup.countChildren().specs, 2, "a child that failed to start is not kept");

      const first = sup.whichChildren()[0]!.process;
      await sup.terminateChild("a");
      assert.deepEqual(events.exited("a"), { type: "exited", id: "a", exitCode: 0, reason: "shutdown" });
      assert.deepEqual(sup.whichChildren()[0], {
        id: "a",
        process: null,
        state: "stopped",
        type: "worker",
        restart: "permanent",
      });
      assert.deepEqual(sup.countChildren(), { specs: 2, active: 1, supervisors: 0, workers: 2 });
      await assert.rejects(sup.deleteChild("b"), {
        name: "SupervisorError",
        message: /"b" as it is running/,
      });
      await assert.rejects(sup.restartChild("b"), {
        name: "SupervisorError",
        message: /"b" as it is running/,
      });

      await sup.restartChild("a");
      const second = sup.whichChildren()[0]!.process;
      assert.ok(second && second !== first, "a new process");
      assert.equal(sup.whichChildren()[0]!.state, "running");
      assert.ok(typeof await incarnation(sup.ref("a")) === "string");
      assert.equal(events.count("restarted", "a"), 0, "terminateChild is not a crash");

      await sup.terminateChild("a");
      await sup.deleteChild("a");
      assert.throws(() => sup.ref("a"), { name: "SupervisorError", message: /no child "a"/ });
      await sup.terminateChild("b"); // temporary: forgotten once stopped
      assert.deepEqual(sup.countChildren(), { specs: 0, active: 0, supervisors: 0, workers: 0 });
      await assert.rejects(sup.terminateChild("nope"), {
        name: "SupervisorError",
        message: /no child "nope"/,
      });
    }),
  );

  test("shutdown: a serve() child stops gracefully, a deaf one is killed after shutdownMs, brutal_kill at once", async () => {
    const SHUTDOWN_MS = 500;
    const log = new Queue<targets.MemberEvent>();
    await using sup = new Supervisor({
      children: [
        child("graceful", targets.member, { args: ["graceful", log], backend, shutdownMs: 10_000 }),
        child("deaf", targets.deaf, { backend, shutdownMs: SHUTDOWN_MS }),
        child("brutal", targets.deaf, { backend, shutdownMs: "brutal_kill" }),
      ],
    });
    const events = new Events(sup);
    await sup.start();
    assert.deepEqual(await log.get({ timeout: PATIENCE_MS }), { event: "init", name: "graceful" });

    const timed = async (id: string) => {
      const started = performance.now();
      await within(sup.terminateChild(id));
      return performance.now() - started;
    };
    const brutal = await timed("brutal");
    assert.deepEqual(events.exited("brutal"), {
      type: "exited",
      id: "brutal",
      exitCode: -9,
      reason: "shutdown",
    });
    assert.ok(brutal < SHUTDOWN_MS, `brutal_kill took ${Math.round(brutal)} ms`);

    const deaf = await timed("deaf");
    assert.deepEqual(events.exited("deaf"), { type: "exited", id: "deaf", exitCode: -9, reason: "shutdown" });
    assert.ok(deaf >= SHUTDOWN_MS * 0.95, `killed after ${Math.round(deaf)} ms, before shutdownMs`);

    const graceful = await timed("graceful");
    assert.deepEqual(events.exited("graceful"), {
      type: "exited",
      id: "graceful",
      exitCode: 0,
      reason: "shutdown",
    });
    assert.deepEqual(await log.get({ timeout: PATIENCE_MS }), {
      event: "terminate",
      name: "graceful",
      reason: "shutdown",
    });
    assert.ok(graceful < 5_000, `a graceful stop took ${Math.round(graceful)} ms`);
  });

  test(
    "escalation: a supervisor child whose own supervisor gives up crashes, and is restarted",
    withReports([
      crashReport("Error: w crashed on purpose"),
      crashReport(`SupervisorError: inner gave up: child "w"`),
    ], async () => {
      const out = new Queue<unknown>();
      await using sup = new Supervisor({
        intensity: 1,
        periodMs: 60_000,
        children: [
          child("inner", targets.innerSupervisor, { args: [out, backend], type: "supervisor", backend }),
        ],
      });
      const events = new Events(sup);
      await sup.start();
      assert.deepEqual(sup.countChildren(), { specs: 1, active: 1, supervisors: 1, workers: 0 });
      const first = await out.get({ timeout: PATIENCE_MS }) as ActorRef<string, unknown>;
      const firstId = await incarnation(first);
      first.tell("crash"); // the inner supervisor (intensity 0) gives up, failing its process
      await events.until("restarted", "inner");
      assert.equal(events.exited("inner").reason, "crash");
      assert.equal(events.exited("inner").exitCode, 1);

      const second = await out.get({ timeout: PATIENCE_MS }) as ActorRef<string, unknown>;
      const secondId = await incarnation(second);
      assert.notEqual(secondId, firstId, "a new inner supervisor started a new worker");

      second.tell("crash"); // and again: now the outer supervisor gives up too
      await events.until("gave-up", "inner");
      await assert.rejects(within(sup.done), SupervisorError);
    }),
  );

  test(
    "one_for_all: when a sibling's restart fails, the siblings already restarted are stopped, then the group restarts",
    withReports([crashReport("Error: a crashed on purpose"), REFUSED_LOAD], async () => {
      // OTP: restart/2 gives try_again_restart, which terminates the group again before it starts it.
      await using sup = new Supervisor({
        strategy: "one_for_all",
        intensity: 1000,
        periodMs: 60_000,
        spares: false,
        children: [
          child("a", targets.member, { args: ["a"], backend }),
          fragileChild("b", { backend }),
          child("c", targets.member, { args: ["c"], backend }),
        ],
      });
      const events = new Events(sup);
      const twice = neverTwice(sup);
      await sup.start();
      using starts = new Starts(sup);
      starts.failing = true;
      sup.ref("a").tell("crash");
      // The crash, then two retries that each stopped the restarted a before starting the group again.
      await events.until("exited", "a", 3);
      starts.failing = false;
      await events.until("restarted", "c");
      assert.deepEqual(twice, []);
      const forA = events.lines().filter((line) => line.endsWith(" a") || line.includes(" a "));
      assert.deepEqual(forA.slice(0, 4), ["started a", "exited a crash", "restarted a", "exited a shutdown"]);
      assert.equal(events.count("restarted", "b"), 1);
      assert.equal(events.count("restarted", "c"), 1);
      assert.deepEqual(sup.whichChildren().map((c) => c.state), ["running", "running", "running"]);
      assert.equal(activeChildren().length, 3, "no orphan");
      assert.equal(typeof await incarnation(sup.ref("a")), "string");
    }),
  );

  test(
    "rest_for_one: when a later sibling's restart fails, the crashed child is restarted once and nothing is orphaned",
    withReports([crashReport("Error: b crashed on purpose"), REFUSED_LOAD], async () => {
      await using sup = new Supervisor({
        strategy: "rest_for_one",
        intensity: 1000,
        periodMs: 60_000,
        spares: false,
        children: [
          child("a", targets.member, { args: ["a"], backend }),
          child("b", targets.member, { args: ["b"], backend }),
          fragileChild("c", { backend }),
          child("d", targets.member, { args: ["d"], backend }),
        ],
      });
      const events = new Events(sup);
      const twice = neverTwice(sup);
      await sup.start();
      const [a, b] = sup.whichChildren().map((c) => c.process);
      using starts = new Starts(sup);
      starts.failing = true;
      sup.ref("b").tell("crash");
      await starts.until("Supervisor:c", 3); // the restart and two retries, all failed
      starts.failing = false;
      await events.until("restarted", "d");
      assert.deepEqual(twice, []);
      // The retries restart c and d only: b, restarted once, keeps running; a was never touched.
      assert.equal(events.count("restarted", "b"), 1);
      assert.equal(events.count("exited", "b"), 1);
      assert.equal(events.count("exited", "a"), 0);
      assert.equal(events.count("restarted", "c"), 1);
      assert.equal(events.count("restarted", "d"), 1);
      const now = sup.whichChildren();
      assert.equal(now[0]!.process, a);
      assert.notEqual(now[1]!.process, b);
      assert.deepEqual(now.map((c) => c.state), ["running", "running", "running", "running"]);
      assert.equal(activeChildren().length, 4, "no orphan");
    }),
  );

  test(
    "while a restart keeps failing the child is restarting, without a process, not active; terminateChild and stop() answer at once",
    withReports([crashReport("Error: f crashed on purpose"), REFUSED_LOAD], async () => {
      // OTP-9549: a restart that fails is retried behind the supervisor's other work.
      const sup = new Supervisor({
        intensity: 1000,
        periodMs: 60_000,
        spares: false,
        children: [
          child("keeper", targets.member, { args: ["keeper"], backend }),
          fragileChild("f", { backend }),
        ],
      });
      const events = new Events(sup);
      await sup.start();
      using starts = new Starts(sup);
      starts.failing = true;
      sup.ref("f").tell("crash");
      await events.until("exited", "f");
      await starts.until("Supervisor:f", 3);
      for (const { name, children, active } of starts.seen) {
        assert.equal(name, "Supervisor:f");
        assert.deepEqual(children.map((c) => [c.id, c.state, c.process === null]), [
          ["keeper", "running", false],
          ["f", "restarting", true],
        ]);
        assert.equal(active, 1, "f is not active while it restarts");
      }
      assert.deepEqual(sup.countChildren(), { specs: 2, active: 1, supervisors: 0, workers: 2 });

      let calledAt = starts.count("Supervisor:f");
      await within(sup.terminateChild("f"), PATIENCE_MS / 2);
      assert.ok(starts.count("Supervisor:f") <= calledAt + 1, "at most the attempt in hand finished");
      assert.equal(sup.whichChildren()[1]!.state, "stopped");
      const settled = starts.count("Supervisor:f");
      starts.failing = false;
      await sup.restartChild("f"); // the supervisor goes on, and f no longer retries by itself
      assert.equal(starts.count("Supervisor:f"), settled + 1);

      starts.failing = true;
      sup.ref("f").tell("crash");
      await starts.until("Supervisor:f", settled + 3);
      calledAt = starts.count("Supervisor:f");
      await within(sup.stop(), PATIENCE_MS / 2);
      await within(sup.done); // stopped, not given up
      assert.ok(starts.count("Supervisor:f") <= calledAt + 1, "at most the attempt in hand finished");
      assert.equal(events.count("gave-up", "f"), 0);
      assert.deepEqual(sup.whichChildren().map((c) => c.state), ["stopped", "stopped"]);
    }),
  );

  test(
    "significant children: any_significant stops the supervisor when one ends normally, not when it crashes",
    withReports([crashReport(`Error: told "boom"`)], async () => {
      const log = new Queue<targets.MemberEvent>();
      const sup = new Supervisor({
        autoShutdown: "any_significant",
        intensity: 3,
        periodMs: 60_000,
        children: [
          child("keeper", targets.member, { args: ["keeper", log], backend }),
          child("t", targets.oneMessage, { restart: "transient", significant: true, backend }),
        ],
      });
      const events = new Events(sup);
      await sup.start();
      sup.ref("t").tell("boom"); // a crash: restarted, the supervisor goes on
      await events.until("restarted", "t");
      sup.ref("t").tell("normal");
      await within(sup.done); // resolves: a shutdown, not a failure
      assert.deepEqual(events.lines(2), [
        "exited t crash",
        "restarted t",
        "exited t normal",
        "exited keeper shutdown",
      ]);
      assert.deepEqual(await take(log, 2), [
        { event: "init", name: "keeper" },
        { event: "terminate", name: "keeper", reason: "shutdown" },
      ]);
      await assert.rejects(sup.startChild(child("late", targets.member, { backend })), SupervisorError);
    }),
  );

  test("significant children: all_significant waits for the last; terminateChild does not count", async () => {
    const sup = new Supervisor({
      autoShutdown: "all_significant",
      children: [
        child("t1", targets.oneMessage, { restart: "transient", significant: true, backend }),
        child("t2", targets.oneMessage, { restart: "temporary", significant: true, backend }),
        child("t3", targets.oneMessage, {
          restart: "transient",
          significant: true,
          backend,
          shutdownMs: "brutal_kill",
        }),
      ],
    });
    const events = new Events(sup);
    await sup.start();
    await sup.terminateChild("t3"); // stopped by the supervisor: no auto shutdown, and it no longer counts
    sup.ref("t1").tell("normal");
    await events.until("exited", "t1");
    assert.deepEqual(await sup.countChildren(), { specs: 3, active: 1, supervisors: 0, workers: 3 });
    sup.ref("t2").tell("normal");
    await within(sup.done);
    assert.deepEqual(sup.whichChildren().map((c) => [c.id, c.state]), [["t1", "stopped"], ["t3", "stopped"]]);
  });

  test(
    "once the supervisor gives up, its refs fail at once, with its error as the cause, even an ask already waiting",
    withReports([crashReport("Error: m crashed on purpose")], async () => {
      await using sup = new Supervisor({
        intensity: 0,
        children: [
          child("m", targets.member, { args: ["m"], backend }),
          child("deaf", targets.deaf, { backend, shutdownMs: "brutal_kill" }),
        ],
      });
      await sup.start();
      const deaf = sup.ref<string>("deaf");
      const waiting = deaf.ask("anyone?", { timeout: 60_000 }); // never read: it waits in the mailbox
      sup.ref("m").tell("crash");
      const failure = await sup.done.then(() => assert.fail("done resolved"), (error) => error);
      assert.match(String(failure), /^SupervisorError: Supervisor gave up: child "m"/);
      const started = performance.now();
      await assert.rejects(waiting, (error) => {
        // It came back through the ask's reply queue, as an actor's error does.
        assert.ok(
          error instanceof Error && error.name === "SupervisorError",
          `a SupervisorError, not ${error}`,
        );
        assert.equal(error.message, `Cannot ask child "deaf" as Supervisor gave up`);
        assert.match(String(error.cause), /^SupervisorError: Supervisor gave up/);
        return true;
      });
      assert.throws(() => sup.ref("m").tell("hello"), (error) => {
        assert.ok(error instanceof SupervisorError);
        assert.equal(error.message, `Cannot tell child "m" as Supervisor gave up`);
        assert.equal(error.cause, failure);
        return true;
      });
      await assert.rejects(deaf.ask("again?", { timeout: 60_000 }), { cause: failure });
      assert.ok(performance.now() - started < PATIENCE_MS / 2, "at once, not at the timeout");
    }),
  );

  test(
    "once the supervisor stops, its refs fail at once, here and in other processes",
    withReports([/^Process [^\n]+:\nQueueClosedError/], async () => {
      const sup = new Supervisor({ children: [child("c", targets.counter, { backend })] });
      await sup.start();
      const ref = sup.ref<number | "get", number>("c");
      const out = new Queue<unknown>();
      await sup.stop();
      assert.throws(() => ref.tell(1), {
        name: "SupervisorError",
        message: `Cannot tell child "c" as Supervisor has stopped`,
      });
      // A process the ref was passed to: its ask fails at once (the mailbox is closed), not at its timeout.
      const started = performance.now();
      const user = new Process({ target: targets.useCounter, args: [ref, out], module, backend });
      await user.start();
      await user.join(PATIENCE_MS);
      assert.equal(user.exitCode, 1);
      assert.ok(performance.now() - started < PATIENCE_MS / 2, "at once, not at the timeout");
    }),
  );

  test("stop() reaches a supervisor child: its own children are stopped and stop() resolves", async () => {
    // OTP: a supervisor child (shutdown infinity) is sent a shutdown and
    // stops its own children before it exits.
    const out = new Queue<unknown>();
    const sup = new Supervisor({
      children: [
        child("inner", targets.innerSupervisor, { args: [out, backend], type: "supervisor", backend }),
      ],
    });
    await sup.start();
    const worker = await out.get({ timeout: PATIENCE_MS }) as ActorRef<string, unknown>;
    assert.equal(typeof await incarnation(worker), "string");
    // On failure withLeakCheck kills what is left, which lets this stop() end.
    await within(sup.stop(), 5_000);
  });
}

for (const backend of BACKENDS) {
  Deno.test(
    `[${backend}] a grandchild's ref passed in a message after the grandchild restarted still reaches it`,
    withLeakCheck(withReports(
      Array.from({ length: 5 }, () => crashReport("Error: w crashed on purpose")),
      async () => {
        // The host stopped serving the grandchild's mailbox when an incarnation
        // exited, although the next incarnation reads the same mailbox: a ref
        // revived after that restart reached nothing.
        const out = new Queue<unknown>();
        await using sup = new Supervisor({
          children: [
            child("inner", targets.refreshingSupervisor, {
              args: [out, backend],
              type: "supervisor",
              backend,
            }),
          ],
        });
        await sup.start();
        let ref = await out.get({ timeout: PATIENCE_MS }) as ActorRef<string, unknown>;
        for (let round = 0; round < 5; round++) {
          const before = await incarnation(ref);
          ref.tell("crash");
          ref = await out.get({ timeout: PATIENCE_MS }) as ActorRef<string, unknown>; // revived after the restart
          ref.tell(`mark ${round}`);
          assert.deepEqual(await ref.ask("marks", { timeout: PATIENCE_MS }), [`mark ${round}`]);
          assert.notEqual(await incarnation(ref), before);
        }
      },
    )),
  );
}

Deno.test("addEventListener types each event's detail by its name", () => {
  // Type-level: without the typed overloads, `event.detail` does not type-check (deno check fails).
  const sup = new Supervisor();
  const seen: string[] = [];
  const onExit = (event: CustomEvent<{ id: string; reason: "normal" | "shutdown" | "crash" }>) => {
    seen.push(`exited ${event.detail.id} ${event.detail.reason}`);
  };
  sup.addEventListener("restarted", (event) => {
    const pid: number | null = event.detail.pid;
    seen.push(`restarted ${event.detail.id} ${pid}`);
  });
  sup.addEventListener("exited", onExit);
  sup.addEventListener("gave-up", (event) => seen.push(`gave-up ${event.detail.restarts}`));
  sup.addEventListener("started", (event) => seen.push(`started ${event.detail.type}`), { once: true });
  const emit = (detail: SupervisorEventDetail) => sup.dispatchEvent(new CustomEvent(detail.type, { detail }));
  emit({ type: "started", id: "a", pid: 1 });
  emit({ type: "started", id: "a", pid: 1 });
  emit({ type: "exited", id: "a", exitCode: 1, reason: "crash" });
  emit({ type: "restarted", id: "a", pid: 2 });
  emit({ type: "gave-up", id: "a", restarts: 2 });
  sup.removeEventListener("exited", onExit);
  emit({ type: "exited", id: "a", exitCode: 0, reason: "normal" });
  assert.deepEqual(seen, ["started started", "exited a crash", "restarted a 2", "gave-up 2"]);
});

Deno.test("new Supervisor refuses options and child spec fields it does not know", () => {
  assert.throws(() => new Supervisor({ auto_shutdown: "any_significant" } as SupervisorOptions), {
    name: "TypeError",
    message: /^Supervisor: options has no field "auto_shutdown": use strategy, /,
  });
  assert.throws(
    () =>
      new Supervisor({
        children: [{ ...child("a", targets.member), restartType: "transient" } as ChildSpec],
      }),
    { name: "TypeError", message: /^Supervisor: children\[0\] has no field "restartType": use id, target, / },
  );
  assert.throws(() => new Supervisor({ children: [child("a", targets.member, { significant: true })] }), {
    name: "TypeError",
    message: /children\[0\] cannot be significant as it is permanent/,
  });
});
