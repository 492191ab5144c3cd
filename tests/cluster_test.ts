/**
 * The cluster pool against a real nats-server (started by this file, see
 * `_nats.ts`): the Pool API, refused and malformed tasks, size limits, a
 * submitter that cannot run anything locally, and the connection dropping.
 */

import assert from "node:assert/strict";
import { startNats } from "./_nats.ts";
import { runScript } from "./_helpers.ts";
import { Cluster, PoolClosedError } from "../src/cluster/mod.ts";
import { connect } from "../src/cluster/_nats.ts";
import { encode } from "../src/wire/_codec.ts";
import { add, big, fail, slowId, square } from "./testdata/cluster_jobs.ts";

const MODULE = new URL("./testdata/cluster_jobs.ts", import.meta.url).href;

Deno.test("a cluster pool has the Pool API, run by a node", async (t) => {
  await using server = await startNats();
  await using cluster = await Cluster.connect({ servers: server.url, name: "api-test" });
  await using node = await cluster.serve("api", { module: MODULE, processes: 2 });
  await using pool = cluster.pool("api", { module: MODULE });

  await t.step("apply and applyAsync with callbacks", async () => {
    assert.equal(await pool.apply(add, [2, 3]), 5);
    const seen: unknown[] = [];
    const result = pool.applyAsync(add, [1, 1], { callback: (v) => seen.push(v) });
    assert.equal(await result.get(), 2);
    assert.deepEqual(seen, [2]);
    assert.equal(result.successful(), true);
    const errors: unknown[] = [];
    const failed = pool.applyAsync(fail, ["no"], { errorCallback: (e) => errors.push(e) });
    await failed.wait();
    assert.equal(failed.successful(), false);
    await assert.rejects(failed.get(), { name: "TypeError", message: "no" });
    assert.equal(errors.length, 1);
  });

  await t.step("map, mapAsync, starmap with chunksize and onProgress", async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const progress: number[] = [];
    assert.deepEqual(
      await pool.map(square, items, { chunksize: 7, onProgress: (done) => progress.push(done) }),
      items.map((x) => x * x),
    );
    assert.equal(progress.length, Math.ceil(100 / 7));
    assert.equal(progress.at(-1), 100);
    assert.deepEqual(await pool.mapAsync(square, [1, 2, 3]).get(), [1, 4, 9]);
    assert.deepEqual(await pool.starmap(add, [[1, 2], [3, 4]]), [3, 7]);
    assert.deepEqual(await pool.map(square, []), []);
    await assert.rejects(pool.map(fail, ["a", "b"]), { name: "TypeError" });
  });

  await t.step("imap in order and imapUnordered, with a bound on chunks in flight", async () => {
    const ordered: number[] = [];
    for await (const y of pool.imap(square, Array.from({ length: 30 }, (_, i) => i), 4)) ordered.push(y);
    assert.deepEqual(ordered, Array.from({ length: 30 }, (_, i) => i * i));
    const unordered: number[] = [];
    for await (const y of pool.imapUnordered(square, [1, 2, 3, 4])) unordered.push(y);
    assert.deepEqual(unordered.sort((a, b) => a - b), [1, 4, 9, 16]);
  });

  await t.step("timeoutMs fails a task that runs too long; a signal cancels the wait", async () => {
    await assert.rejects(pool.apply(slowId, [1, 5_000], { timeoutMs: 200 }), { name: "ProcessTimeoutError" });
    const controller = new AbortController();
    const waiting = pool.apply(slowId, [1, 300], { signal: controller.signal });
    controller.abort(new Error("stop"));
    await assert.rejects(waiting, { message: "stop" });
  });

  await t.step("a function the node's module does not export fails that task only", async () => {
    // Same name as an export, other source: its key does not match.
    const square = (x: number) => x + 1;
    Object.defineProperty(square, "name", { value: "square" });
    await assert.rejects(pool.apply(square, [2]), {
      name: "ReferenceError",
      message: /Cannot find the function "square"/,
    });
    assert.equal(await pool.apply(add, [1, 1]), 2);
  });

  await t.step("a task naming another module fails, and the node never imports it", async () => {
    await using other = cluster.pool("api", { module: "https://example.com/evil.ts" });
    await assert.rejects(other.apply(add, [1, 2]), {
      name: "ReferenceError",
      message: /Cannot run a function of https:\/\/example.com\/evil.ts as this node serves only/,
    });
  });

  await t.step("arguments or a result over the server's max_payload fail with the limit named", async () => {
    await assert.rejects(pool.apply(big, [new Uint8Array(2 << 20)] as never), {
      name: "RangeError",
      message: /max_payload of 1048576 bytes/,
    });
    await assert.rejects(pool.apply(big, [2 << 20]), {
      name: "RangeError",
      message: /max_payload of 1048576 bytes/,
    });
  });

  await t.step("stats, close, join; a closed pool refuses tasks", async () => {
    const stats = pool.stats();
    assert.equal(stats.state, "RUN");
    assert.equal(stats.pending, 0);
    assert.ok(stats.completed > 0 && stats.failed > 0);
    const late = pool.applyAsync(slowId, [7, 100]);
    pool.close();
    await assert.rejects(pool.apply(add, [1, 2]), PoolClosedError);
    assert.throws(() => pool.applyAsync(add, [1, 2]), PoolClosedError);
    await pool.join(30_000);
    assert.equal(await late.get(), 7);
    assert.equal(pool.stats().state, "CLOSE");
  });

  await t.step("terminate fails what is pending with PoolClosedError", async () => {
    const pool2 = cluster.pool("api", { module: MODULE });
    const pending = assert.rejects(pool2.apply(slowId, [1, 1_000]), PoolClosedError);
    await pool2.terminate();
    await pending;
  });
  assert.equal(node.stats.dropped, 0);
});

