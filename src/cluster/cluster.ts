/**
 * `Cluster`: one connection to a NATS server with JetStream, the pools it
 * submits to, and the nodes it serves.
 *
 * @module
 */

import "../core/_deno_only.ts";
// Types only: the client itself is loaded when a cluster connects, so that this entry point imports no npm
// module before _deno_only.ts has said that troupe runs on Deno only.
import type {
  AckPolicy,
  DeliverPolicy,
  JetStreamClient,
  JetStreamManager,
  NatsConnection,
  RetentionPolicy,
  StorageType,
} from "./_nats.ts";
import { checkPoolName, names } from "./_protocol.ts";
import { ClusterPool, type ClusterPoolOptions } from "./pool.ts";
import { NodeRunner, type NodeStats, type ServeOptions } from "./_node.ts";

export type { NodeStats, ServeOptions };

/** TLS options, as the NATS client takes them. */
export interface ClusterTlsOptions {
  /** A CA certificate file to trust. */
  caFile?: string;
  /** The client certificate file (mutual TLS). */
  certFile?: string;
  /** The client key file (mutual TLS). */
  keyFile?: string;
  /** A CA certificate, PEM. */
  ca?: string;
  /** The client certificate, PEM. */
  cert?: string;
  /** The client key, PEM. */
  key?: string;
  /** TLS before the NATS handshake (the server's `handshake_first`). */
  handshakeFirst?: boolean;
}

/** How to reach the cluster: the NATS client's connection options (auth, TLS, reconnects). */
export interface ClusterOptions {
  /** One server URL or several, e.g. `"nats://127.0.0.1:4222"`. */
  servers: string | string[];
  /** This program's name, shown by the server (`nats-server`'s connz). */
  name?: string;
  /** The user name, with `pass`. */
  user?: string;
  /** The password, with `user`. */
  pass?: string;
  /** A token, instead of user and password. */
  token?: string;
  /** TLS: files or PEM text for the CA, the client certificate and key; `null` for plain TCP. */
  tls?: ClusterTlsOptions | null;
  /** Attempts to reconnect after the connection drops before everything pending fails; -1 forever. Default 10. */
  maxReconnectAttempts?: number;
  /** Milliseconds between reconnect attempts. Default 2000. */
  reconnectTimeWaitMs?: number;
  /**
   * How long a node may hold a task without a sign of life before JetStream
   * gives it to another node (`ack_wait`); a running task renews it. Default 30000.
   */
  ackWaitMs?: number;
}

const NANOS = 1_000_000;

/**
 * A connection to a NATS JetStream cluster, the place where a
 * {@linkcode ClusterPool} puts its tasks and where nodes started with
 * {@linkcode Cluster.serve} take them. `await using` closes it.
 *
 * @example
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
 */
export class Cluster implements AsyncDisposable {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #ackWaitMs: number;
  readonly #pools = new Set<ClusterPool>();
  readonly #nodes = new Set<NodeRunner>();
  readonly #ready = new Map<string, Promise<void>>();
  #closing: Promise<void> | undefined;

