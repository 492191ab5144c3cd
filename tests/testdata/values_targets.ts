/**
 * Values that structured clone or JSON would change, and the process targets
 * that send them through every path (queue, pipe, actor tell and ask,
 * manager) and report what they received. A report is `describe()` of a
 * value: text that tells holes from `undefined`, an error's class from its
 * name, and a Float16Array from a Float32Array, so two sides compare it as a
 * string.
 */

import { type Connection, type DictProxy, Queue, serve } from "../../mod.ts";
import { CHILD_PATIENCE_MS as PATIENCE_MS } from "../_helpers.ts";

export const MODULE: string = import.meta.url;

/** An error class only this module knows: it arrives as an `Error` that keeps its name and fields. */
export class TaggedError extends Error {
  code = "E_TAGGED";
  details: { attempts: number[]; when: Date };
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TaggedError";
    this.details = { attempts: [1, 2], when: new Date(0) };
  }
}

/** An error with everything an error keeps: class name, fields, a cause with a field, a fixed stack. */
export function taggedError(): TaggedError {
  const cause = Object.assign(new TypeError("the cause"), { status: 503 });
  cause.stack = "TypeError: the cause\n    at cause (values_targets.ts)";
  const error = new TaggedError("tagged", { cause });
  error.stack = "TaggedError: tagged\n    at taggedError (values_targets.ts)";
  return error;
}

/** Fresh copies of every sample, by name. */
export function samples(): Record<string, unknown> {
  const sparse: unknown[] = [1, , 3];
  sparse.length = 6;
  Object.assign(sparse, { label: "sparse" });
  const aggregate = new AggregateError([taggedError(), "not an error"], "many");
  aggregate.stack = "AggregateError: many\n    at samples (values_targets.ts)";
  const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const resizable = new ArrayBuffer(4, { maxByteLength: 16 });
  new Uint8Array(resizable).set([9, 8, 7, 6]);
  const plain = new RangeError("plain");
  plain.stack = "RangeError: plain\n    at samples (values_targets.ts)";
  return {
    error: taggedError(),
    aggregate,
    sparse,
    holeAndUndefined: [, undefined],
    arrayWithProperties: Object.assign(["a", "b"], { meta: { n: 1 }, "-1": "not an index" }),
    float16: new Float16Array([1.5, -2, 65504, -0]),
    bigInt64: new BigInt64Array([-(2n ** 63n), 1n]),
    bigUint64: new BigUint64Array([2n ** 64n - 1n]),
    clamped: new Uint8ClampedArray([0, 255]),
    dataView: new DataView(bytes.buffer, 2, 4),
    resizable,
    inObject: { list: [, "x"], error: plain },
  };
}

/** Text that tells apart what a copy could get wrong. */
export function describe(value: unknown): string {
  return JSON.stringify(shape(value, new Set()));
}

const BUILT_IN_ERRORS = new Set<unknown>([
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
]);

function shape(value: unknown, seen: Set<object>): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : value;
  if (typeof value !== "object" || value === null) return value === undefined ? "undefined" : value;
  if (seen.has(value)) return "(seen)";
  seen.add(value);
  const own = (object: object) =>
    Object.keys(object).map((key) => [key, shape((object as Record<string, unknown>)[key], seen)]);
  if (value instanceof Error) {
    // A class of its own arrives as the built-in class it extends, and its name as a name, not a field.
    let proto = Object.getPrototypeOf(value);
    while (!BUILT_IN_ERRORS.has(proto.constructor)) proto = Object.getPrototypeOf(proto);
    return {
      class: proto.constructor.name,
      name: value.name,
      message: value.message,
      stack: value.stack,
      cause: "cause" in value ? shape(value.cause, seen) : "(none)",
      errors: value instanceof AggregateError ? shape(value.errors, seen) : "(none)",
      fields: own(value).filter(([key]) => key !== "name"),
    };
  }
  if (Array.isArray(value)) return { array: value.length, own: own(value) };
  if (value instanceof DataView) {
    return {
      view: "DataView",
      at: value.byteOffset,
      length: value.byteLength,
      buffer: shape(value.buffer, seen),
    };
  }
  if (ArrayBuffer.isView(value)) {
    const view = value as unknown as ArrayLike<unknown>;
    return { view: value.constructor.name, items: Array.from(view, (item) => shape(item, seen)) };
  }
  if (value instanceof ArrayBuffer) {
    return {
      buffer: [...new Uint8Array(value)],
      resizable: value.resizable,
      maxByteLength: value.maxByteLength,
    };
  }
  if (value instanceof Date) return { date: value.getTime() };
  return { class: Object.getPrototypeOf(value)?.constructor.name ?? null, own: own(value) };
}

/** Each sample's description, by name. */
export function describeAll(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.keys(values).map((key) => [key, describe(values[key])]));
}

/** Reports the samples it got in its args to `out`. */
export async function argsReport(values: Record<string, unknown>, out: Queue<unknown>): Promise<void> {
  await out.put(describeAll(values));
}

/** Gets the samples from `inbox`, reports what it got to `outbox`, then puts its own samples there. */
export async function queueEcho(
  inbox: Queue<Record<string, unknown>>,
  outbox: Queue<unknown>,
): Promise<void> {
  await outbox.put(describeAll(await inbox.get({ timeout: PATIENCE_MS })));
  await outbox.put(samples());
}

/** The same through a pipe: receives the samples, sends what it got, then its own samples. */
export async function pipeEcho(conn: Connection<unknown, Record<string, unknown>>): Promise<void> {
  conn.send(describeAll(await conn.recv({ timeout: PATIENCE_MS })));
  conn.send(samples());
  conn.close();
}

/**
 * An actor: a tell's message is kept; ask "told" answers what the last tell
 * held, "throw" throws a tagged error, and anything else answers what it
 * got and its own samples.
 */
export function valuesActor() {
  return serve<unknown, unknown, { told?: Record<string, string> }>({
    init: () => ({}),
    tell: (msg, state) => {
      state.told = describeAll(msg as Record<string, unknown>);
    },
    ask: (msg, state) => {
      if (msg === "told") return state.told;
      if (msg === "throw") throw taggedError();
      return { got: describeAll(msg as Record<string, unknown>), own: samples() };
    },
  }, { concurrent: true });
}

/** Reads the samples a manager's dict holds under "samples" and reports them to `out`. */
export async function readManaged(
  dict: DictProxy<string, Record<string, unknown>>,
  out: Queue<unknown>,
): Promise<void> {
  await out.put(describeAll((await dict.get("samples"))!));
}

/** A managed type whose method throws a tagged error. */
export function thrower() {
  return {
    fail(): never {
      throw taggedError();
    },
  };
}

/** Makes a queue of maxsize `n`, fills it, and sends it (by reference) through `out`. */
export async function sendFilledQueue(out: Queue<unknown>, n: number): Promise<void> {
  const q = new Queue<number>(n);
  for (let i = 0; i < n; i++) await q.put(i);
  await out.put(q);
}

/** A pool task: describes the samples it was given, and answers its own. */
export function poolEcho(values: Record<string, unknown>): { got: Record<string, string>; own: unknown } {
  return { got: describeAll(values), own: samples() };
}

/** A pool task that throws a tagged error. */
export function poolThrow(): never {
  throw taggedError();
}
