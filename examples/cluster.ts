/**
 * troupe across machines, on one machine: a nats-server (started here, or
 * the one at NATS_URL), two node programs serving the pool "example", and
 * this program submitting 120 tasks. A third of the way through it kills
 * one node with SIGKILL; JetStream gives that node's unacknowledged tasks to
 * the other, and every result comes back, each once.
 *
 *   deno task ex:cluster
 */

import { Cluster } from "../src/cluster/mod.ts";

/** A task: a little work, and which node (and process) ran it. */
export async function whoRuns(i: number): Promise<[number, string]> {
  await new Promise((resolve) => setTimeout(resolve, 30));
  return [i, Deno.env.get("TROUPE_EXAMPLE_NODE") ?? "?"];
}

/** A nats-server with JetStream on a free port, until the returned function stops it. */
async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const store = await Deno.makeTempDir({ prefix: "troupe_example_" });
  const child = new Deno.Command("nats-server", {
    args: ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", store],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (!/Server is ready/.test(log)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`nats-server did not start:\n${log}`);
    log += value;
  }
  const drained = (async () => {
    while (!(await reader.read()).done);
  })();
  const port = /Listening for client connections on [^\s]+:(\d+)/.exec(log)![1];
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await drained;
      await Deno.remove(store, { recursive: true });
    },
  };
}

/** One node: serves the pool until killed. */
async function node(url: string): Promise<void> {
  const cluster = await Cluster.connect({
    servers: url,
    name: Deno.env.get("TROUPE_EXAMPLE_NODE")!,
    ackWaitMs: 2000,
  });
  await cluster.serve("example", { module: import.meta.url, processes: 2 });
  console.log("ready");
}

/** Starts a node program and waits until it serves. */
async function startNode(url: string, name: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.url, "--node", url],
    env: { TROUPE_EXAMPLE_NODE: name },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} exited before it served`);
    text += value;
  }
  reader.releaseLock();
  return child;
}

if (import.meta.main) {
  if (Deno.args[0] === "--node") {
    await node(Deno.args[1]!);
  } else {
    const given = Deno.env.get("NATS_URL");
    const server = given ? { url: given, stop: async () => {} } : await startServer();
    console.log(given ? `using the nats-server at ${given}` : `started a nats-server at ${server.url}`);
    const nodes = [await startNode(server.url, "node-1"), await startNode(server.url, "node-2")];
    console.log('two nodes serve the pool "example", 2 processes each');
    {
      await using cluster = await Cluster.connect({ servers: server.url, name: "submitter" });
      await using pool = cluster.pool("example", { module: import.meta.url });
      const n = 120;
      const ranOn = new Map<string, number>();
      const received = new Array<number>(n).fill(0);
      let done = 0;
      const killAt = Promise.withResolvers<void>();
      const results = Array.from({ length: n }, (_, i) =>
        pool.applyAsync(whoRuns, [i], {
          callback: ([index, where]) => {
            received[index]!++;
            ranOn.set(where, (ranOn.get(where) ?? 0) + 1);
            if (++done === n / 3) killAt.resolve();
          },
        }));
      await killAt.promise;
      nodes[0]!.kill("SIGKILL");
      await nodes[0]!.status;
      console.log(`killed node-1 with SIGKILL after ${n / 3} results; its unacknowledged tasks go to node-2`);
      for (const result of results) await result.get();
      for (const [where, count] of [...ranOn].sort()) console.log(`  ${where} ran ${count} tasks`);
      const lost = received.filter((c) => c === 0).length;
      const twice = received.filter((c) => c > 1).length;
      console.log(`${n - lost} of ${n} results, ${lost} lost, ${twice} received twice`);
      console.log(`dropped duplicate results (a task run again after the kill): ${pool.stats().duplicates}`);
    }
    nodes[1]!.kill("SIGTERM");
    await nodes[1]!.status;
    for (const child of nodes) await child.stdout.cancel().catch(() => {});
    await server.stop();
  }
}
