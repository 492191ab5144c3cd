/**
 * Chaos against a real nats-server: a node SIGKILLed mid-run, the server
 * restarted mid-run. Counts lost and duplicated results: none may be lost,
 * and each task's result reaches its caller once.
 */

import assert from "node:assert/strict";
import { startNats } from "./_nats.ts";
import { Cluster } from "../src/cluster/mod.ts";
import { slowId } from "./testdata/cluster_jobs.ts";

const MODULE = new URL("./testdata/cluster_jobs.ts", import.meta.url).href;
const NODE = new URL("./testdata/cluster_node_script.ts", import.meta.url);

/** A node as a program of its own, ready (it printed "ready"); its output is drained. */
async function startNode(
  url: string,
  pool: string,
  processes = 2,
): Promise<Deno.ChildProcess & AsyncDisposable> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", NODE.href, url, pool, String(processes)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) {
      const stderr = await new Response(child.stderr).text();
      throw new Error(`The node exited before it was ready:\n${stderr}`);
    }
    text += value;
  }
  const drained = Promise.all([
    (async () => {
      while (!(await reader.read()).done);
    })(),
    child.stderr.pipeTo(new WritableStream()),
  ]);
  return Object.assign(child, {
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      await drained;
    },
  });
}

/** Submits `n` tasks and returns how many results each task got, and when `after` results arrived, calls `midway`. */
async function run(
  pool: ReturnType<Cluster["pool"]>,
  n: number,
  after: number,
  midway: () => Promise<void>,
): Promise<number[]> {
  const counts = new Array<number>(n).fill(0);
  let settled = 0;
  const reached = Promise.withResolvers<void>();
  const results = Array.from({ length: n }, (_, i) =>
    pool.applyAsync(slowId, [i, 20], {
      callback: (value) => {
        counts[value]!++;
        if (++settled === after) reached.resolve();
      },
    }));
  await reached.promise;
  await midway();
  for (const result of results) await result.get();
  return counts;
}

Deno.test("a node SIGKILLed mid-run: its tasks run on the other node, none lost, each result once", async () => {
  await using server = await startNats();
  await using nodeA = await startNode(server.url, "chaos");
  await using _nodeB = await startNode(server.url, "chaos");
  await using cluster = await Cluster.connect({ servers: server.url });
  await using pool = cluster.pool("chaos", { module: MODULE });
  const counts = await run(pool, 300, 60, async () => {
    nodeA.kill("SIGKILL");
    await nodeA.status;
  });
  assert.deepEqual(counts.filter((c) => c !== 1), [], "every task's result arrives exactly once");
  assert.equal(pool.stats().completed, 300);
  assert.equal(pool.stats().pending, 0);
});

Deno.test("nats-server restarted mid-run on the same store: none lost, each result once", async () => {
  await using server = await startNats();
  await using _node = await startNode(server.url, "restart");
  await using cluster = await Cluster.connect({
    servers: server.url,
    maxReconnectAttempts: -1,
    reconnectTimeWaitMs: 100,
  });
  await using pool = cluster.pool("restart", { module: MODULE });
  const counts = await run(pool, 300, 50, async () => {
    await server.stop();
    await server.start();
  });
  assert.deepEqual(counts.filter((c) => c !== 1), [], "every task's result arrives exactly once");
  assert.equal(pool.stats().completed, 300);
});
