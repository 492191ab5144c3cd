/**
 * Pool: workers killed from outside while they start (issue 22, item 6). A
 * death by signal during start is a crash like any other, counted against
 * restart intensity; only a module or initializer that fails is a crash
 * loop that breaks the pool.
 */

import assert from "node:assert/strict";
import { withLeakCheck } from "../src/testing.ts";
import { PATIENCE_MS, within } from "./_helpers.ts";
import { pool } from "./testdata/pool_helpers.ts";
import * as targets from "./testdata/pool_start_kill_targets.ts";

/** How many starting workers the test kills in a row: more than the crash-loop rule's 3. */
const KILLS = 5;

/** Reads what a worker says ("init <pid>" or "task <pid>"), up to its newline. */
async function readLine(conn: Deno.Conn): Promise<[string, number]> {
  const bytes: number[] = [];
  const chunk = new Uint8Array(32);
  for (;;) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error(`A worker hung up before it said what it is (got ${bytes.length} bytes)`);
    bytes.push(...chunk.subarray(0, n));
    if (bytes.at(-1) !== 10) continue;
    const [what, pid] = new TextDecoder().decode(new Uint8Array(bytes)).trim().split(" ");
    return [what!, Number(pid)];
  }
}

const GO = new Uint8Array([103]);

Deno.test(
  "Pool: workers SIGKILLed from outside while they start are replaced; a map on the healthy worker loses and repeats nothing (subprocess)",
  withLeakCheck(async () => {
    // Every worker's initializer, and the map's gate item, call here and wait for an answer.
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using p = pool("subprocess", 2, {
      retries: 3,
      module: targets.MODULE,
      initializer: targets.reportThenWait,
      initargs: [listener.addr.port],
    });
    const killed = Promise.withResolvers<void>();
    const gated: Promise<void>[] = [];
    let starts = 0, kills = 0;
    const serve = async () => {
      for await (const conn of listener) {
        const [what, pid] = await readLine(conn);
        if (what === "task") {
          // The map waits here, mid-way, until every kill is done.
          gated.push(killed.promise.then(() => conn.write(GO)).then(() => {}));
          continue;
        }
        // The first worker is the healthy one; the next KILLS are killed while they start.
        if (starts++ === 0 || kills >= KILLS) {
          await conn.write(GO);
          continue;
        }
        const worker = p.stats().workers.find((w) => w.pid === pid);
        assert.ok(worker && !worker.ready, `pid ${pid} is a starting worker of the pool`);
        Deno.kill(pid, "SIGKILL");
        conn.close();
        if (++kills === KILLS) killed.resolve();
      }
    };
    const serving = serve().catch(killed.reject);
    const items = Array.from({ length: 2_000 }, (_, i) => i);
    const mapped = p.map(targets.gatedSquare, items, { chunksize: 10 });
    // The map cannot finish before the kills: if the pool breaks, it fails, and that ends the wait.
    await within(Promise.race([killed.promise, mapped]), PATIENCE_MS * 3);
    assert.equal(kills, KILLS);
    assert.deepEqual(await within(mapped, PATIENCE_MS * 3), items.map((x) => x * x));
    // Every chunk ran once and none failed; every kill was a restart.
    const stats = p.stats();
    assert.equal(stats.state, "RUN");
    assert.equal(stats.failed, 0);
    assert.equal(stats.completed, items.length);
    assert.equal(stats.chunks.completed, items.length / 10);
    assert.equal(stats.restarts, KILLS);
    // The pool goes on.
    assert.deepEqual(await within(p.map(targets.square, [1, 2, 3])), [1, 4, 9]);
    listener.close();
    await serving;
    await Promise.all(gated);
  }),
);

Deno.test(
  "Pool: a kill from outside during start counts against restart intensity, as any crash does (subprocess)",
  withLeakCheck(async () => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = pool("subprocess", 1, {
      intensity: 1,
      periodMs: 60_000,
      module: targets.MODULE,
      initializer: targets.reportThenWait,
      initargs: [listener.addr.port],
    });
    try {
      const pending = p.apply(targets.square, [3]);
      // Every worker is killed while it starts: the second kill is one crash more than intensity 1 allows.
      let kills = 0;
      for await (const conn of listener) {
        const [, pid] = await readLine(conn);
        Deno.kill(pid, "SIGKILL");
        conn.close();
        if (++kills === 2) break;
      }
      await assert.rejects(within(pending), {
        name: "PoolClosedError",
        message:
          /Pool broke: its workers exited more than 1 times within 60000 ms \(the last with exit code -9\)/,
      });
      await within(p.join());
    } finally {
      await p.terminate();
    }
  }),
);
