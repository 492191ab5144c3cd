import assert from "node:assert/strict";
import {
  ActorExitedError,
  type ActorRef,
  currentProcess,
  Process,
  ProcessError,
  ProcessTimeoutError,
  Queue,
} from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, crashReport, joined, PATIENCE_MS, within, withReports } from "./_helpers.ts";
import * as targets from "./testdata/actor_targets.ts";

const module = targets.MODULE;

// ---------------------------------------------------------------------------
// Without processes
// ---------------------------------------------------------------------------

Deno.test("ActorRef.ask rejects a timeout that is not a number with a TypeError, sending nothing", async () => {
  const p = new Process({ module });
  const ref = p.ref();
  await assert.rejects(ref.ask("hi", { timeout: "x" as unknown as number }), {
    name: "TypeError",
    message: /timeout must be a number/,
  });
  await assert.rejects(ref.ask("hi", { timeout: NaN }), TypeError);
  assert.ok(p.mailbox.empty(), "nothing was sent");
});

Deno.test("ActorRef.tell of an uncloneable message throws a TypeError naming the part, sending nothing", async () => {
  const p = new Process({ module });
  const ref = p.ref<unknown>();
  assert.throws(() => ref.tell({ id: 1, onDone() {} }), (error) => {
    assert.ok(error instanceof TypeError, `a TypeError, not ${error}`);
    assert.match(error.message, /\.onDone is a function/);
    return true;
  });
  assert.throws(() => ref.tell(() => 1), { name: "TypeError", message: /is a function/ });
  await assert.rejects(ref.ask({ list: [1, Symbol("s")] }, { timeout: 50 }), {
    name: "TypeError",
    message: /\.list\[1\] is a symbol/,
  });
  assert.ok(p.mailbox.empty(), "nothing was sent");
  ref.tell("fine");
  assert.equal(await p.mailbox.get({ timeout: PATIENCE_MS }), "fine");
});

Deno.test("the main process's own ref: tell puts into its mailbox, toString names it", async () => {
  const me = currentProcess().ref<string>();
  assert.equal(String(me), `<ActorRef ${currentProcess().name}>`);
  me.tell("note to self");
  assert.equal(await currentProcess().mailbox.get({ timeout: PATIENCE_MS }), "note to self");
});

