/**
 * The ring on its own (`src/_ring.ts`): the FIFO every queue, pipe and
 * mailbox stands on. Two `Ring` views of one buffer play two isolates; one
 * test uses a real Worker.
 */

import assert from "node:assert/strict";
import type { Deadline } from "../src/core/_futex.ts";
import { finishItem, prepare } from "../src/memory/_item_codec.ts";
import { CLOSED_RING, EMPTY, FULL, Ring } from "../src/memory/_ring.ts";
import { PATIENCE_MS, within } from "./_helpers.ts";

/** A deadline `ms` from now. */
function after(ms: number, signal?: AbortSignal): Deadline {
  return { until: performance.now() + ms, signal };
}

const PATIENT: Deadline = { until: Infinity };

function put(ring: Ring, value: unknown, countTask = false): typeof FULL | typeof CLOSED_RING | undefined {
  return ring.tryPut(prepare(value), countTask);
}

/** Takes one item and decodes it; EMPTY or CLOSED_RING as the ring says. */
function take(ring: Ring): unknown {
  const taken = ring.tryTake();
  return taken === EMPTY || taken === CLOSED_RING ? taken : finishItem(taken);
}

/** Takes everything there is. */
function drain(ring: Ring): unknown[] {
  const items: unknown[] = [];
  for (let item = take(ring); item !== EMPTY && item !== CLOSED_RING; item = take(ring)) items.push(item);
  return items;
}

/** An item whose encoding takes about `bytes` bytes, tagged with `n` to check order. */
function sized(n: number, bytes: number): { n: number; pad: string } {
  return { n, pad: "x".repeat(bytes) };
}

Deno.test("a ring gives items back in the order they were put", () => {
  const ring = Ring.create(0);
  const items = [0, "one", { two: [2] }, null, true, [3, [4]], new Map([[5, 5]]), -0, undefined];
  for (const item of items) assert.equal(put(ring, item), undefined);
  assert.equal(ring.size, items.length);
  assert.deepEqual(drain(ring), items);
  assert.equal(ring.size, 0);
  assert.equal(ring.tryTake(), EMPTY, "an empty ring that is open says EMPTY");
});

Deno.test("a ring grows to hold what is put, and keeps the order", () => {
  const ring = Ring.create(0, 64);
  const before = ring.buffer.byteLength;
  const items = Array.from({ length: 50 }, (_, n) => sized(n, n * 37));
  for (const item of items) put(ring, item);
  assert.ok(ring.buffer.byteLength > before, "the buffer grew");
  assert.deepEqual(drain(ring), items);
});

Deno.test("a ring that is drained as fast as it is fed wraps instead of growing", () => {
  // Item sizes that do and do not divide the capacity, so the tail meets the end at every offset; an
  // entry of each reserves less than half the capacity (a JSON item reserves 3 bytes a character).
  for (const bytes of [1, 13, 60, 100, 200]) {
    const ring = Ring.create(0, 2048);
    const capacity = ring.buffer.byteLength;
    for (let n = 0; n < 500; n++) {
      put(ring, sized(n, bytes));
      assert.deepEqual(take(ring), sized(n, bytes));
    }
    assert.equal(ring.buffer.byteLength, capacity, `${bytes}-byte items: the ring never grew`);
  }
});

Deno.test("a ring that grows while its data wraps keeps every item in order", () => {
  for (const bytes of [8, 40, 90]) {
    const ring = Ring.create(0, 256);
    let next = 0, expected = 0;
    // Half full, then take some, so the next puts wrap to the start.
    for (let i = 0; i < 4; i++) put(ring, sized(next++, bytes));
    for (let i = 0; i < 3; i++) assert.deepEqual(take(ring), sized(expected++, bytes));
    // Many more than fit: the ring grows while the data is split in two.
    for (let i = 0; i < 40; i++) put(ring, sized(next++, bytes));
    assert.ok(ring.buffer.byteLength > 256, `${bytes}-byte items: the buffer grew`);
    const rest = drain(ring);
    assert.deepEqual(rest, Array.from({ length: next - expected }, (_, i) => sized(expected + i, bytes)));
  }
});

Deno.test("a bounded ring refuses a put past maxsize, and takes one again once an item is taken", async () => {
  const ring = Ring.create(2);
  assert.equal(ring.maxsize, 2);
  assert.equal(put(ring, "a"), undefined);
  assert.equal(put(ring, "b"), undefined);
  assert.equal(put(ring, "c"), FULL);
  assert.equal(ring.size, 2);
  assert.equal(await ring.put(prepare("c"), after(20)), FULL, "a blocking put gives up at its deadline");
  assert.equal(take(ring), "a");
  assert.equal(put(ring, "c"), undefined);
  assert.deepEqual(drain(ring), ["b", "c"]);
  assert.equal(Ring.create(0).maxsize, 0, "0 is unbounded");
});

