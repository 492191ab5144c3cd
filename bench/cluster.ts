/**
 * `deno task bench:cluster`: the cluster pool on loopback, with a nats-server
 * of its own (or NATS_URL) and 2 node programs of 1 process each, each
 * holding up to 64 tasks (`--prefetch 64`). Prints the
 * p50 round trip of one small task, tiny tasks per second through
 * `applyAsync`, and items per second through a chunked `map`.
 *
 * Not yet side by side with BullMQ on Redis (the goal): see docs/cluster.md.
 */

import { Cluster } from "../src/cluster/mod.ts";
import { startNats } from "../tests/_nats.ts";
import { inc } from "./_cluster_targets.ts";

const MODULE = new URL("./_cluster_targets.ts", import.meta.url).href;
const NODE = new URL("../src/cluster/node.ts", import.meta.url).href;

async function startNode(url: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      NODE,
      "--servers",
      url,
      "--pool",
      "bench",
      "--module",
      MODULE,
      "--processes",
      "1",
      "--prefetch",
      "64",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("serving")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("a node exited before it served");
    text += value;
  }
  reader.releaseLock();
  return child;
}

const given = Deno.env.get("NATS_URL");
const server = given ? undefined : await startNats();
const url = given ?? server!.url;
const nodes = [await startNode(url), await startNode(url)];
try {
  await using cluster = await Cluster.connect({ servers: url });
  await using pool = cluster.pool("bench", { module: MODULE });
  for (let i = 0; i < 200; i++) await pool.apply(inc, [i]); // warm-up

  const rtt: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await pool.apply(inc, [i]);
    rtt.push(performance.now() - t0);
  }
  rtt.sort((a, b) => a - b);
  console.log(`one small task, round trip: p50 ${rtt[250]!.toFixed(2)} ms, p90 ${rtt[450]!.toFixed(2)} ms`);

  for (const n of [5_000, 20_000]) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => pool.applyAsync(inc, [i]).get()));
    const s = (performance.now() - t0) / 1000;
    console.log(`applyAsync, ${n} tiny tasks at once: ${Math.round(n / s)} tasks/s`);
  }

  const items = Array.from({ length: 1_000_000 }, (_, i) => i);
  for (const chunksize of [10_000, 50_000]) {
    const t0 = performance.now();
    await pool.map(inc, items, chunksize);
    const s = (performance.now() - t0) / 1000;
    console.log(`map of 1M items, chunksize ${chunksize}: ${Math.round(items.length / s)} items/s`);
  }
} finally {
  for (const node of nodes) {
    node.kill("SIGTERM");
    await node.status;
    await node.stdout.cancel().catch(() => {});
  }
  await server?.[Symbol.asyncDispose]();
}
