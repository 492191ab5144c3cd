/**
 * A cluster node as a command, for any machine: serves a pool's tasks
 * from a NATS JetStream server on a local troupe Pool, running only the
 * exports of the modules it is given, until SIGINT or SIGTERM.
 *
 * ```sh
 * deno run -A jsr:@troupe/troupe/cluster/node --servers nats://host:4222 \
 *   --pool primes --module ./jobs.ts --processes 4
 * ```
 *
 * Flags: `--servers` (repeat or comma-separate), `--pool`, `--module`
 * (repeatable), `--processes` (default: the CPU count), `--prefetch`
 * (default: 4 × processes), `--backend`
 * (`worker` or `subprocess`), `--name`, `--user`, `--pass`, `--token`,
 * `--ack-wait-ms`.
 *
 * @module
 */

// First, so that another runtime is told at once (see _deno_only.ts).
import "../core/_deno_only.ts";
import { Cluster } from "./cluster.ts";

/** What the command was told. */
export interface NodeArgs {
  /** The server URLs (`--servers`). */
  servers: string[];
  /** The pool to serve (`--pool`). */
  pool: string;
  /** The modules whose exports to run, as absolute URLs (`--module`). */
  modules: string[];
  /** Local worker processes (`--processes`). */
  processes: number;
  /** How many tasks the node holds at once (`--prefetch`; default 4 × processes). */
  prefetch?: number;
  /** Where they run (`--backend`). */
  backend?: "worker" | "subprocess";
  /** The connection's name (`--name`). */
  name?: string;
  /** The user name (`--user`). */
  user?: string;
  /** The password (`--pass`). */
  pass?: string;
  /** A token (`--token`). */
  token?: string;
  /** JetStream's ack wait for the pool's tasks (`--ack-wait-ms`). */
  ackWaitMs?: number;
}

const USAGE = "usage: node.ts --servers nats://host:4222 --pool NAME --module ./jobs.ts [--module …] " +
  "[--processes N] [--prefetch N] [--backend worker|subprocess] [--name NAME] [--user U --pass P | --token T] [--ack-wait-ms MS]";

/**
 * Reads the command's flags; throws a TypeError that shows the usage for a bad one.
 *
 * @param args The command line, as `Deno.args`.
 * @param cwd The directory a relative `--module` is resolved against.
 * @returns What to serve.
 *
 * @example
 * ```ts
 * import { parseNodeArgs } from "@troupe/troupe/cluster/node";
 * import assert from "node:assert/strict";
 *
 * const args = parseNodeArgs(
 *   ["--servers", "nats://127.0.0.1:4222", "--pool", "primes", "--module", "./jobs.ts", "--processes", "4"],
 *   "/srv/app",
 * );
 * assert.deepEqual(args.modules, ["file:///srv/app/jobs.ts"]);
 * assert.equal(args.processes, 4);
 * ```
 */
export function parseNodeArgs(args: readonly string[], cwd: string): NodeArgs {
  const servers: string[] = [], modules: string[] = [];
  const one: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1];
    if (!flag.startsWith("--") || value === undefined) throw new TypeError(`Cannot read ${flag}: ${USAGE}`);
    i++;
    const base = new URL(cwd.endsWith("/") ? cwd : `${cwd}/`, "file:///");
    if (flag === "--servers") servers.push(...value.split(",").filter((s) => s.length > 0));
    else if (flag === "--module") modules.push(new URL(value, base).href);
    else if (
      [
        "--pool",
        "--processes",
        "--prefetch",
        "--backend",
        "--name",
        "--user",
        "--pass",
        "--token",
        "--ack-wait-ms",
      ]
        .includes(flag)
    ) {
      one[flag.slice(2)] = value;
    } else throw new TypeError(`Cannot read the unknown flag ${flag}: ${USAGE}`);
  }
  if (servers.length === 0 || modules.length === 0 || one.pool === undefined) {
    throw new TypeError(`Cannot start a node without --servers, --pool and --module: ${USAGE}`);
  }
  const processes = one.processes === undefined ? navigator.hardwareConcurrency : Number(one.processes);
  if (!Number.isInteger(processes) || processes < 1) {
    throw new TypeError(`Cannot use --processes ${one.processes} as it is not a positive integer: ${USAGE}`);
  }
  const prefetch = one.prefetch === undefined ? undefined : Number(one.prefetch);
  if (prefetch !== undefined && (!Number.isInteger(prefetch) || prefetch < 1)) {
    throw new TypeError(`Cannot use --prefetch ${one.prefetch} as it is not a positive integer: ${USAGE}`);
  }
  if (one.backend !== undefined && one.backend !== "worker" && one.backend !== "subprocess") {
    throw new TypeError(`Cannot use --backend ${one.backend}: use worker or subprocess`);
  }
  const parsed: NodeArgs = { servers, pool: one.pool, modules, processes };
  if (prefetch !== undefined) parsed.prefetch = prefetch;
  if (one.backend !== undefined) parsed.backend = one.backend as "worker" | "subprocess";
  for (const key of ["name", "user", "pass", "token"] as const) {
    if (one[key] !== undefined) parsed[key] = one[key];
  }
  if (one["ack-wait-ms"] !== undefined) parsed.ackWaitMs = Number(one["ack-wait-ms"]);
  return parsed;
}

/**
 * Runs the command: connects, serves, and on SIGINT or SIGTERM stops taking
 * tasks, lets the running ones finish, and exits.
 *
 * @param args The command line, as `Deno.args`.
 *
 * @example
 * ```ts ignore
 * import { main } from "@troupe/troupe/cluster/node";
 *
 * await main(["--servers", "nats://127.0.0.1:4222", "--pool", "primes", "--module", "./jobs.ts"]);
 * ```
 */
export async function main(args: readonly string[]): Promise<void> {
  const parsed = parseNodeArgs(args, Deno.cwd());
  const cluster = await Cluster.connect({
    servers: parsed.servers,
    name: parsed.name ?? `troupe-node-${Deno.hostname?.() ?? ""}-${Deno.pid}`,
    maxReconnectAttempts: -1,
    ...(parsed.user === undefined ? {} : { user: parsed.user }),
    ...(parsed.pass === undefined ? {} : { pass: parsed.pass }),
    ...(parsed.token === undefined ? {} : { token: parsed.token }),
    ...(parsed.ackWaitMs === undefined ? {} : { ackWaitMs: parsed.ackWaitMs }),
  });
  await cluster.serve(parsed.pool, {
    module: parsed.modules,
    processes: parsed.processes,
    ...(parsed.prefetch === undefined ? {} : { prefetch: parsed.prefetch }),
    ...(parsed.backend === undefined ? {} : { backend: parsed.backend }),
  });
  console.log(`troupe node serving pool ${parsed.pool} with ${parsed.processes} processes`);
  const { promise, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  Deno.addSignalListener("SIGTERM", resolve);
  await promise;
  Deno.removeSignalListener("SIGINT", resolve);
  Deno.removeSignalListener("SIGTERM", resolve);
  await cluster.close();
}

if (import.meta.main) await main(Deno.args);