Deno.test("a blocked put goes on once a taker makes room", async () => {
  const ring = Ring.create(1);
  const other = new Ring(ring.buffer);
  put(ring, "first");
  const putting = ring.put(prepare("second"), after(PATIENCE_MS));
  assert.equal(take(other), "first");
  assert.equal(await within(putting), undefined);
  assert.equal(take(other), "second");
});

Deno.test("a blocked take returns the item put by another view of the buffer", async () => {
  const ring = Ring.create(0);
  const other = new Ring(ring.buffer);
  const taking = ring.take(after(PATIENCE_MS));
  put(other, { hello: "there" });
  const taken = await within(taking);
  assert.notEqual(taken, EMPTY);
  assert.notEqual(taken, CLOSED_RING);
  assert.deepEqual(finishItem(taken as string | Uint8Array), { hello: "there" });
});

Deno.test("a take on an empty ring returns EMPTY at its deadline", async () => {
  const ring = Ring.create(0);
  const start = performance.now();
  assert.equal(await ring.take(after(30)), EMPTY);
  assert.ok(performance.now() - start >= 25, "it waited for its deadline");
  assert.equal(await ring.take({ until: 0 }), EMPTY, "a deadline already passed does not wait");
});

Deno.test("an aborted take or put rejects with the signal's reason and takes or puts nothing", async () => {
  const ring = Ring.create(1);
  const reason = new Error("stop");
  const controller = new AbortController();
  const taking = ring.take(after(PATIENCE_MS, controller.signal));
  controller.abort(reason);
  await assert.rejects(within(taking), (error) => error === reason);
  await assert.rejects(ring.take(after(PATIENCE_MS, AbortSignal.abort(reason))), (error) => error === reason);

  put(ring, "held");
  const putter = new AbortController();
  const putting = ring.put(prepare("more"), after(PATIENCE_MS, putter.signal));
  putter.abort(reason);
  await assert.rejects(within(putting), (error) => error === reason);
  assert.deepEqual(drain(ring), ["held"]);
});

Deno.test("a closed ring refuses puts, gives what it holds, then says CLOSED_RING", () => {
  const ring = Ring.create(0);
  put(ring, 1);
  put(ring, 2);
  assert.equal(ring.closed, false);
  assert.equal(ring.close(), true);
  assert.equal(ring.close(), false, "closing twice says it was closed already");
  assert.equal(ring.closed, true);
  assert.equal(ring.size, 2, "closing leaves the size alone");
  assert.equal(put(ring, 3), CLOSED_RING);
  assert.equal(take(ring), 1);
  assert.equal(take(ring), 2);
  assert.equal(ring.tryTake(), CLOSED_RING);
  assert.equal(ring.tryTake(), CLOSED_RING, "end-of-file stays");
});

Deno.test("closing a ring wakes its waiting takers and putters", async () => {
  const empty = Ring.create(0);
  const taking = empty.take(PATIENT);
  const polling = empty.poll(after(PATIENCE_MS));
  const full = Ring.create(1);
  put(full, "x");
  const putting = full.put(prepare("y"), PATIENT);
  new Ring(empty.buffer).close();
  new Ring(full.buffer).close();
  assert.equal(await within(taking), CLOSED_RING);
  assert.equal(await within(polling), true, "poll says something is there to read: end-of-file");
  assert.equal(await within(putting), CLOSED_RING);
});

Deno.test("poll waits for an item without taking it", async () => {
  const ring = Ring.create(0);
  assert.equal(await ring.poll(after(20)), false, "nothing came by the deadline");
  const polling = ring.poll(after(PATIENCE_MS));
  put(new Ring(ring.buffer), "here");
  assert.equal(await within(polling), true);
  assert.equal(ring.size, 1, "poll took nothing");
  assert.equal(await ring.poll({ until: 0 }), true);
});

Deno.test("putCount counts every put, and whenPut resolves at the next one", async () => {
  const ring = Ring.create(0);
  const first = ring.putCount;
  put(ring, "a");
  put(ring, "b");
  assert.equal(ring.putCount, first + 2);
  take(ring);
  assert.equal(ring.putCount, first + 2, "a take leaves it alone");
  const seen = ring.putCount;
  const waiting = ring.whenPut(seen, PATIENCE_MS);
  const start = performance.now();
  put(new Ring(ring.buffer), "c");
  await within(waiting);
  assert.ok(performance.now() - start < PATIENCE_MS / 2, "woken by the put, not by the timeout");
  await ring.whenPut(seen, PATIENCE_MS); // Moved already: resolves at once.
});

