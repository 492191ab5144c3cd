/**
 * A cluster node: pulls a pool's tasks from its JetStream work queue and
 * runs them on a local troupe Pool, then publishes each result to the
 * submitter's results subject and only then acks the task.
 *
 * @module
 */

import type { Pool as LocalPool } from "../pool/pool.ts";
import { findFunction } from "../wire/_function_key.ts";
import { report } from "../core/_report.ts";
import { decodeTask, encodeResult, names, type TaskMessage } from "./_protocol.ts";
import type { JetStreamClient, JsMsg, NatsConnection } from "./_nats.ts";

/** What a node is started with. */
export interface ServeOptions {
  /** The module (or modules) whose exports this node runs; it runs nothing else. */
  module: string | URL | readonly (string | URL)[];
  /** How many local worker processes. Default 1. */
  processes?: number;
  /** Where the local workers run. Default "worker". */
  backend?: "worker" | "subprocess";
  /**
   * How many tasks this node holds at once, running or waiting for a local
   * worker (Celery's prefetch multiplier × concurrency). More keeps tiny tasks
   * flowing; fewer leaves long tasks to idle nodes. Default `4 × processes`.
   */
  prefetch?: number;
}

/** Counts of what a node did. */
export interface NodeStats {
  /** Tasks running now. */
  readonly running: number;
  /** Tasks whose result (a value) was published. */
  readonly completed: number;
  /** Tasks whose result was an error (raised, timed out, refused). */
  readonly failed: number;
  /** Messages dropped as they named no submitter to answer. */
  readonly dropped: number;
}

interface Served {
  url: string;
  namespace: Record<string, unknown>;
  pool: LocalPool;
}

/** Runs tasks until stopped; `stop()` lets the running ones finish. */
export class NodeRunner {
  readonly #js: JetStreamClient;
  readonly #nc: NatsConnection;
  readonly #pool: string;
  readonly #prefetch: number;
  readonly #ackWaitMs: number;
  readonly #served: Served[];
  #running = new Set<Promise<void>>();
  #stopped = false;
  #messages: { stop(): unknown; close(): Promise<void | Error> } | undefined;
  #loop: Promise<void> | undefined;
  #counts = { completed: 0, failed: 0, dropped: 0 };

  constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    pool: string,
    prefetch: number,
    ackWaitMs: number,
    served: Served[],
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#pool = pool;
    this.#prefetch = prefetch;
    this.#ackWaitMs = ackWaitMs;
    this.#served = served;
  }

  get stats(): NodeStats {
    return { running: this.#running.size, ...this.#counts };
  }

  async start(): Promise<void> {
    const n = names(this.#pool);
    const consumer = await this.#js.consumers.get(n.tasksStream, n.nodes);
    // Pulls at most `prefetch` messages ahead; the loop below takes one only when a slot is free.
    const messages = await consumer.consume({ max_messages: this.#prefetch });
    this.#messages = messages;
    this.#loop = (async () => {
      let free: (() => void) | undefined;
      for await (const msg of messages) {
        if (this.#stopped) break;
        const run = this.#handle(msg).finally(() => {
          this.#running.delete(run);
          free?.();
        });
        this.#running.add(run);
        while (this.#running.size >= this.#prefetch && !this.#stopped) {
          await new Promise<void>((resolve) => free = resolve);
        }
      }
    })().catch((error) => {
      if (!this.#stopped) {
        report("A troupe cluster node stopped pulling tasks as its connection to the cluster failed", error);
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#messages?.stop();
    await this.#loop;
    await Promise.all(this.#running);
    await Promise.all(this.#served.map(({ pool }) => pool.terminate()));
  }

  async #handle(msg: JsMsg): Promise<void> {
    let task: TaskMessage;
    try {
      task = decodeTask(msg.data);
    } catch (error) {
      const partial = (error as { partial?: { id: string; client: string } }).partial;
      if (partial === undefined) {
        // Nobody to answer: the message is removed for good, not redelivered.
        this.#counts.dropped++;
        msg.term();
        return;
      }
      await this.#answer(msg, partial.client, partial.id, false, error);
      return;
    }
    const served = this.#find(task.module);
    if (served === undefined) {
      const list = this.#served.map((s) => s.url).join(", ");
      await this.#answer(
        msg,
        task.client,
        task.id,
        false,
        new ReferenceError(
          `Cannot run a function of ${task.module} as this node serves only ${list}: start a node with ` +
            "that module (--module), or submit from a module the nodes serve",
        ),
      );
      return;
    }
    let ok: boolean, value: unknown;
    const heartbeat = setInterval(() => msg.working(), Math.max(100, this.#ackWaitMs / 3));
    try {
      const fn = findFunction(served.namespace, task.key, served.url, "cluster pool");
      const run = {
        ...(task.timeoutMs === null ? {} : { timeoutMs: task.timeoutMs }),
        ...(task.retries === null ? {} : { retries: task.retries }),
      };
      const items = task.payload;
      if (task.kind === "apply") value = await served.pool.apply(fn, items, run);
      else if (task.kind === "map") {
        value = items.length === 0
          ? []
          : await served.pool.map(fn, items, { ...run, chunksize: items.length });
      } else {
        value = items.length === 0
          ? []
          : await served.pool.starmap(fn, items as unknown[][], { ...run, chunksize: items.length });
      }
      ok = true;
    } catch (error) {
      ok = false;
      value = error;
    } finally {
      clearInterval(heartbeat);
    }
    await this.#answer(msg, task.client, task.id, ok, value);
  }

  #find(module: string): Served | undefined {
    const exact = this.#served.find((s) => s.url === module);
    if (exact) return exact;
    // The same file at another path on another machine: matched by its file name.
    const base = (url: string) => url.startsWith("file:") ? url.slice(url.lastIndexOf("/") + 1) : undefined;
    const wanted = base(module);
    if (wanted === undefined) return undefined;
    const matches = this.#served.filter((s) => base(s.url) === wanted);
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Publishes the outcome (persisted), then acks the task: a crash in between runs it again. */
  async #answer(msg: JsMsg, client: string, id: string, ok: boolean, value: unknown): Promise<void> {
    let body: Uint8Array;
    try {
      body = encodeResult(id, ok, value);
    } catch (error) {
      ok = false;
      body = encodeResult(id, false, error);
    }
    const limit = this.#nc.info?.max_payload;
    if (limit !== undefined && body.length > limit) {
      ok = false;
      body = encodeResult(
        id,
        false,
        new RangeError(
          `Cannot send the task's result as it is ${body.length} bytes, over the server's max_payload of ` +
            `${limit} bytes: return less, or raise max_payload in the nats-server configuration`,
        ),
      );
    }
    try {
      await this.#js.publish(names(this.#pool).results(client), body, { msgID: `r.${id}` });
    } catch (error) {
      // Not acked: JetStream gives the task again after ack_wait.
      // A closed connection is reported once, by the pulling loop.
      if (!this.#stopped && !this.#nc.isClosed()) {
        report("A troupe cluster node could not publish a result; the task will run again", error);
      }
      return;
    }
    if (ok) this.#counts.completed++;
    else this.#counts.failed++;
    msg.ack();
  }
}
