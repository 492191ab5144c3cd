/**
 * troupe across machines: a `Pool` whose workers are the nodes of a NATS
 * JetStream cluster. Submitters and nodes only need `--allow-net`; the
 * submitting side uses no Worker, subprocess or file. See docs/cluster.md.
 *
 * ```ts ignore
 * // Needs a nats-server with JetStream: nats-server -js
 * import { Cluster } from "@troupe/troupe/cluster";
 *
 * export function square(x: number): number {
 *   return x * x;
 * }
 *
 * if (import.meta.main) {
 *   await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
 *   await cluster.serve("squares", { module: import.meta.url, processes: 2 });
 *   await using pool = cluster.pool("squares");
 *   console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 * }
 * ```
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
export {
  Cluster,
  ClusterNode,
  type ClusterOptions,
  type ClusterTlsOptions,
  type NodeStats,
  type ServeOptions,
} from "./cluster.ts";
export { ClusterPool, type ClusterPoolOptions, type ClusterPoolStats } from "./pool.ts";
export { AsyncResult, PoolClosedError, WorkerCrashedError } from "../pool/pool.ts";
export type {
  ApplyAsyncOptions,
  MapAsyncOptions,
  MapOptions,
  ResultWaitOptions,
  RunOptions,
} from "../pool/pool.ts";
export { ProcessError, ProcessTimeoutError } from "../core/errors.ts";
