/**
 * Every message a child sends the root is untrusted input: a child may be
 * broken, or run code written to attack its parent. This module checks each
 * one against the protocol (`FromChild` in `_protocol.ts`) before the root
 * acts on it, and turns a child that breaks the protocol into one report and
 * a kill: it costs that child, never the parent.
 *
 * The checks are a table of shapes built once from a few combinators; a
 * check returns `undefined` for a good value (allocating nothing), or the
 * problem as text (`.call.op is null, not …`), built only on failure.
 *
 * @module
 */

import { BACKENDS } from "./_backends.ts";
import type { EncodedError } from "../wire/_error_codec.ts";
import { PERMISSION_NAMES } from "./_permissions.ts";
import { type Backend, type FromChild, TAG } from "./_protocol.ts";
import { report } from "../core/_report.ts";
import type { RingCall, RingReply } from "../memory/_remote.ts";

/** A check: undefined when `value` is good, else what is wrong, starting with its path (or " is …"). */
type Check = (value: unknown) => string | undefined;

/** A value as a problem names it: short, and never the whole of a large value. */
function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    case "undefined":
      return "missing";
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return "an array";
      return ArrayBuffer.isView(value) || value instanceof ArrayBuffer ||
          value instanceof SharedArrayBuffer
        ? `a ${value.constructor.name}`
        : "an object";
    default:
      return `a ${typeof value}`;
  }
}

const fail = (value: unknown, expected: string) => ` is ${show(value)}, not ${expected}`;

/** A check from a test and the words for what it expects. */
const is = (test: (value: unknown) => boolean, expected: string): Check => (value) =>
  test(value) ? undefined : fail(value, expected);

const any: Check = () => undefined;
const string = is((v) => typeof v === "string", "a string");
const boolean = is((v) => typeof v === "boolean", "a boolean");
const integer = is(Number.isSafeInteger, "an integer");
/** Ids, refs and counts: what a process numbers from 0 (or 1) upwards. */
const natural = is((v) => Number.isSafeInteger(v) && (v as number) >= 0, "an integer from 0");
const positive = is((v) => Number.isSafeInteger(v) && (v as number) > 0, "an integer from 1");
/** Milliseconds: any number from 0, Infinity included (waits for good). NaN fails `>=`. */
const duration = is((v) => typeof v === "number" && v >= 0, "a duration in ms (a number from 0)");
const measure = is((v) => Number.isFinite(v) && (v as number) >= 0, "a finite number from 0");
const bytes = is((v) => v instanceof Uint8Array, "a Uint8Array");
const sharedBuffer = is((v) => v instanceof SharedArrayBuffer, "a SharedArrayBuffer");
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const record = is(isRecord, "an object");
const array = is(Array.isArray, "an array");

const nullable = (check: Check): Check => (value) => value === null ? undefined : check(value);
const optional = (check: Check): Check => (value) => value === undefined ? undefined : check(value);

function oneOf(...values: readonly unknown[]): Check {
  const allowed = new Set(values);
  return is((v) => allowed.has(v), `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`);
}

/** An object with these fields (others are ignored: nothing reads them). */
function shape(fields: Record<string, Check>): Check {
  const keys = Object.keys(fields);
  const checks = Object.values(fields);
  return (value) => {
    if (!isRecord(value)) return fail(value, "an object");
    for (let i = 0; i < keys.length; i++) {
      const problem = checks[i]!(value[keys[i]!]);
      if (problem !== undefined) return `.${keys[i]}${problem}`;
    }
    return undefined;
  };
}

/** An array whose items all pass `check`. */
function listOf(check: Check): Check {
  return (value) => {
    if (!Array.isArray(value)) return fail(value, "an array");
    for (let i = 0; i < value.length; i++) {
      const problem = check(value[i]);
      if (problem !== undefined) return `[${i}]${problem}`;
    }
    return undefined;
  };
}

/** An object whose field `key` says which shape the rest has. */
function variant(key: string, shapes: Record<string, Check>): Check {
  const table = new Map(Object.entries(shapes));
  const named = oneOf(...table.keys());
  return (value) => {
    if (!isRecord(value)) return fail(value, "an object");
    const check = table.get(value[key] as string);
    if (check === undefined) return `.${key}${named(value[key])}`;
    return check(value);
  };
}

