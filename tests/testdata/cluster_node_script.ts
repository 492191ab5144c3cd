/**
 * A cluster node as a program of its own: serves pool Deno.args[1] from
 * server Deno.args[0] with the jobs module, prints "ready", runs until killed.
 */
import { Cluster } from "../../src/cluster/mod.ts";

const [servers, pool, processes = "2"] = Deno.args;
const cluster = await Cluster.connect({
  servers: servers!,
  name: `node-${Deno.pid}`,
  maxReconnectAttempts: -1,
  reconnectTimeWaitMs: 100,
  ackWaitMs: 2000,
});
await cluster.serve(pool!, {
  module: new URL("./cluster_jobs.ts", import.meta.url),
  processes: Number(processes),
});
console.log("ready");
Deno.addSignalListener("SIGTERM", async () => {
  await cluster.close();
  Deno.exit(0);
});
