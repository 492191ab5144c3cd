/**
 * The wire protocol: every message that crosses between the root isolate and
 * a process it hosts. Nothing else may be posted on a host channel.
 *
 * Topology: the root isolate hosts every process, whoever created it, because
 * workers started inside workers start ~25x slower and talk ~60x slower than
 * workers started from the root. A process that creates a child asks the root
 * to host it (`spawn`), and the root reports that child's life back to it
 * (`kid`). Parent/child relations stay as the user wrote them; only the
 * hosting is flat.
 *
 * @module
 */

import type { EncodedError } from "../wire/_error_codec.ts";
import type { ResolvedPermissions } from "./_permissions.ts";
import type { FunctionKey } from "../wire/_function_key.ts";
import type { RingCall, RingReply } from "../memory/_remote.ts";

/** Every protocol message carries this key, so stray user `postMessage`s are ignored. */
export const TAG = "$troupe";

/** What the child imports and runs. */
export type EntrySpec =
  /** No target and no `run()` override: the child runs nothing and exits 0, as in Python. */
  | { readonly kind: "none" }
  | {
    /** A plain target function: `run()` calls it with `args`. */
    readonly kind: "function";
    /** The module URL the child imports to find the target. */
    readonly module: string;
    /** The target's `name`; the export is looked up by it. */
    readonly name: string;
    /** The target's source text, to tell it apart from a same-named function. */
    readonly source: string;
  }
  | {
    /** A `Process` subclass: the child rebuilds the instance and calls `run()`. */
    readonly kind: "subclass";
    readonly module: string;
    readonly name: string;
    readonly source: string;
    /** The instance's own fields, carried over as Python's spawn pickles `__dict__`. */
    readonly fields: Record<string, unknown>;
  };

/** The identity of a process as another process sees it. */
export interface ProcessInfo {
  readonly name: string;
  readonly pid: number;
  /** The root-wide id of the process; 0 is the root itself. */
  readonly id: number;
}

/**
 * Where a process runs. `"worker"` is an isolate (a Deno `Worker`) in this OS
 * process: cheap to start (~20 ms), and able to share memory with its
 * parent, but it shares the program's heap limit and dies with it. A
 * `"subprocess"` is an OS process of its own (`deno run`, ~50 ms to start):
 * a real pid, real signals, its own heap limit, and a crash or out-of-memory
 * that harms nobody else.
 */
export type Backend = "worker" | "subprocess";

/** How the root hosts a process. */
export interface HostSpec {
  readonly backend: Backend;
  /** Every permission decided; a child never holds more than its parent. */
  readonly permissions: ResolvedPermissions;
  /**
   * Whether the user asked for a sandbox (a worker then needs Deno's
   * worker-options). Only a request: the root gives a worker a sandbox
   * whenever its parent holds less than the root, whatever this says.
   */
  readonly sandboxed: boolean;
  /** The V8 heap limit of a subprocess, or null for V8's default. */
  readonly memoryLimitMb: number | null;
}

/** Everything a fresh isolate needs to become a process. */
export interface LaunchSpec {
  readonly host: HostSpec;
  readonly name: string;
  /** Python's `_identity`: `[1]` for "Process-1", `[1, 2]` for its second child. */
  readonly identity: readonly number[];
  readonly daemon: boolean;
  /**
   * Whether the program may end while this process runs, as it may with a
   * daemon: a supervisor's children, which serve whoever asks.
   */
  readonly detached: boolean;
  readonly entry: EntrySpec;
  readonly args: readonly unknown[];
  /** The root's main module: the default place to look for targets, in every generation. */
  readonly mainModule: string;
  /** The root's `Deno.args`, which every child sees as its own, as Python children see `sys.argv`. */
  readonly argv: readonly string[];
  readonly parent: ProcessInfo;
  /** The child's mailbox and its parent's, as shared descriptors (`_shared.ts`). */
  readonly mailboxes: Mailboxes;
}

/** The mailboxes a child starts with. */
export interface Mailboxes {
  readonly own: unknown;
  readonly parent: unknown;
  /**
   * Whether its creator lent it `own` (the `mailbox` option): the mailbox
   * outlives this process (a supervisor gives it to every incarnation), so
   * the root keeps serving it after the process exits.
   */
  readonly lent?: boolean;
}

/** Who a child is: what it must know before the module of its target is evaluated. */
export interface ChildIdentity {
  /** The root-wide id of the process. */
  readonly id: number;
  readonly name: string;
  readonly identity: readonly number[];
  readonly daemon: boolean;
  readonly parent: ProcessInfo;
  readonly mainModule: string;
  readonly argv: readonly string[];
}