Deno.test("serve refuses a module that is not an absolute URL, and a pool name that is not a subject token", async () => {
  await using server = await startNats();
  await using cluster = await Cluster.connect({ servers: server.url });
  await assert.rejects(cluster.serve("relative", { module: "./jobs.ts" }), {
    name: "TypeError",
    message: /Cannot serve \.\/jobs\.ts as it is not an absolute URL/,
  });
  assert.throws(() => cluster.pool("a.b"), { name: "TypeError", message: /as a cluster pool name/ });
  await assert.rejects(cluster.serve("a b", { module: MODULE }), { name: "TypeError" });
});

Deno.test("a malformed task message fails that task, or is dropped, and the node goes on", async () => {
  await using server = await startNats();
  await using cluster = await Cluster.connect({ servers: server.url });
  await using node = await cluster.serve("bad", { module: MODULE, processes: 1 });
  await using pool = cluster.pool("bad", { module: MODULE });
  assert.equal(await pool.apply(add, [1, 2]), 3); // the streams exist
  const nc = await connect({ servers: server.url });
  try {
    const { jetstream } = await import("../src/cluster/_nats.ts");
    const js = jetstream(nc);
    await js.publish("troupe.bad.tasks", new TextEncoder().encode("not troupe's encoding"));
    await js.publish("troupe.bad.tasks", encode(["A", 1, 2]));
    await js.publish(
      "troupe.bad.tasks",
      encode([1, "x.1", "client", "add#zz", MODULE, "apply", "no", null, null]),
    );
    assert.equal(await pool.apply(add, [2, 2]), 4);
    // The three were handled before or while the last task ran (one at a time on this node).
    assert.equal(node.stats.dropped + node.stats.failed, 3);
  } finally {
    await nc.close();
  }
});

Deno.test("a submitter without Worker and with --deny-run maps over the cluster", async () => {
  await using server = await startNats();
  await using cluster = await Cluster.connect({ servers: server.url });
  await using _node = await cluster.serve("deploy", { module: MODULE, processes: 1 });
  const { code, stdout, stderr } = await runScript("cluster_submitter_script.ts", {
    args: [server.url, "deploy"],
    flags: ["--allow-net=127.0.0.1", "--deny-run", "--deny-write", "--deny-ffi"],
  });
  assert.equal(stderr, "");
  assert.equal(code, 0);
  assert.equal(stdout.trim(), "[1,4,9,16]");
});

Deno.test("every pending task fails with PoolClosedError when the connection is lost", async () => {
  await using server = await startNats();
  // The nodes' connection outlives the restart; the pool's gives up at once.
  await using nodes = await Cluster.connect({
    servers: server.url,
    reconnectTimeWaitMs: 100,
    maxReconnectAttempts: -1,
  });
  await nodes.serve("drop", { module: MODULE, processes: 1 });
  const cluster = await Cluster.connect({ servers: server.url, maxReconnectAttempts: 0 });
  const pool = cluster.pool("drop", { module: MODULE });
  assert.equal(await pool.apply(add, [1, 2]), 3);
  const pending = [
    pool.apply(slowId, [1, 2_000]),
    pool.apply(slowId, [2, 2_000]),
    pool.starmap(slowId, [[1, 2_000], [2, 2_000]]),
  ].map((p) => assert.rejects(p, PoolClosedError));
  await server.stop();
  await Promise.all(pending);
  await assert.rejects(pool.apply(add, [1, 1]), PoolClosedError);
  await cluster.close();
  await server.start();
});

Deno.test("a long task keeps its claim (progress acks): no other node runs it again", async () => {
  await using server = await startNats();
  await using cluster = await Cluster.connect({ servers: server.url, ackWaitMs: 300 });
  await using a = await cluster.serve("long", { module: MODULE, processes: 1 });
  await using b = await cluster.serve("long", { module: MODULE, processes: 1 });
  await using pool = cluster.pool("long", { module: MODULE });
  // Runs 5 ack waits: without progress acks JetStream would give it to the other node after 300 ms.
  assert.equal(await pool.apply(slowId, [9, 1_500]), 9);
  // Stopping waits for a task a node still runs: a second run would count.
  await a.stop();
  await b.stop();
  assert.equal(a.stats.completed + b.stats.completed, 1);
  assert.equal(pool.stats().duplicates, 0);
});

Deno.test("imap keeps at most maxInFlight chunks queued or running", async () => {
  await using server = await startNats();
  await using cluster = await Cluster.connect({ servers: server.url });
  await using _node = await cluster.serve("bounded", { module: MODULE, processes: 2 });
  await using pool = cluster.pool("bounded", { module: MODULE, maxInFlight: 3 });
  let pulled = 0, peak = 0;
  function* items() {
    for (let i = 0; i < 40; i++) {
      pulled++;
      yield i;
    }
  }
  const out: number[] = [];
  for await (const y of pool.imap(square, items(), 2)) {
    peak = Math.max(peak, pool.stats().pending);
    out.push(y);
    // Never more than 3 chunks of 2 ahead of what was yielded, plus the chunk being filled.
    assert.ok(pulled - out.length <= 3 * 2 + 2, `pulled ${pulled} with ${out.length} yielded`);
  }
  assert.deepEqual(out, Array.from({ length: 40 }, (_, i) => i * i));
  assert.ok(peak <= 3, `peak ${peak} chunks pending`);
});