// ---- What messages hold ------------------------------------------------------

/** Cause chains are cut at 8 when encoded (`_error_codec.ts`): anything much deeper was made by hand. */
const MAX_ERROR_DEPTH = 16;

const errorFields = shape({
  name: string,
  message: string,
  stack: optional(string),
  causeIsError: optional(boolean),
  errorIsError: optional(
    is((v) => Array.isArray(v) && v.every((item) => typeof item === "boolean"), "a list of booleans"),
  ),
  fields: record,
});

function errorAt(value: unknown, depth: number): string | undefined {
  if (depth > MAX_ERROR_DEPTH) return ` nests causes and errors more than ${MAX_ERROR_DEPTH} deep`;
  const problem = errorFields(value);
  if (problem !== undefined) return problem;
  const error = value as EncodedError;
  if (error.causeIsError) {
    const inner = errorAt(error.cause, depth + 1);
    if (inner !== undefined) return `.cause${inner}`;
  }
  if (error.errors !== undefined) {
    if (!Array.isArray(error.errors)) return `.errors${fail(error.errors, "an array")}`;
    for (let i = 0; i < error.errors.length; i++) {
      if (error.errorIsError?.[i] === false) continue;
      const inner = errorAt(error.errors[i], depth + 1);
      if (inner !== undefined) return `.errors[${i}]${inner}`;
    }
  }
  return undefined;
}

/** An `EncodedError`: `decodeError` rebuilds anything that passes without throwing. */
const encodedError: Check = (value) => errorAt(value, 0);

/** A grant: true, false, or a list of non-empty strings (as `validatePermissions` has it). */
const grant = is(
  (v) =>
    typeof v === "boolean" ||
    (Array.isArray(v) && v.every((item) => typeof item === "string" && item !== "")),
  "true, false or a list of non-empty strings",
);

const everyPermission = shape(Object.fromEntries(PERMISSION_NAMES.map((name) => [name, grant])));
const PERMISSIONS = new Set<string>(PERMISSION_NAMES);

/**
 * A `ResolvedPermissions`: every permission decided, and nothing else (a
 * worker's host hands the object to Deno as it is, where another key could
 * grant what troupe does not know of).
 */
const permissions: Check = (value) => {
  const problem = everyPermission(value);
  if (problem !== undefined) return problem;
  for (const key in value as Record<string, unknown>) {
    if (!PERMISSIONS.has(key)) {
      return `[${JSON.stringify(key.slice(0, 40))}] is there, but is not a permission`;
    }
  }
  return undefined;
};

const processInfo = shape({ name: string, pid: natural, id: natural });

/** A `LaunchSpec`, as a child asks the root to host one of its children. */
const launchSpec = shape({
  host: shape({
    backend: oneOf("worker", "subprocess"),
    permissions,
    sandboxed: boolean,
    memoryLimitMb: nullable(is((v) => Number.isInteger(v) && (v as number) > 0, "an integer from 1")),
  }),
  name: string,
  identity: listOf(positive),
  daemon: boolean,
  detached: boolean,
  entry: variant("kind", {
    none: any,
    function: shape({ module: string, name: string, source: string }),
    subclass: shape({ module: string, name: string, source: string, fields: record }),
  }),
  args: array,
  mainModule: string,
  argv: listOf(string),
  parent: processInfo,
  mailboxes: shape({ own: any, parent: any, lent: optional(boolean) }),
});

/** A `Prepared` item: JSON text, or codec bytes. */
const encodedItem = shape({ bytes, shared: boolean });
const prepared: Check = (value) =>
  isRecord(value) && typeof value.json === "string" ? undefined : encodedItem(value);

const ring = string;
const wait = nullable(duration);
const onRing = shape({ ring });
const waitOnRing = shape({ ring, timeoutMs: wait });