Deno.test("lastPut and taken tell a producer whether its item was taken", () => {
  const ring = Ring.create(0);
  const taker = new Ring(ring.buffer);
  put(ring, "a");
  const a = ring.lastPut;
  put(ring, "b");
  const b = ring.lastPut;
  assert.notEqual(a, b);
  assert.equal(ring.taken(a), false);
  assert.equal(take(taker), "a");
  assert.equal(ring.taken(a), true);
  assert.equal(ring.taken(b), false);
  assert.equal(take(taker), "b");
  assert.equal(ring.taken(b), true);
});

Deno.test("a joinable ring counts unfinished items until each is marked done", async () => {
  const ring = Ring.create(0);
  put(ring, "counted", true);
  put(ring, "counted too", true);
  put(ring, "not counted");
  assert.equal(ring.unfinished, 2);
  assert.equal(await ring.join(after(20)), false, "join gives up at its deadline");
  const joining = ring.join(after(PATIENCE_MS));
  assert.equal(ring.taskDone(), true);
  assert.equal(ring.unfinished, 1);
  assert.equal(new Ring(ring.buffer).taskDone(), true);
  assert.equal(await within(joining), true);
  assert.equal(ring.taskDone(), false, "more taskDone calls than counted items are refused");
  assert.equal(ring.unfinished, 0);
  assert.equal(await ring.join({ until: 0 }), true);
});

Deno.test("a ring's id is the same in every view and differs between rings", () => {
  const ring = Ring.create(0);
  assert.equal(new Ring(ring.buffer).id, ring.id);
  assert.match(ring.id, /^[0-9a-z]+(-[0-9a-z]+){3}$/);
  const ids = new Set(Array.from({ length: 100 }, () => Ring.create(0).id));
  assert.equal(ids.size, 100);
});

Deno.test("a pipe's ring counts its ends, and closes when the last sender goes", () => {
  const ring = Ring.create(0, 4096, 2);
  assert.equal(ring.addSenders(1), 1);
  assert.equal(ring.addSenders(1), 2);
  assert.equal(ring.addReceivers(1), 1);
  assert.equal(ring.senders, 2);
  assert.equal(ring.receivers, 1);
  assert.equal(ring.addSenders(-1), 1);
  assert.equal(ring.closed, false);
  assert.equal(ring.addReceivers(-1), 0);
  assert.equal(ring.closed, false, "the readers going does not close it");
  assert.equal(ring.addSenders(-1), 0);
  assert.equal(ring.closed, true);
});

Deno.test("copy slots count each copy out once, and copies past the slots go untracked", () => {
  const ring = Ring.create(0, 4096, 2);
  const other = new Ring(ring.buffer);
  assert.equal(ring.claimCopy(), 0);
  assert.equal(other.claimCopy(), 1, "slots are shared by every view");
  assert.equal(ring.claimCopy(), -1);
  assert.equal(ring.releaseCopy(1), true);
  assert.equal(other.releaseCopy(1), false, "a copy is counted out only once, whoever closes it");
  assert.equal(ring.releaseCopy(0), true);
  assert.equal(ring.releaseCopy(-1), true, "an untracked copy always counts");
  assert.equal(ring.releaseCopy(-1), true);
  // The slots come before the entries: items still go in and out whole.
  put(ring, { after: "the slots" });
  assert.deepEqual(take(other), { after: "the slots" });
  assert.equal(Ring.create(0).claimCopy(), -1, "a ring without slots tracks no copy");
});

Deno.test("a Worker and this isolate pass items both ways through one ring each", async () => {
  const worker = new Worker(new URL("./testdata/ring_echo_worker.ts", import.meta.url), { type: "module" });
  try {
    const inbox = Ring.create(4, 64), outbox = Ring.create(0);
    worker.postMessage([inbox.buffer, outbox.buffer]);
    const items = Array.from(
      { length: 200 },
      (_, n) => n % 3 === 0 ? sized(n, n) : n % 3 === 1 ? [n, -0] : `${n}`,
    );
    const reading = (async () => {
      const got: unknown[] = [];
      for (;;) {
        const taken = await outbox.take(after(PATIENCE_MS));
        if (taken === EMPTY) throw new Error("The worker stopped answering");
        if (taken === CLOSED_RING) return got;
        got.push(finishItem(taken));
      }
    })();
    for (const item of items) assert.equal(await inbox.put(prepare(item), after(PATIENCE_MS)), undefined);
    inbox.close();
    assert.deepEqual(await within(reading), items.map((echo) => ({ echo })));
  } finally {
    worker.terminate();
  }
});
