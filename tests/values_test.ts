/**
 * Values that cross keep what structured clone keeps (holes, properties of
 * an array, every typed array), and errors keep what a task error keeps
 * (class name, own fields, cause, AggregateError's errors), whichever path
 * they take: a queue to and from a child, a pipe, an actor's tell and ask,
 * a manager's proxy. Each side describes what it got (`describe()`), and
 * the descriptions must be the sender's.
 */

import assert from "node:assert/strict";
import { Manager, Pipe, Pool, Process, Queue } from "../mod.ts";
import { BACKENDS, joined, PATIENCE_MS, processTest, started, within } from "./_helpers.ts";
import {
  argsReport,
  describeAll,
  MODULE as module,
  pipeEcho,
  poolEcho,
  poolThrow,
  queueEcho,
  readManaged,
  samples,
  sendFilledQueue,
  thrower,
  valuesActor,
} from "./testdata/values_targets.ts";

/** Asserts that `got` describes every sample as this process describes its own. */
function assertSamples(got: unknown, path: string): void {
  const expected = describeAll(samples());
  const described = typeof got === "object" && got !== null && !Array.isArray(got) &&
      Object.values(got).every((value) => typeof value === "string")
    ? got as Record<string, string>
    : describeAll(got as Record<string, unknown>);
  for (const key of Object.keys(expected)) {
    assert.equal(described[key], expected[key], `${key}, ${path}`);
  }
}

/** A tagged error as it arrives: an `Error` keeping its name, fields and cause's fields. */
function assertTagged(error: unknown, path: string): true {
  assert.ok(error instanceof Error, `${path}: ${String(error)}`);
  assert.equal(error.name, "TaggedError", path);
  assert.equal(error.message, "tagged", path);
  const fields = error as Error & { code?: string; details?: { attempts: number[]; when: Date } };
  assert.equal(fields.code, "E_TAGGED", `${path}: its code`);
  assert.deepEqual(fields.details, { attempts: [1, 2], when: new Date(0) }, `${path}: its details`);
  assert.ok(error.cause instanceof TypeError, `${path}: its cause`);
  assert.equal((error.cause as TypeError & { status?: number }).status, 503, `${path}: its cause's field`);
  return true;
}