/** What a child's entry module sets before anything else runs. */
export interface Preamble {
  /**
   * Who the child is (its target's module may call `currentProcess()` at top
   * level), or null for a spare: a child started ahead of need, told who it
   * is by its launch message.
   */
  readonly self: ChildIdentity | null;
  /**
   * Where a subprocess child connects back to, and which child it says it is
   * there. Neither is a secret (a command line is readable by every user):
   * the child proves the claim with a key its parent writes to its stdin.
   */
  readonly channel: { readonly port: number; readonly id: string } | null;
}

/**
 * How a caller asks for a process to stop: SIGTERM or SIGKILL in Python's
 * terms, or "request": ask it to finish (a supervisor's graceful shutdown;
 * the child's `serve()` loops and supervisors wind down, and it may ignore it).
 */
export type StopHow = "terminate" | "kill" | "request";

/**
 * What a child's creator learns about it, in order: started or failed
 * (could not start), then failed again if it crashed, then exited. `shown`:
 * the runtime printed the error already (a worker whose module failed to
 * load). `refused`: the root refused to start it, so no child ran: the error
 * is start()'s, no crash.
 */
export type KidEvent =
  | { readonly ev: "spawned"; readonly id: number; readonly pid: number }
  | { readonly ev: "started" }
  | {
    readonly ev: "failed";
    readonly error: EncodedError;
    readonly shown?: boolean;
    readonly refused?: boolean;
  }
  | { readonly ev: "exited"; readonly code: number };

/** What the creator of a process holds: a way to stop it. */
export interface KidHandle {
  stop(how: StopHow): void;
}

/** Receives a child's life, in order: spawned, then started or failed, then exited. */
export type KidListener = (event: KidEvent) => void;

/** What a process's creator knows about one of its children. */
export interface KidNote {
  readonly id: number;
  readonly mailbox: number | null;
  readonly restarts: number;
  readonly tasksDone: number | null;
}

/** A process's answer to a probe. */
export interface ProbeReport {
  /** Its isolate's V8 heap in use, in bytes. */
  readonly heapUsed: number;
  /** Its OS process's resident memory, in bytes (for a subprocess off Linux). */
  readonly rss: number;
  /** The OS thread its isolate runs on (Linux), or null if it may not read /proc. */
  readonly tid: number | null;
  /** What it knows about its own children. */
  readonly kids: readonly KidNote[];
}

/**
 * One live troupe process, as {@linkcode ps} found it.
 *
 * @example
 * ```ts
 * import { Process, ps, type ProcessStatus } from "@troupe/troupe";
 *
 * const p = new Process();
 * await p.start();
 * const rows: ProcessStatus[] = await ps();
 * console.log(rows.map((row) => `${row.name} ${row.backend} ${row.status}`));
 * await p.join();
 * ```
 */
export interface ProcessStatus {
  /** Its name ("Process-1", "PoolWorker-3", "Supervisor-1:cache"). */
  readonly name: string;
  /** Its OS process id: its own for a subprocess, the main process's for a worker. */
  readonly pid: number;
  /** The name of the process that started it ("MainProcess" for the main module). */
  readonly parent: string;
  /** Where it runs: an isolate of the main OS process, or an OS process of its own. */
  readonly backend: Backend;
  /**
   * "starting" until its target runs; "running" when it answered the probe;
   * "busy" when it did not in time: synchronous work holds its event loop.
   */
  readonly status: "starting" | "running" | "busy";
  /** Milliseconds since it was started. */
  readonly uptimeMs: number;
  /**
   * How many processes a pool or supervisor replaced with this one (0 for the
   * first of its place); null if its creator did not answer (it is busy).
   */
  readonly restarts: number | null;
  /** Messages waiting in its mailbox; null if its creator did not answer. */
  readonly mailbox: number | null;
  /** Tasks it finished, for a pool worker; null for any other process, or if its creator is busy. */
  readonly tasksDone: number | null;
  /** A subprocess's resident memory in bytes (null for a worker, which shares its OS process's). */
  readonly rss: number | null;
  /** A worker's V8 heap in use, in bytes (null for a subprocess, or a worker that is busy). */
  readonly heapUsed: number | null;
  /**
   * CPU time in seconds, where the OS gives it (Linux, with read permission
   * for `/proc`): a subprocess's, or a worker's thread's.
   */
  readonly cpuTime: { readonly user: number; readonly system: number } | null;
}

