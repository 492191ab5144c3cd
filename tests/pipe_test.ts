import assert from "node:assert/strict";
import {
  BrokenPipeError,
  type Connection,
  EOFError,
  Pipe,
  Process,
  ProcessError,
  ProcessTimeoutError,
  Queue,
} from "../mod.ts";
import { withLeakCheck } from "../src/testing.ts";
import { BACKENDS, crashReport, joined, PATIENCE_MS, within, withReports } from "./_helpers.ts";
import * as targets from "./testdata/queue_targets.ts";

const module = targets.MODULE;

/** Receives until EOF; every recv has a timeout. */
async function recvAll<T>(conn: Connection<unknown, T>): Promise<T[]> {
  const got: T[] = [];
  for (;;) {
    try {
      got.push(await conn.recv({ timeout: PATIENCE_MS }));
    } catch (error) {
      if (error instanceof EOFError) return got;
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------
// One process
// ---------------------------------------------------------------------------

Deno.test("Pipe() is duplex: each end sends to the other", async () => {
  const [a, b] = Pipe<string, number>();
  assert.ok(a.readable && a.writable && b.readable && b.writable);
  a.send("hello");
  b.send(5);
  assert.equal(await b.recv({ timeout: PATIENCE_MS }), "hello");
  assert.equal(await a.recv({ timeout: PATIENCE_MS }), 5);
  a.close();
  b.close();
});

Deno.test("Pipe(false) is [reader, writer]: send on the reader and recv or poll on the writer fail", async () => {
  const [reader, writer] = Pipe<string>(false);
  assert.ok(reader.readable && !reader.writable);
  assert.ok(writer.writable && !writer.readable);
  assert.throws(() => (reader as unknown as Connection<string, never>).send("x"), (error) => {
    assert.ok(error instanceof ProcessError);
    assert.match(error.message, /read-only/);
    return true;
  });
  await assert.rejects((writer as unknown as Connection<never, string>).recv({ timeout: 10 }), {
    name: "ProcessError",
    message: /write-only/,
  });
  await assert.rejects((writer as unknown as Connection<never, string>).poll(), ProcessError);
  writer.send("one way");
  assert.equal(await reader.recv({ timeout: PATIENCE_MS }), "one way");
  assert.throws(() => Pipe("yes" as unknown as false), TypeError);
  reader.close();
  writer.close();
});

Deno.test("Pipe messages never merge or split, and arrive in order", async () => {
  const [a, b] = Pipe<unknown>();
  a.send("a");
  a.send("b");
  a.send("cd");
  a.send(["e", "f"]);
  assert.equal(await b.recv({ timeout: PATIENCE_MS }), "a");
  assert.equal(await b.recv({ timeout: PATIENCE_MS }), "b");
  assert.equal(await b.recv({ timeout: PATIENCE_MS }), "cd");
  assert.deepEqual(await b.recv({ timeout: PATIENCE_MS }), ["e", "f"]);
  assert.equal(await b.poll(), false, "nothing more");
  const big = new Uint8Array(3 * 1024 * 1024).fill(7);
  a.send(big);
  a.send("small");
  assert.deepEqual(await b.recv({ timeout: PATIENCE_MS }), big);
  assert.equal(await b.recv({ timeout: PATIENCE_MS }), "small");
  a.close();
  b.close();
});

Deno.test("Pipe: an empty string, null, undefined, 0 and false are real messages", async () => {
  const [a, b] = Pipe<unknown>();
  const messages = ["", null, undefined, 0, false, -0, NaN];
  for (const message of messages) a.send(message);
  for (const message of messages) {
    assert.equal(await b.poll(), true);
    const got = await b.recv({ timeout: PATIENCE_MS });
    assert.ok(Object.is(got, message), `${String(message)} came back as ${String(got)}`);
  }
  assert.equal(await b.poll(), false);
  a.close();
  b.close();
});

Deno.test("Connection.send copies: later changes to the value are not seen", async () => {
  const [a, b] = Pipe<{ list: number[] }>();
  const value = { list: [1] };
  a.send(value);
  value.list.push(2);
  assert.deepEqual(await b.recv({ timeout: PATIENCE_MS }), { list: [1] });
  a.close();
  b.close();
});

Deno.test("Connection.poll: 0 by default only checks, a timeout waits, null waits forever, nothing is taken", async () => {
  const [a, b] = Pipe<number>();
  let started = performance.now();
  assert.equal(await a.poll(), false);
  assert.equal(await a.poll(0), false);
  assert.equal(await a.poll(-5), false);
  assert.ok(performance.now() - started < 1_000, "poll() does not wait");

  started = performance.now();
  assert.equal(await a.poll(50), false);
  assert.ok(performance.now() - started >= 45, "poll(50) waited");

  const forever = a.poll(null);
  let settled = false;
  forever.then(() => settled = true, () => settled = true);
  // A timed poll on the same end runs out while the endless one still waits.
  assert.equal(await a.poll(30), false);
  assert.equal(settled, false, "poll(null) is still waiting");
  b.send(42);
  assert.equal(await within(forever), true);
  assert.equal(await a.poll(), true, "poll takes nothing");
  assert.equal(await a.recv({ timeout: PATIENCE_MS }), 42);
  assert.equal(await a.poll(), false);

  const controller = new AbortController();
  const aborted = a.poll(null, { signal: controller.signal });
  controller.abort(new Error("stop polling"));
  await assert.rejects(aborted, { message: "stop polling" });
  a.close();
  b.close();
});

Deno.test("Connection.poll is true at EOF", async () => {
  const [a, b] = Pipe<number>();
  const waiting = a.poll(PATIENCE_MS);
  b.close();
  assert.equal(await waiting, true, "a waiting poll wakes at EOF");
  assert.equal(await a.poll(), true);
  await assert.rejects(a.recv({ timeout: PATIENCE_MS }), EOFError);
  a.close();
});

Deno.test("Connection.recv drains what was sent, then rejects EOFError once the peer is closed", async () => {
  const [a, b] = Pipe<number>();
  const waiting = a.recv({ timeout: PATIENCE_MS });
  b.send(1);
  assert.equal(await waiting, 1);
  b.send(2);
  b.send(3);
  b.close();
  assert.equal(await a.recv({ timeout: PATIENCE_MS }), 2);
  assert.equal(await a.recv({ timeout: PATIENCE_MS }), 3);
  await assert.rejects(a.recv({ timeout: PATIENCE_MS }), (error) => {
    assert.ok(error instanceof EOFError && error instanceof ProcessError);
    assert.equal(error.name, "EOFError");
    return true;
  });
  await assert.rejects(a.recv({ timeout: PATIENCE_MS }), EOFError, "EOF again");

  // A recv already waiting when the peer closes wakes with EOFError.
  const [c, d] = Pipe<number>();
  const started = performance.now();
  const pending = c.recv({ timeout: PATIENCE_MS });
  d.close();
  await assert.rejects(pending, EOFError);
  assert.ok(performance.now() - started < 1_000);
  a.close();
  c.close();
});

Deno.test("Connection.send throws BrokenPipeError once the other end is closed", () => {
  const [a, b] = Pipe<number>();
  b.close();
  assert.throws(() => a.send(1), (error) => {
    assert.ok(error instanceof BrokenPipeError && error instanceof ProcessError);
    assert.equal(error.name, "BrokenPipeError");
    return true;
  });
  a.close();
  const [reader, writer] = Pipe<number>(false);
  reader.close();
  assert.throws(() => writer.send(1), BrokenPipeError);
  writer.close();
});

Deno.test("Connection.recv with a timeout rejects ProcessTimeoutError; a negative timeout only checks", async () => {
  const [a, b] = Pipe<number>();
  const started = performance.now();
  await assert.rejects(a.recv({ timeout: 50 }), (error) => {
    assert.ok(error instanceof ProcessTimeoutError && error instanceof ProcessError);
    assert.equal(error.name, "ProcessTimeoutError");
    return true;
  });
  assert.ok(performance.now() - started >= 45);
  await assert.rejects(a.recv({ timeout: -1 }), ProcessTimeoutError);
  b.send(1);
  assert.equal(await a.recv({ timeout: 0 }), 1, "a timeout of 0 still takes what is there");
  a.close();
  b.close();
});

Deno.test("Connection.recv aborted while waiting rejects with the reason and takes nothing", async () => {
  const [a, b] = Pipe<string>();
  const controller = new AbortController();
  const reason = new Error("stop");
  const waiting = a.recv({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  b.send("kept");
  assert.equal(await a.recv({ timeout: PATIENCE_MS }), "kept");
  a.close();
  b.close();
});

Deno.test("Connection.recv after an aborted recv wakes as soon as a message is sent", async () => {
  const [a, b] = Pipe<number>();
  const controller = new AbortController();
  const aborted = a.recv({ signal: controller.signal });
  controller.abort(new Error("gave up"));
  await assert.rejects(aborted, { message: "gave up" });
  const started = performance.now();
  const waiting = a.recv({ timeout: PATIENCE_MS });
  b.send(1);
  assert.equal(await waiting, 1);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 500, `the waiting recv took ${Math.round(elapsed)} ms to see the message`);
  a.close();
  b.close();
});

Deno.test("Connection.recv with an already-aborted signal rejects and takes nothing", async () => {
  const [a, b] = Pipe<string>();
  const reason = new Error("already");
  b.send("stays");
  await assert.rejects(a.recv({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
  assert.equal(await a.recv({ timeout: PATIENCE_MS }), "stays");
  a.close();
  b.close();
});

Deno.test("Connection: a closed end refuses send, recv and poll; close is idempotent; using closes", async () => {
  const [a, b] = Pipe<number>();
  a.close();
  a.close();
  assert.ok(a.closed && !b.closed);
  assert.throws(() => a.send(1), { name: "ProcessError", message: /closed connection/ });
  await assert.rejects(a.recv({ timeout: 10 }), { name: "ProcessError", message: /closed connection/ });
  await assert.rejects(a.poll(), ProcessError);
  {
    using end = b;
    assert.ok(!end.closed);
  }
  assert.ok(b.closed);
});

Deno.test("Connection.send of an uncloneable value throws a TypeError naming the part, and sends nothing", async () => {
  const [a, b] = Pipe<unknown>();
  assert.throws(() => a.send({ id: 1, onDone() {} }), {
    name: "TypeError",
    message: /message\.onDone is a function/,
  });
  assert.throws(() => a.send([Symbol("s")]), { name: "TypeError", message: /message\[0\] is a symbol/ });
  assert.equal(await b.poll(), false);
  a.close();
  b.close();
});

// ---------------------------------------------------------------------------
// Across processes
// ---------------------------------------------------------------------------

for (const backend of BACKENDS) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`[${backend}] ${name}`, withLeakCheck(fn));

  test("a child echoes every message on a duplex pipe until EOF", async () => {
    const [mine, theirs] = Pipe<unknown>();
    const out = new Queue<unknown>();
    const p = new Process({ target: targets.echo, args: [theirs, out], module, backend });
    await p.start();
    theirs.close(); // the child holds its own copy
    const messages = ["a", "b", "cd", "", null, { n: 1, when: new Date(3) }, new Uint8Array([1, 2]), 10n];
    for (const message of messages) {
      mine.send(message);
      assert.deepEqual(await mine.recv({ timeout: PATIENCE_MS }), message);
    }
    // Several in flight at once still arrive one by one.
    for (const message of messages) mine.send(message);
    for (const message of messages) assert.deepEqual(await mine.recv({ timeout: PATIENCE_MS }), message);
    mine.close();
    assert.deepEqual(await out.get({ timeout: PATIENCE_MS }), { echoed: messages.length * 2 });
    await joined(p);
  });

  test("a child reads from a one-way pipe and cannot send on the reader", async () => {
    const [reader, writer] = Pipe<string>(false);
    const out = new Queue<unknown>();
    const p = new Process({ target: targets.readOne, args: [reader, out], module, backend });
    await p.start();
    reader.close();
    writer.send("one way");
    const report = await out.get({ timeout: PATIENCE_MS }) as Record<string, unknown>;
    await joined(p);
    assert.equal(report.message, "one way");
    assert.equal(report.readable, true);
    assert.equal(report.writable, false);
    assert.equal((report.sendError as { name: string }).name, "ProcessError");
    writer.close();
  });

  test("the parent reads what a child sent, then EOFError once the child exits", async () => {
    const [mine, theirs] = Pipe<unknown>();
    const p = new Process({ target: targets.sendAll, args: [theirs, ["a", "b", "", null]], module, backend });
    await p.start();
    theirs.close(); // now only the child's copy is open, and it closes as the child ends
    assert.deepEqual(await recvAll(mine), ["a", "b", "", null]);
    await assert.rejects(mine.recv({ timeout: PATIENCE_MS }), EOFError);
    assert.equal(await mine.poll(), true);
    await joined(p);
    mine.close();
  });

  test(
    "the parent reads what a child sent, then EOFError once the child crashes",
    withReports([crashReport("Error: crashed on purpose")], async () => {
      const [reader, writer] = Pipe<number>(false);
      const p = new Process({ target: targets.sendThenThrow, args: [writer, [1, 2, 3]], module, backend });
      await p.start();
      writer.close();
      assert.deepEqual(await recvAll(reader), [1, 2, 3]);
      await joined(p, 1);
      reader.close();
    }),
  );

  test("the parent's copy keeps the pipe open after the child exits", async () => {
    const [mine, theirs] = Pipe<number>();
    const p = new Process({ target: targets.sendAll, args: [theirs, [7]], module, backend });
    await p.start();
    await joined(p);
    assert.equal(await mine.recv({ timeout: PATIENCE_MS }), 7);
    // theirs is still open here, so no EOF: the recv runs out of time instead.
    await assert.rejects(mine.recv({ timeout: 50 }), ProcessTimeoutError);
    theirs.close();
    await assert.rejects(mine.recv({ timeout: PATIENCE_MS }), EOFError);
    mine.close();
  });

  test("send throws BrokenPipeError once a child closed the only other copy", async () => {
    const [mine, theirs] = Pipe<number>();
    const out = new Queue<unknown>();
    const go = new Queue<unknown>();
    const p = new Process({ target: targets.closeAndWait, args: [theirs, out, go], module, backend });
    await p.start();
    mine.send(1); // the child's copy is still open
    theirs.close();
    assert.equal(await out.get({ timeout: PATIENCE_MS }), "closed");
    assert.throws(() => mine.send(2), BrokenPipeError);
    await assert.rejects(mine.recv({ timeout: PATIENCE_MS }), EOFError);
    await go.put("exit");
    await joined(p);
    mine.close();
  });

  test("a child's send throws BrokenPipeError once the reader is closed everywhere", async () => {
    const [reader, writer] = Pipe<string>(false);
    const go = new Queue<unknown>();
    const out = new Queue<unknown>();
    const p = new Process({ target: targets.sendWhenTold, args: [writer, go, out], module, backend });
    await p.start();
    writer.close();
    reader.close();
    await go.put("send now");
    const outcome = await out.get({ timeout: PATIENCE_MS });
    await joined(p);
    assert.deepEqual(outcome, {
      // A worker knows at once; a subprocess learns it with its next call (see Connection.send).
      attempt: backend === "worker" ? 1 : 2,
      name: "BrokenPipeError",
      message: "Cannot send as the other end of the pipe is closed",
    });
  });

  for (const how of ["terminate", "kill"] as const) {
    test(`a child's pipe end closes when the child is stopped by ${how}()`, async () => {
      const [mine, theirs] = Pipe<unknown>();
      const out = new Queue<unknown>();
      const p = new Process({ target: targets.holdUntilStopped, args: [theirs, out], module, backend });
      await p.start();
      theirs.close();
      assert.equal(await out.get({ timeout: PATIENCE_MS }), "holding");
      p[how]();
      await joined(p, how === "kill" ? -9 : -15);
      // As an OS closes a killed process's descriptors: what was sent is read, then EOF.
      assert.equal(await mine.recv({ timeout: PATIENCE_MS }), "holding");
      await assert.rejects(mine.recv({ timeout: PATIENCE_MS }), EOFError);
      mine.close();
    });
  }

  test(
    "a child that cannot find its target closes the pipe end it was given",
    // The start failure is the rejection awaited below: it is not printed as well.
    withReports([], async () => {
      const [mine, theirs] = Pipe<unknown>();
      const p = new Process({ target: targets.hiddenTarget(), args: [theirs], module, backend });
      await assert.rejects(p.start(), ProcessError);
      theirs.close();
      await joined(p, 1);
      await assert.rejects(mine.recv({ timeout: PATIENCE_MS }), EOFError);
      mine.close();
    }),
  );

  test("a start that fails on an uncloneable argument does not keep the pipe end it carried open", async () => {
    const [mine, theirs] = Pipe<unknown>();
    const p = new Process({ target: targets.sendAll, args: [theirs, [() => "not data"]], module, backend });
    assert.throws(() => p.start(), { name: "TypeError", message: /args\[1\]\[0\] is a function/ });
    theirs.close();
    await assert.rejects(mine.recv({ timeout: 2_000 }), EOFError);
    mine.close();
  });

  for (const grandchild of BACKENDS) {
    test(`a pipe end handed on to a ${grandchild} grandchild: EOF once both have closed it`, async () => {
      const [mine, theirs] = Pipe<unknown>();
      const p = new Process({
        target: targets.handOnPipe,
        args: [theirs, ["from the grandchild", { n: 2 }], grandchild],
        module,
        backend,
      });
      await p.start();
      theirs.close();
      assert.deepEqual(await recvAll(mine), ["from the child", "from the grandchild", { n: 2 }]);
      await joined(p);
      mine.close();
    });
  }
}