/** A `RingCall` a child makes on a ring served elsewhere. */
const ringCall = variant("op", {
  put: shape({ ring, item: prepared, timeoutMs: wait, task: boolean, quiet: optional(boolean) }),
  get: waitOnRing,
  poll: waitOnRing,
  join: waitOnRing,
  close: onRing,
  taskDone: onRing,
  stat: onRing,
  buffer: onRing,
  copy: shape({ ring, role: oneOf("sender", "receiver"), slot: nullable(integer) }),
  cancel: shape({ ref: natural }),
});

const ringStat = shape({
  size: integer,
  closed: boolean,
  unfinished: integer,
  senders: integer,
  receivers: integer,
});

/** A `RingResult`: what some call can resolve to (`checkReply` checks it fits the call). */
const ringResult: Check = (value) => {
  if (value === null || typeof value === "boolean") return undefined;
  if (value === "empty" || value === "full" || value === "closed") return undefined;
  if (isRecord(value) && "item" in value) {
    const item = value.item;
    return typeof item === "string" || item instanceof Uint8Array
      ? undefined
      : `.item${fail(item, "a string or a Uint8Array")}`;
  }
  if (isRecord(value) && "buffer" in value) {
    const problem = sharedBuffer(value.buffer);
    return problem === undefined ? undefined : `.buffer${problem}`;
  }
  return fail(value, 'a ring result (null, a boolean, "empty", "full", "closed", { item } or { buffer })');
};

const replied = shape({ value: ringResult, stat: nullable(ringStat) });
const refusedCall = shape({ error: encodedError });

/** A `RingReply`, a subprocess's answer to a call it was asked to serve. */
const ringReply: Check = (value) => {
  if (!isRecord(value)) return fail(value, "an object");
  if (value.ok === true) return replied(value);
  if (value.ok === false) return refusedCall(value);
  return `.ok${fail(value.ok, "a boolean")}`;
};

/** A `ProbeReport`. */
const probeReport = shape({
  heapUsed: measure,
  rss: measure,
  tid: nullable(natural),
  kids: listOf(shape({
    id: natural,
    // A queue's size is two counters read one after the other: a moment's race can make it negative.
    mailbox: nullable(integer),
    restarts: natural,
    tasksDone: nullable(natural),
  })),
});