/** Root to hosted process. */
export type ToChild =
  | {
    readonly [TAG]: "launch";
    readonly entry: EntrySpec;
    readonly args: readonly unknown[];
    readonly mailboxes: Mailboxes;
    /** For a spare only: who it now is. */
    readonly self?: ChildIdentity;
  }
  | { readonly [TAG]: "kid"; readonly ref: number; readonly event: KidEvent }
  | { readonly [TAG]: "parent-exited" }
  /** To a spare: import this module now, so the start that claims you for a target there is quick. */
  | { readonly [TAG]: "preload"; readonly module: string }
  /** Please finish: see `StopHow`. */
  | { readonly [TAG]: "stop-request" }
  /** To a subprocess: run a call on a ring it serves, made by process `from`. */
  | { readonly [TAG]: "serve"; readonly from: number; readonly ref: number; readonly call: RingCall }
  /** Are you there? Answered with `alive` by the child runtime, unless its event loop is stuck. */
  | { readonly [TAG]: "heartbeat"; readonly n: number }
  /** What do you hold? Answered with `probed` by the child runtime, unless its event loop is busy. */
  | { readonly [TAG]: "probe"; readonly n: number }
  /** The answer to this process's `ps` `ref`: the rows, or why there are none. */
  | {
    readonly [TAG]: "ps-rows";
    readonly ref: number;
    readonly rows: readonly ProcessStatus[] | null;
    readonly error?: EncodedError;
  }
  /** The answer to this process's `check` `ref`: whether the process answered a heartbeat in time. */
  | { readonly [TAG]: "checked"; readonly ref: number; readonly ok: boolean }
  /** A process this one watches (`watch` `ref`) has exited, with `code`; null if it was not alive. */
  | { readonly [TAG]: "down"; readonly ref: number; readonly code: number | null }
  /** The answer to this process's call `ref`. */
  | { readonly [TAG]: "reply"; readonly ref: number; readonly reply: RingReply };

/**
 * Hosted process to root. Untrusted: the root checks each one with
 * `checkFromChild` (`_validate.ts`), whose table must follow any change here.
 */
export type FromChild =
  /** A spare is loaded and waiting for its launch. */
  | { readonly [TAG]: "ready" }
  /** The target runs; a worker says on which OS thread (null if it may not read /proc). */
  | { readonly [TAG]: "started"; readonly tid: number | null }
  /** It could not start, or it crashed: its creator reports it (`shown`: the runtime printed it already). */
  | { readonly [TAG]: "failed"; readonly error: EncodedError; readonly shown?: boolean }
  | { readonly [TAG]: "exit"; readonly code: number }
  | { readonly [TAG]: "spawn"; readonly ref: number; readonly spec: LaunchSpec }
  | { readonly [TAG]: "stop"; readonly ref: number; readonly how: StopHow }
  /** A call on a ring served by process `home` (0: the root). */
  | { readonly [TAG]: "call"; readonly ref: number; readonly home: number; readonly call: RingCall }
  /** The answer to `heartbeat` `n`. */
  | { readonly [TAG]: "alive"; readonly n: number }
  /** The answer to `probe` `n`. */
  | { readonly [TAG]: "probed"; readonly n: number; readonly report: ProbeReport }
  /** Asks the root for `ps()`, giving each process `timeoutMs` to answer its probe (`ps-rows` `ref`). */
  | { readonly [TAG]: "ps"; readonly ref: number; readonly timeoutMs: number }
  /** Asks the root whether process `target` answers a heartbeat within `timeoutMs` (`checked` `ref`). */
  | { readonly [TAG]: "check"; readonly ref: number; readonly target: number; readonly timeoutMs: number }
  /** Asks to be told (`down`) when process `target` exits: OTP's monitor. */
  | { readonly [TAG]: "watch"; readonly ref: number; readonly target: number }
  /** A worker hands the root a ring it is sending away, for the root to serve (and give to other workers). */
  | { readonly [TAG]: "register"; readonly buffer: SharedArrayBuffer }
  /** A subprocess's answer to a `serve`. */
  | { readonly [TAG]: "served"; readonly to: number; readonly ref: number; readonly reply: RingReply };

/** Tells a protocol message from anything else posted on the channel. */
export function isProtocolMessage<T extends { readonly [TAG]: string }>(
  data: unknown,
): data is T {
  return typeof data === "object" && data !== null &&
    typeof (data as Record<string, unknown>)[TAG] === "string";
}

export type { FunctionKey } from "../wire/_function_key.ts";