  private constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, ackWaitMs: number) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = js;
    this.#ackWaitMs = ackWaitMs;
  }

  /**
   * Connects to the cluster.
   *
   * @param options The servers, this program's name, auth and TLS.
   * @returns The connected cluster.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222", name: "web-1" });
   * ```
   */
  static async connect(options: ClusterOptions): Promise<Cluster> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot connect as the options are not an object: pass { servers }");
    }
    const { servers, ackWaitMs = 30_000, reconnectTimeWaitMs = 2000, maxReconnectAttempts = 10, ...rest } =
      options;
    if (typeof servers !== "string" && !Array.isArray(servers)) {
      throw new TypeError('Cannot connect as servers is missing: pass { servers: "nats://host:4222" }');
    }
    if (!(ackWaitMs >= 100)) throw new RangeError(`ackWaitMs must be at least 100, not ${ackWaitMs}`);
    const { connect, jetstream, jetstreamManager } = await import("./_nats.ts");
    const nc = await connect(
      {
        servers,
        reconnectTimeWait: reconnectTimeWaitMs,
        maxReconnectAttempts,
        ...rest,
      } as Parameters<typeof import("./_nats.ts").connect>[0],
    );
    try {
      return new Cluster(nc, jetstream(nc), await jetstreamManager(nc), ackWaitMs);
    } catch (error) {
      await nc.close();
      throw new Error(
        "Cannot use the cluster as the server has no JetStream: start nats-server with -js",
        { cause: error },
      );
    }
  }

  /**
   * A pool that sends its tasks to the cluster's nodes serving `name`: the
   * same API as a local `Pool`.
   *
   * @param name The pool's name, as the nodes serve it.
   * @param options Default retries, timeouts, in-flight bound, module.
   * @returns The pool; `await using` terminates it.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * export function add(a: number, b: number): number {
   *   return a + b;
   * }
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using pool = cluster.pool("adders", { module: import.meta.url });
   * console.log(await pool.apply(add, [1, 2])); // 3, once a node serves "adders"
   * ```
   */
  pool(name: string, options: ClusterPoolOptions = {}): ClusterPool {
    checkPoolName(name);
    this.#assertOpen();
    const pool = ClusterPool._create(
      {
        nc: this.#nc,
        js: this.#js,
        jsm: this.#jsm,
        ready: this.#setUp(name),
        forget: () => this.#pools.delete(pool),
      },
      name,
      options,
    );
    this.#pools.add(pool);
    return pool;
  }

  /**
   * Makes this program a node of pool `name`: it takes the pool's tasks and
   * runs them on a local troupe Pool of `processes` workers, running only
   * exports of `module`. It serves until the cluster closes.
   *
   * @param name The pool's name.
   * @param options The module(s), how many processes, which backend.
   * @returns The node: its stats, and `stop()`.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * const node = await cluster.serve("adders", { module: import.meta.url, processes: 4 });
   * console.log(node.stats.completed);
   * ```
   */
  async serve(name: string, options: ServeOptions): Promise<ClusterNode> {
    checkPoolName(name);
    this.#assertOpen();
    const modules = (Array.isArray(options?.module) ? options.module : [options?.module]) as unknown[];
    if (modules.length === 0 || modules.some((m) => typeof m !== "string" && !(m instanceof URL))) {
      throw new TypeError(
        "Cannot serve as module is missing: pass the URL of the module whose exports to run",
      );
    }
    const { processes = 1, backend, prefetch = 4 * processes } = options;
    if (!Number.isInteger(processes) || processes < 1) {
      throw new RangeError(`processes must be a positive integer, not ${processes}`);
    }
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new RangeError(`prefetch must be a positive integer, not ${prefetch}`);
    }
    await this.#setUp(name);
    const { Pool } = await import("../pool/pool.ts");
    const served = [];
    for (const module of modules as (string | URL)[]) {
      if (typeof module === "string" && !URL.canParse(module)) {
        throw new TypeError(
          `Cannot serve ${module} as it is not an absolute URL: pass import.meta.url, or ` +
            `new URL("${module}", import.meta.url)`,
        );
      }
      const url = new URL(module).href;
      const namespace = await import(url) as Record<string, unknown>;
      served.push({
        url,
        namespace,
        pool: new Pool({ processes, module: url, ...(backend === undefined ? {} : { backend }) }),
      });
    }
    const runner = new NodeRunner(this.#nc, this.#js, name, prefetch, this.#ackWaitMs, served);
    await runner.start();
    this.#nodes.add(runner);
    return new ClusterNode(runner, () => this.#nodes.delete(runner));
  }

  /**
   * Closes the connection: pools are terminated (their pending tasks fail
   * with `PoolClosedError`), nodes stop (running tasks finish first).
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * const cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await cluster.close();
   * ```
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await Promise.all([...this.#pools].map((pool) => pool.terminate()));
      await Promise.all([...this.#nodes].map((node) => node.stop()));
      await this.#nc.drain().catch(() => this.#nc.close());
      await this.#nc.closed();
    })();
  }

  /**
   * Closes the connection, as `close()`.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closing || this.#nc.isClosed()) {
      throw new Error("Cannot use the cluster as it is closed: connect again");
    }
  }

  /** Creates the pool's streams and the nodes' consumer, once per pool and connection. */
  #setUp(pool: string): Promise<void> {
    let ready = this.#ready.get(pool);
    if (ready === undefined) {
      ready = this.#createStreams(pool);
      ready.catch(() => this.#ready.delete(pool));
      this.#ready.set(pool, ready);
    }
    return ready;
  }

  async #createStreams(pool: string): Promise<void> {
    const n = names(pool);
    await this.#ensureStream({
      name: n.tasksStream,
      subjects: [n.tasks],
      retention: "workqueue" as RetentionPolicy,
      storage: "file" as StorageType,
      duplicate_window: 120_000 * NANOS,
    });
    await this.#ensureStream({
      name: n.resultsStream,
      subjects: [n.results("*")],
      retention: "workqueue" as RetentionPolicy,
      storage: "file" as StorageType,
      duplicate_window: 120_000 * NANOS,
      // Results nobody collected (their submitter is gone) expire.
      max_age: 24 * 3600_000 * NANOS,
    });
    try {
      await this.#jsm.consumers.info(n.tasksStream, n.nodes);
    } catch {
      await this.#jsm.consumers.add(n.tasksStream, {
        durable_name: n.nodes,
        ack_policy: "explicit" as AckPolicy,
        deliver_policy: "all" as DeliverPolicy,
        ack_wait: this.#ackWaitMs * NANOS,
        max_deliver: -1,
        filter_subject: n.tasks,
        max_ack_pending: 10_000,
      });
    }
  }

  async #ensureStream(config: Parameters<JetStreamManager["streams"]["add"]>[0]): Promise<void> {
    try {
      await this.#jsm.streams.info(config.name!);
    } catch {
      try {
        await this.#jsm.streams.add(config);
      } catch (error) {
        // Another program made it first.
        await this.#jsm.streams.info(config.name!).catch(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * This program serving a cluster pool: see {@linkcode Cluster.serve}.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "@troupe/troupe/cluster";
 *
 * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
 * await using node = await cluster.serve("adders", { module: import.meta.url });
 * console.log(node.stats);
 * ```
 */
export class ClusterNode implements AsyncDisposable {
  readonly #runner: NodeRunner;
  readonly #forget: () => void;

  /** Made by `Cluster.serve`. */
  constructor(runner: NodeRunner, forget: () => void) {
    this.#runner = runner;
    this.#forget = forget;
  }

  /**
   * What this node did so far.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * const node = await cluster.serve("adders", { module: import.meta.url });
   * console.log(node.stats.running);
   * ```
   */
  get stats(): NodeStats {
    return this.#runner.stats;
  }

  /**
   * Stops taking tasks, lets the running ones finish and publish, then stops
   * the local workers.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * const node = await cluster.serve("adders", { module: import.meta.url });
   * await node.stop();
   * ```
   */
  async stop(): Promise<void> {
    await this.#runner.stop();
    this.#forget();
  }

  /**
   * Stops, as `stop()`.
   *
   * @example
   * ```ts ignore
   * import { Cluster } from "@troupe/troupe/cluster";
   *
   * await using cluster = await Cluster.connect({ servers: "nats://127.0.0.1:4222" });
   * await using node = await cluster.serve("adders", { module: import.meta.url });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
