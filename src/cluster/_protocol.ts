/**
 * What crosses the cluster: the names of a pool's streams, subjects and
 * consumers, and its task and result messages, encoded with troupe's codec
 * (`wire/_codec.ts`) and checked field by field on the way in, so a bad
 * message fails its task (or is dropped) and never the program reading it.
 *
 * @module
 */

import { decode, encode } from "../wire/_codec.ts";
import { decodeError, type EncodedError, encodeError } from "../wire/_error_codec.ts";

/** The version of the message layout; a node refuses any other. */
export const VERSION = 1;

/** How a task runs its function: once on its args, or on each item of a chunk. */
export type TaskKind = "apply" | "map" | "starmap";

/** A task as it travels from a submitter to a node. */
export interface TaskMessage {
  /** Unique in the cluster: the submitter's id, a dot, a counter. */
  readonly id: string;
  /** The submitter's id: its results go to `results.<client>`. */
  readonly client: string;
  /** The function's key, `name#hash` (`wire/_function_key.ts`). */
  readonly key: string;
  /** The URL of the module the submitter names the function from. */
  readonly module: string;
  readonly kind: TaskKind;
  /** The args (apply), items (map) or argument lists (starmap). */
  readonly payload: unknown[];
  readonly timeoutMs: number | null;
  readonly retries: number | null;
}

/** A task's outcome as it travels back. */
export interface ResultMessage {
  readonly id: string;
  readonly ok: boolean;
  /** The value, or the error (decoded). */
  readonly value: unknown;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws a TypeError unless `name` can name a pool (it becomes part of stream and subject names). */
export function checkPoolName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(
      `Cannot use ${JSON.stringify(name)} as a cluster pool name as it becomes part of NATS subjects: ` +
        "use 1 to 64 letters, digits, _ or -",
    );
  }
}

/** The names of a pool's streams, subjects and the nodes' consumer. */
export function names(pool: string): {
  tasksStream: string;
  resultsStream: string;
  tasks: string;
  results: (client: string) => string;
  nodes: string;
} {
  return {
    tasksStream: `TROUPE_${pool}_TASKS`,
    resultsStream: `TROUPE_${pool}_RESULTS`,
    tasks: `troupe.${pool}.tasks`,
    results: (client) => `troupe.${pool}.results.${client}`,
    nodes: "nodes",
  };
}

export function encodeTask(task: TaskMessage): Uint8Array {
  return encode([
    VERSION,
    task.id,
    task.client,
    task.key,
    task.module,
    task.kind,
    task.payload,
    task.timeoutMs,
    task.retries,
  ]);
}

/**
 * Decodes and checks a task. Throws a TypeError saying what is wrong; the
 * `partial` it attaches (id and client, when those were readable) lets the
 * node still answer the task's submitter.
 */
export function decodeTask(bytes: Uint8Array): TaskMessage {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (error) {
    throw new TypeError(`Cannot decode the task message as it is not troupe's encoding: ${String(error)}`);
  }
  if (!Array.isArray(value) || value.length !== 9) {
    throw new TypeError(
      "Cannot run the task message as it is not a 9-field array: send tasks with cluster.pool()",
    );
  }
  const [version, id, client, key, module, kind, payload, timeoutMs, retries] = value;
  const partial = typeof id === "string" && typeof client === "string" && NAME.test(client)
    ? { id, client }
    : undefined;
  const bad = (what: string): never => {
    throw Object.assign(new TypeError(`Cannot run the task as its ${what}`), { partial });
  };
  if (version !== VERSION) {
    bad(`message version is ${String(version)}, not ${VERSION}: run the same troupe version`);
  }
  if (partial === undefined) bad("id or client is missing or malformed");
  if (typeof key !== "string" || !/^[^#]+#[0-9a-z]+$/.test(key)) bad("function key is malformed");
  if (typeof module !== "string" || module.length === 0) bad("module is missing");
  if (kind !== "apply" && kind !== "map" && kind !== "starmap") bad(`kind ${String(kind)} is unknown`);
  if (!Array.isArray(payload)) bad("arguments are not an array");
  if (kind === "starmap" && !(payload as unknown[]).every(Array.isArray)) {
    bad("argument lists are not arrays");
  }
  if (timeoutMs !== null && (typeof timeoutMs !== "number" || !(timeoutMs > 0))) bad("timeout is malformed");
  if (retries !== null && (!Number.isInteger(retries) || (retries as number) < 0)) {
    bad("retries is malformed");
  }
  return {
    id: id as string,
    client: client as string,
    key: key as string,
    module: module as string,
    kind: kind as TaskKind,
    payload: payload as unknown[],
    timeoutMs: timeoutMs as number | null,
    retries: retries as number | null,
  };
}

export function encodeResult(id: string, ok: boolean, value: unknown): Uint8Array {
  return encode([VERSION, id, ok, ok ? value : encodeError(value)]);
}

/** Decodes a result; undefined for a message that is not one (it is dropped). */
export function decodeResult(bytes: Uint8Array): ResultMessage | undefined {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4 || value[0] !== VERSION) return undefined;
  const [, id, ok, payload] = value;
  if (typeof id !== "string" || typeof ok !== "boolean") return undefined;
  if (ok) return { id, ok, value: payload };
  if (
    typeof payload !== "object" || payload === null || typeof (payload as EncodedError).name !== "string" ||
    typeof (payload as EncodedError).message !== "string" ||
    typeof (payload as EncodedError).fields !== "object" || (payload as EncodedError).fields === null
  ) {
    return { id, ok, value: new Error("The task failed with an error that could not be read") };
  }
  return { id, ok, value: decodeError(payload as EncodedError) };
}