// Pool: what a pool and each of its workers exchange through the worker's
// two rings (tasks in, outcomes out). One task is one apply, or one chunk
// of a map; its outcome is one result or one error for the whole chunk.

/** How a pool task calls its function on its payload. */
export const TaskKind = {
  /** `fn(...payload)` */
  Apply: 0,
  /** `payload.map((x) => fn(x))`: one chunk of a map or imap */
  Map: 1,
  /** `payload.map((args) => fn(...args))`: one chunk of a starmap */
  Starmap: 2,
} as const;
export type TaskKind = typeof TaskKind[keyof typeof TaskKind];

/**
 * A task, in the order a worker reads it. Ids start at 1. A worker's inbox
 * item is one task, or an array of tasks (a batch) to run in order.
 */
export type PoolTask = readonly [id: number, fn: FunctionKey, kind: TaskKind, payload: readonly unknown[]];

/**
 * What a worker sends back for task `id`, in the order it took them: the
 * value (`ok` 1), or the error as `_error_codec.ts` encodes it (`ok` 0).
 * Before any, id 0 says the worker has imported its module and run the
 * initializer: it is ready for tasks. `[0, 2, n]` is an OS-process worker
 * confirming it received its n-th inbox item, before it runs it.
 */
export type PoolOutcome = readonly [id: number, ok: 0 | 1 | 2, value: unknown];

/** Chunks at least this long that hold only numbers travel packed. */
const PACK_FROM = 32;

/**
 * A chunk's items (or results) as they travel: a Float64Array when they are
 * all numbers, which crosses as one copy of its bytes (~100x cheaper than
 * JSON for a long chunk, and exact for NaN, Infinity and -0 too); else as is.
 * Workers and the pool index either the same way.
 */
export function packNumbers(values: readonly unknown[]): readonly unknown[] {
  if (values.length < PACK_FROM) return values;
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== "number") return values;
  return new Float64Array(values as number[]) as unknown as readonly unknown[];
}

/** The one argument of a pool worker's target. */
export interface PoolWorkerSetup {
  /** The ring the worker takes tasks from, and the one it puts outcomes in (`_shared.ts` refs). */
  readonly inbox: unknown;
  readonly outbox: unknown;
  /** The module the task functions (and the initializer) are exported from. */
  readonly module: string;
  readonly initializer: FunctionKey | null;
  readonly initargs: readonly unknown[];
  /** After this many tasks the worker exits, for a fresh one to take its place; null: never. */
  readonly maxTasks: number | null;
  /** The pool's doorbell, rung after each outcome (`[rings, sleepers]`); null where memory is not shared. */
  readonly bell: SharedArrayBuffer | null;
}

// Managers (`manager.ts`): proxies ask the manager's process, which holds the objects.

/**
 * Where a manager listens: a Unix socket's path, or a TCP host and port.
 *
 * @example
 * ```ts
 * import type { ManagerAddress } from "@troupe/troupe";
 *
 * const local: ManagerAddress = { hostname: "127.0.0.1", port: 50000 };
 * const unix: ManagerAddress = "/tmp/troupe-manager.sock";
 * ```
 */
export type ManagerAddress = string | { readonly hostname: string; readonly port: number };

/** How to reach a manager: its process's ref, or its socket, with the key. */
export interface ManagerPlace {
  /** The manager's ActorRef (as a descriptor or live), or null for a manager reached only by socket. */
  readonly server: unknown;
  /** Its socket, or null when it could not listen (no `net` permission): then only its mailbox reaches it. */
  readonly address: ManagerAddress | null;
  /** The authkey, hex. */
  readonly authkey: string;
  /** The OS process (home, `_shared.ts`) the manager runs in: there its ref is the quick way. */
  readonly home: number;
}

/** What a proxy or a manager asks the manager's server. */
export type ManagerRequest =
  /** Where the server listens and which OS process it is in. */
  | { readonly op: "where" }
  /** Makes a new object of a type; the answer is its id. */
  | { readonly op: "create"; readonly typeid: string; readonly args: readonly unknown[] }
  /** Calls a method of the object `id`; the answer is a copy of what it returned. */
  | { readonly op: "call"; readonly id: number; readonly method: string; readonly args: readonly unknown[] };

/** A type the user registered: made by an exported factory, with the methods proxies may call. */
export interface RegisteredType {
  readonly typeid: string;
  readonly factory: FunctionKey;
  /** The module that exports the factory. */
  readonly module: string;
  /** The methods proxies may call; null: every public method of the object. */
  readonly exposed: readonly string[] | null;
}
