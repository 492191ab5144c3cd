/**
 * A submitter where nothing can run locally: no Worker, run with
 * --deny-run. It maps over the cluster pool Deno.args[1] and prints the result.
 */
// deno-lint-ignore no-explicit-any
delete (globalThis as any).Worker;
import { Cluster } from "../../src/cluster/mod.ts";
import { square } from "./cluster_jobs.ts";

const [servers, pool] = Deno.args;
await using cluster = await Cluster.connect({ servers: servers! });
await using squares = cluster.pool(pool!, { module: new URL("./cluster_jobs.ts", import.meta.url) });
console.log(JSON.stringify(await squares.map(square, [1, 2, 3, 4], 2)));
