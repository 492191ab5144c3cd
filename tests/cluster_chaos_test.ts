/**
 * Chaos against a real nats-server: a node SIGKILLed mid-run, the server
 * restarted mid-run. Counts lost and duplicated results: none may be lost,
 * and each task's result reaches its caller once.
 */

import assert from "node:assert/strict";
import { startNats } from "./_nats.ts";
import { PATIENCE_MS } from "./_helpers.ts";
import { Cluster } from "../src/cluster/mod.ts";
import { pidAfter } from "./testdata/cluster_jobs.ts";

const MODULE = new URL("./testdata/cluster_jobs.ts", import.meta.url).href;
const NODE = new URL("../src/cluster/node.ts", import.meta.url);

/** A node as a program of its own, started with the node command; ready once it says it serves. */
async function startNode(
  url: string,
  pool: string,
  processes = 2,
): Promise<Deno.ChildProcess & AsyncDisposable> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      NODE.href,
      ...["--servers", url, "--pool", pool, "--module", "tests/testdata/cluster_jobs.ts"],
      ...["--processes", String(processes), "--ack-wait-ms", "2000"],
    ],
    cwd: new URL("..", import.meta.url),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("troupe node serving pool")) {
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

/**
 * Submits `n` tasks, and once `after` results arrived, calls `midway` with
 * the pid of the node that sent the last one (it has more tasks in hand
 * then); returns how many results each task got (0: lost, 2: duplicated).
 */
async function run(
  pool: ReturnType<Cluster["pool"]>,
  n: number,
  after: number,
  midway: (busyNode: number) => Promise<void>,
): Promise<number[]> {
  const counts = new Array<number>(n).fill(0);
  let settled = 0;
  const reached = Promise.withResolvers<number>();
  const results = Array.from({ length: n }, (_, i) =>
    pool.applyAsync(pidAfter, [i, 20], {
      callback: ([index, pid]) => {
        counts[index]!++;
        if (++settled === after) reached.resolve(pid);
      },
    }));
  await midway(await reached.promise);
  // Bounded, so a lost task fails the test (its count stays 0) rather than hanging it.
  await Promise.all(results.map((result) => result.wait(PATIENCE_MS * 6)));
  return counts;
}

Deno.test("a node SIGKILLed mid-run: its tasks run on the other node, none lost, each result once", async () => {
  await using server = await startNats();
  const nodes = [await startNode(server.url, "chaos"), await startNode(server.url, "chaos")];
  await using _a = nodes[0]!;
  await using _b = nodes[1]!;
  await using cluster = await Cluster.connect({ servers: server.url });
  await using pool = cluster.pool("chaos", { module: MODULE });
  const counts = await run(pool, 300, 60, async (busy) => {
    const node = nodes.find((child) => child.pid === busy)!;
    node.kill("SIGKILL");
    await node.status;
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

Deno.test("a stuck node (SIGSTOP) loses its claim after ack_wait: its tasks run elsewhere, none lost", async () => {
  await using server = await startNats();
  const nodes = [await startNode(server.url, "stuck"), await startNode(server.url, "stuck")];
  await using _a = nodes[0]!;
  await using _b = nodes[1]!;
  await using cluster = await Cluster.connect({ servers: server.url });
  await using pool = cluster.pool("stuck", { module: MODULE });
  let stopped: Deno.ChildProcess | undefined;
  const counts = await run(pool, 200, 40, (busy) => {
    stopped = nodes.find((child) => child.pid === busy)!;
    // Frozen, not dead: no progress acks, so JetStream hands its tasks on after ack_wait (2 s).
    stopped.kill("SIGSTOP");
    return Promise.resolve();
  });
  stopped!.kill("SIGCONT");
  assert.deepEqual(counts.filter((c) => c !== 1), [], "every task's result arrives exactly once");
  assert.equal(pool.stats().completed, 200);
});