/** Every message a child may send, by kind. */
const MESSAGES: Record<FromChild[typeof TAG], Check> = {
  ready: any,
  started: shape({ tid: nullable(natural) }),
  failed: shape({ error: encodedError }),
  // A worker reports its own exit (Deno.exit's code, 0 to 255); a subprocess's comes from the OS.
  exit: shape({
    code: is((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255, "0 to 255"),
  }),
  spawn: shape({ ref: natural, spec: launchSpec }),
  stop: shape({ ref: natural, how: oneOf("terminate", "kill", "request") }),
  call: shape({ ref: natural, home: natural, call: ringCall }),
  alive: shape({ n: natural }),
  probed: shape({ n: natural, report: probeReport }),
  ps: shape({ ref: natural, timeoutMs: duration }),
  check: shape({ ref: natural, target: natural, timeoutMs: duration }),
  watch: shape({ ref: natural, target: natural }),
  register: shape({ buffer: sharedBuffer }),
  // Refs of cancels the root makes for a process that exited are negative.
  served: shape({ to: natural, ref: integer, reply: ringReply }),
};

/** Messages only a worker sends: a subprocess's exit code comes from the OS, and it shares no memory. */
const WORKER_ONLY = new Set(["exit", "register"]);

const CHECKS = new Map(Object.entries(MESSAGES));

/**
 * What is wrong with `message`, a protocol message (it has a string `TAG`)
 * from a child of `backend`, or undefined if it is a good `FromChild`.
 */
export function checkFromChild(message: { readonly [TAG]: string }, backend: Backend): string | undefined {
  const kind = message[TAG];
  const check = CHECKS.get(kind);
  if (check === undefined || (!BACKENDS[backend].sharesMemory && WORKER_ONLY.has(kind))) {
    return `Cannot accept a message of kind ${show(kind)}: a ${backend} child sends none`;
  }
  const problem = check(message);
  return problem === undefined
    ? undefined
    : `Cannot accept its "${kind}" message as ${problem.startsWith(".") ? problem.slice(1) : `it${problem}`}`;
}

/** What each call's answer may hold: a reply that fits no call is refused. */
const RESULTS: Record<RingCall["op"], (value: unknown) => boolean> = {
  put: (v) => v === null || v === "full" || v === "closed",
  get: (v) => v === "empty" || v === "closed" || (isRecord(v) && "item" in v),
  poll: (v) => typeof v === "boolean",
  join: (v) => typeof v === "boolean",
  close: (v) => typeof v === "boolean",
  taskDone: (v) => typeof v === "boolean",
  copy: (v) => v === null,
  stat: (v) => v === null,
  buffer: (v) => isRecord(v) && "buffer" in v,
  cancel: (v) => v === null,
};

/**
 * What is wrong with `reply` as the answer to a call of `op` (a quiet put is
 * answered only when refused), or undefined if it fits.
 */
export function checkReply(reply: RingReply, op: RingCall["op"], quiet: boolean): string | undefined {
  if (!reply.ok) return undefined;
  const fits = quiet ? reply.value === "closed" : RESULTS[op](reply.value);
  return fits
    ? undefined
    : `Cannot accept its "served" message as reply.value${fail(reply.value, `an answer to "${op}"`)}`;
}

/**
 * What is wrong with `value` as a pool worker's outcome (`PoolOutcome` in
 * `_protocol.ts`), read from its outbox, when the worker's next unanswered
 * task is `next`; undefined if it is good.
 */
export function checkOutcome(value: unknown, next: number | undefined): string | undefined {
  if (!Array.isArray(value) || value.length !== 3) {
    return `Cannot accept its outcome as it is ${show(value)}, not [id, ok, value]`;
  }
  const [id, ok, result] = value;
  const badId = natural(id);
  if (badId !== undefined) return `Cannot accept its outcome as the task id${badId}`;
  if (ok !== 0 && ok !== 1 && ok !== 2) return `Cannot accept its outcome as its ok${fail(ok, "0, 1 or 2")}`;
  if (ok === 2) {
    const confirmed = natural(result);
    return confirmed === undefined ? undefined : `Cannot accept its confirmation as the count${confirmed}`;
  }
  if (ok === 0) {
    const error = encodedError(result);
    if (error !== undefined) return `Cannot accept its outcome as the error${error}`;
  }
  if (id !== 0 && id !== next) {
    return `Cannot accept its outcome for task ${id}: the task it holds next is ${next ?? "none"}`;
  }
  return undefined;
}

// ---- Refusing a child --------------------------------------------------------

/** Hosts whose child has been refused: it is being killed, and what it still sends is dropped. */
const refused = new WeakSet<object>();

/** What can end a child. */
interface Killable {
  stop(how: "kill"): void;
}

/**
 * Reports once, on stderr under the child's name, that the child behind
 * `host` broke the protocol (`why`), and kills it (`kill`, by default
 * `host.stop("kill")`): its creator sees it exit with -9, and everything
 * else goes on.
 */
export function refuseChild(
  host: object,
  name: string,
  why: string,
  kill: () => void = () => (host as Killable).stop("kill"),
): void {
  if (refused.has(host)) return;
  refused.add(host);
  report(`Process ${name}:\n${why}; killing it`);
  kill();
}

/**
 * Where every message from a child enters the root: drops it if the child
 * was refused already; refuses the child if the message is not a valid
 * `FromChild`, or if acting on it throws; else hands it to `deliver`.
 */
export function receiveFromChild(
  host: Killable,
  name: string,
  backend: Backend,
  message: { readonly [TAG]: string },
  deliver: (message: FromChild) => void,
): void {
  if (refused.has(host)) return;
  const problem = checkFromChild(message, backend);
  if (problem !== undefined) return refuseChild(host, name, problem);
  try {
    deliver(message as FromChild);
  } catch (error) {
    refuseChild(host, name, `Cannot act on its "${message[TAG]}" message: ${describeError(error)}`);
  }
}

/** An error as a one-line report shows it. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return typeof error;
  }
}