// ---------------------------------------------------------------------------
// Across processes
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test("a serve() child runs init first, keeps its state across tells and asks, and ends when its mailbox closes", async () => {
    const p = new Process({ target: targets.counter, module, backend });
    const ref = p.ref<number | "get" | "log", unknown>();
    ref.tell(1); // waits in the mailbox until the child reads it
    await p.start();
    ref.tell(2);
    assert.equal(await ref.ask("get", { timeout: PATIENCE_MS }), 3);
    ref.tell(10);
    assert.equal(await ref.ask("get", { timeout: PATIENCE_MS }), 13);
    assert.deepEqual(await ref.ask("log", { timeout: PATIENCE_MS }), [
      "init",
      "tell 1",
      "tell 2",
      "ask get",
      "tell 10",
      "ask get",
      "ask log",
    ]);
    p.mailbox.close();
    await joined(p, 0);
  });

  test("an ask that times out rejects with ProcessTimeoutError; the actor keeps working and its late answer is dropped", async () => {
    const gate = new Queue<unknown>();
    const p = new Process({ target: targets.echo, args: [gate], module, backend });
    await p.start();
    const ref = p.ref<string, string>();
    const started = performance.now();
    await assert.rejects(ref.ask("wait", { timeout: 100 }), (error) => {
      assert.ok(error instanceof ProcessTimeoutError && error instanceof ProcessError);
      assert.match(error.message, /did not answer within 100 ms/);
      return true;
    });
    assert.ok(performance.now() - started >= 90, "the ask waited for its timeout");
    // The actor is still busy with "wait"; let it answer late. That answer
    // reaches this process's reply queue before the next one, and must not
    // be taken for it.
    await gate.put("go");
    assert.equal(await ref.ask("next", { timeout: PATIENCE_MS }), "next");
    assert.equal(await ref.ask("again", { timeout: PATIENCE_MS }), "again");

    // An aborted ask rejects with the signal's reason; its late answer is dropped too.
    const controller = new AbortController();
    const reason = new Error("no more waiting");
    const aborted = ref.ask("wait", { timeout: PATIENCE_MS, signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(aborted, (error) => error === reason);
    await assert.rejects(
      ref.ask("never sent", { signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
    await gate.put("go");
    assert.equal(await ref.ask("after abort", { timeout: PATIENCE_MS }), "after abort");
    p.mailbox.close();
    await joined(p, 0);
  });

  test(
    "an ask to a process that has exited rejects with ActorExitedError at once, not at its timeout",
    withReports([crashReport("Error: crashes at once")], async () => {
      const p = new Process({ target: targets.crashAtOnce, module, backend });
      await p.start();
      await joined(p, 1);
      const timeout = 4_000;
      const started = performance.now();
      await assert.rejects(p.ref().ask("anyone?", { timeout }), (error) => {
        assert.ok(error instanceof ActorExitedError && error instanceof ProcessError);
        assert.equal(error.name, "ActorExitedError");
        return true;
      });
      const elapsed = performance.now() - started;
      assert.ok(elapsed < timeout / 2, `rejected after ${Math.round(elapsed)} ms`);
    }),
  );

  test("an ask whose actor exits while handling it rejects with ActorExitedError at once", async () => {
    const p = new Process({ target: targets.echo, module, backend });
    await p.start();
    const ref = p.ref<string, string>();
    assert.equal(await ref.ask("alive?", { timeout: PATIENCE_MS }), "alive?");
    const timeout = 4_000;
    const started = performance.now();
    await assert.rejects(ref.ask("die", { timeout }), (error) => {
      assert.ok(error instanceof ActorExitedError, `an ActorExitedError, not ${error}`);
      assert.match(error.message, /exited with code 3/);
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < timeout / 2, `rejected after ${Math.round(elapsed)} ms`);
    await joined(p, 3);
  });

  test(
    "a handler that throws: the ask rejects with its error, then the actor exits with code 1",
    withReports([crashReport("RangeError: cannot answer throw")], async () => {
      const p = new Process({ target: targets.echo, module, backend });
      await p.start();
      const ref = p.ref<string, string>();
      await assert.rejects(ref.ask("throw", { timeout: PATIENCE_MS }), (error) => {
        assert.ok(error instanceof Error);
        assert.equal(error.name, "RangeError");
        assert.equal(error.message, "cannot answer throw");
        return true;
      });
      await joined(p, 1);
      // And the next ask learns it is gone.
      await assert.rejects(ref.ask("more?", { timeout: PATIENCE_MS }), ActorExitedError);
    }),
  );

  test(
    "a tell handler that throws ends the actor with code 1, terminate seeing the error",
    withReports([crashReport("Error: m crashed on purpose")], async () => {
      const log = new Queue<targets.MemberEvent>();
      const p = new Process({ target: targets.member, args: ["m", log], module, backend });
      await p.start();
      p.ref<string>().tell("crash");
      assert.deepEqual(await log.get({ timeout: PATIENCE_MS }), { event: "init", name: "m" });
      assert.deepEqual(await log.get({ timeout: PATIENCE_MS }), {
        event: "terminate",
        name: "m",
        reason: "error: m crashed on purpose",
      });
      await joined(p, 1);
    }),
  );

  test('terminate runs with reason "normal" once the mailbox is closed and drained', async () => {
    const log = new Queue<targets.MemberEvent>();
    const p = new Process({ target: targets.member, args: ["m", log], module, backend });
    await p.start();
    const ref = p.ref<string, unknown>();
    ref.tell("a");
    ref.tell("b");
    assert.deepEqual(await log.get({ timeout: PATIENCE_MS }), { event: "init", name: "m" });
    assert.deepEqual(await ref.ask("marks", { timeout: PATIENCE_MS }), ["a", "b"]);
    ref.tell("c");
    p.mailbox.close();
    assert.throws(() => ref.tell("too late"), { name: "QueueClosedError" });
    assert.deepEqual(await log.get({ timeout: PATIENCE_MS }), {
      event: "terminate",
      name: "m",
      reason: "normal",
    });
    await joined(p, 0);
  });

  test("a ref sent inside a tell reaches the child, which replies through it", async () => {
    const p = new Process({ target: targets.replier, module, backend });
    await p.start();
    const ref = p.ref<{ replyTo: ActorRef<unknown>; value: unknown }>();
    ref.tell({ replyTo: currentProcess().ref(), value: "hello" });
    ref.tell({ replyTo: currentProcess().ref(), value: { nested: [1, 2] } });
    assert.deepEqual(await currentProcess().mailbox.get({ timeout: PATIENCE_MS }), {
      echoed: "hello",
      by: p.name,
    });
    assert.deepEqual(await currentProcess().mailbox.get({ timeout: PATIENCE_MS }), {
      echoed: { nested: [1, 2] },
      by: p.name,
    });
    // A ref inside a message comes back a working ref: here one to another child.
    const counter = new Process({ target: targets.counter, module, backend });
    await counter.start();
    ref.tell({ replyTo: currentProcess().ref(), value: counter.ref() });
    const { echoed } = await currentProcess().mailbox.get({ timeout: PATIENCE_MS }) as {
      echoed: ActorRef<number>;
    };
    echoed.tell(7);
    assert.equal(await counter.ref<number | "get", number>().ask("get", { timeout: PATIENCE_MS }), 7);
    p.mailbox.close();
    counter.mailbox.close();
    await joined(p, 0);
    await joined(counter, 0);
  });

  for (const client of BACKENDS) {
    test(`a ref in args lets a ${client} child tell and ask this ${backend} actor`, async () => {
      const server = new Process({ target: targets.counter, module, backend });
      await server.start();
      const out = new Queue<unknown>();
      const user = new Process({
        target: targets.useCounter,
        args: [server.ref<number | "get", number>(), out],
        module,
        backend: client,
      });
      await user.start();
      assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { n: 5, by: user.name });
      await joined(user, 0);
      server.mailbox.close();
      await joined(server, 0);
    });
  }
}

Deno.test(
  "a ref in args, asked from a child, learns at once that its actor has exited",
  withLeakCheck(
    withReports(
      [crashReport("Error: crashes at once"), crashReport("ActorExitedError: Cannot ask Process-")],
      async () => {
        // The asking child sees the exit too, not only the main process.
        const server = new Process({ target: targets.crashAtOnce, module });
        await server.start();
        await joined(server, 1);
        const out = new Queue<unknown>();
        const user = new Process({
          target: targets.useCounter,
          args: [server.ref<number | "get", number>(), out],
          module,
        });
        await user.start();
        await within(user.join());
        assert.equal(user.exitCode, 1, "useCounter's ask rejected, failing it");
        await assert.rejects(out.get({ block: false }), { name: "QueueEmptyError" });
      },
    ),
  ),
);