for (const backend of BACKENDS) {
  processTest(
    `[${backend}] values keep their holes, properties, typed arrays and error fields in a child's args`,
    async () => {
      const out = new Queue<unknown>();
      const p = new Process({ target: argsReport, args: [samples(), out], module, backend });
      await started(p);
      assertSamples(await out.get({ timeout: PATIENCE_MS }), "in args");
      await joined(p);
      out.close();
    },
  );

  processTest(
    `[${backend}] an error whose cause or field cannot be copied crosses with it as its text, in args and in a queue`,
    async () => {
      const odd = () => "odd";
      const error = Object.assign(new Error("odd parts", { cause: odd }), { handler: odd, kept: 1 });
      const out = new Queue<unknown>();
      const p = new Process({ target: argsReport, args: [{ error }, out], module, backend });
      await started(p);
      const fromArgs = JSON.parse((await out.get({ timeout: PATIENCE_MS }) as { error: string }).error);
      assert.deepEqual([fromArgs.cause, fromArgs.fields], [String(odd), [["handler", String(odd)], [
        "kept",
        1,
      ]]]);
      await joined(p);
      await out.put(error);
      const fromQueue = await out.get({ timeout: PATIENCE_MS }) as typeof error;
      assert.deepEqual([fromQueue.cause, fromQueue.handler, fromQueue.kept], [String(odd), String(odd), 1]);
      out.close();
    },
  );

  processTest(
    `[${backend}] values keep their holes, properties, typed arrays and error fields through a queue, both ways`,
    async () => {
      const inbox = new Queue<Record<string, unknown>>(), outbox = new Queue<unknown>();
      const p = new Process({ target: queueEcho, args: [inbox, outbox], module, backend });
      await started(p);
      await inbox.put(samples());
      assertSamples(await outbox.get({ timeout: PATIENCE_MS }), "to the child through a queue");
      assertSamples(await outbox.get({ timeout: PATIENCE_MS }), "from the child through a queue");
      await joined(p);
      inbox.close();
      outbox.close();
    },
  );

  processTest(
    `[${backend}] values keep their holes, properties, typed arrays and error fields through a pipe, both ways`,
    async () => {
      const [here, there] = Pipe<Record<string, unknown>, unknown>();
      const p = new Process({ target: pipeEcho, args: [there], module, backend });
      await started(p);
      there.close();
      here.send(samples());
      assertSamples(await here.recv({ timeout: PATIENCE_MS }), "to the child through a pipe");
      assertSamples(await here.recv({ timeout: PATIENCE_MS }), "from the child through a pipe");
      await joined(p);
      here.close();
    },
  );

  processTest(
    `[${backend}] values keep their holes, properties, typed arrays and error fields in an actor's tells, asks and answers`,
    async () => {
      const p = new Process({ target: valuesActor, module, backend });
      await started(p);
      const ref = p.ref<unknown, unknown>();
      ref.tell(samples());
      assertSamples(await ref.ask("told", { timeout: PATIENCE_MS }), "in a tell");
      const answer = await ref.ask(samples(), { timeout: PATIENCE_MS }) as { got: unknown; own: unknown };
      assertSamples(answer.got, "in an ask");
      assertSamples(answer.own, "in an answer");
      await assert.rejects(
        ref.ask("throw", { timeout: PATIENCE_MS }),
        (error) => assertTagged(error, "an ask's error"),
      );
      p.mailbox.close();
      await joined(p);
    },
  );

  processTest(
    `[${backend}] values keep their holes, properties, typed arrays and error fields in a pool's tasks`,
    async () => {
      await using pool = new Pool({ processes: 1, module, backend });
      const answer = await within(pool.apply(poolEcho, [samples()])) as { got: unknown; own: unknown };
      assertSamples(answer.got, "in a task's args");
      assertSamples(answer.own, "in a task's result");
      await assert.rejects(
        within(pool.apply(poolThrow, [])),
        (error) => assertTagged(error, "a task's error"),
      );
    },
  );

  processTest(
    `[${backend}] values keep their holes, properties, typed arrays and error fields through a manager`,
    async () => {
      await using manager = new Manager({ backend });
      manager.register("Thrower", thrower, { module });
      await within(manager.start());
      const dict = await within(manager.dict<string, Record<string, unknown>>());
      await within(dict.set("samples", samples()));
      assertSamples(await within(dict.get("samples")), "to the manager and back");
      const out = new Queue<unknown>();
      const p = new Process({ target: readManaged, args: [dict, out], module, backend });
      await started(p);
      assertSamples(await out.get({ timeout: PATIENCE_MS }), "from the manager to a child");
      await joined(p);
      out.close();
      const failing = await within(manager.create("Thrower"));
      await assert.rejects(
        within(failing.call("fail")),
        (error) => assertTagged(error, "a managed method's error"),
      );
    },
  );
}

// A worker registers a queue it sends with the root as it sends it, and the item naming it may arrive first:
// the root must wait for the registration, not call itself with stale sizes (it once saw 0 items).
processTest("a queue a worker child made and filled arrives with its sizes", async () => {
  for (let run = 0; run < 5; run++) {
    const out = new Queue<Queue<number>>();
    const p = new Process({ target: sendFilledQueue, args: [out, 2], module, backend: "worker" });
    await started(p);
    const q = await out.get({ timeout: PATIENCE_MS });
    assert.deepEqual([q.qsize(), q.full(), q.empty()], [2, true, false], `run ${run}`);
    assert.equal(await q.get({ timeout: PATIENCE_MS }), 0);
    await joined(p);
    out.close();
  }
});
