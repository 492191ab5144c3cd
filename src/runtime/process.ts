import { adopt, takeAdoption } from "./_adopt.ts";
import { checkDuration } from "../core/_duration.ts";
import { holdWhile } from "../core/_keep_alive.ts";
import { workerOptionsEnabled, workerSandboxUnavailable } from "./_deno_flags.ts";
import {
  heldPermissions,
  type PermissionOptions,
  resolvePermissions,
  validatePermissions,
} from "./_permissions.ts";
import { ProcessEngine } from "./_process_engine.ts";
import { BACKEND_NAMES, BACKENDS, isBackend } from "./_backends.ts";
import type { Backend, EntrySpec } from "./_protocol.ts";
import { runtime } from "./_runtime.ts";
import { Queue } from "../channels/queue.ts";
import { type ActorRef, actorRef } from "./actor.ts";
// Python's exit rule, which every program that starts a process needs (it installs itself).
import "./shutdown.ts";
import type { CrashReports } from "../core/_report.ts";

export type { Crash, CrashReports } from "../core/_report.ts";

export type { Backend } from "./_protocol.ts";

/**
 * A Deno permission set for a child: for each permission, `true` (all of
 * it), `false` (none) or a list (of paths for `read`, `write` and `ffi`,
 * hosts for `net` and `import`, variable names for `env`, commands for
 * `run`, kinds for `sys`). A permission left out is what the parent holds
 * (when it holds all of it). A child can never get more than its parent.
 *
 * @example A child that may read one directory and nothing else
 * ```ts
 * import { Process, type ProcessPermissions } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const permissions: ProcessPermissions = {
 *   read: [Deno.cwd()],
 *   write: false,
 *   net: false,
 *   env: false,
 *   run: false,
 * };
 * const p = new Process({ backend: "subprocess", permissions });
 * await p.start();
 * await p.join();
 * assert.equal(p.exitCode, 0);
 * ```
 */
export type ProcessPermissions = PermissionOptions;

/**
 * Options for {@linkcode Process}, Python's `Process(target, name, args, daemon)`.
 *
 * @typeParam Args The argument list of `target`.
 *
 * @example Options checked against the target's parameters
 * ```ts
 * import type { ProcessOptions } from "@troupe/troupe";
 *
 * function resize(path: string, width: number): void {
 *   console.log(path, width);
 * }
 * const options: ProcessOptions<[string, number]> = {
 *   target: resize,
 *   args: ["photo.png", 640],
 *   name: "resizer",
 *   daemon: true,
 * };
 * console.log(options.name);
 * ```
 */
export interface ProcessOptions<Args extends unknown[] = unknown[]> {
  /**
   * The function the child runs. It must be a named function exported from
   * `module`: the child imports that module to find it, as Python's spawn
   * start method does. It may be async; the child exits when it settles.
   */
  target?: (...args: Args) => unknown;
  /**
   * The arguments for `target`. They reach the child as a structured-clone
   * copy, so they must be data: no functions, symbols or promises.
   *
   * @default {[]}
   */
  args?: Args;
  /**
   * The process name. Any string; names need not be unique.
   *
   * @default {"Process-N" (the class name and a per-parent counter; "Process-N:M" for a child's child)}
   */
  name?: string;
  /**
   * A daemon process is terminated when its parent finishes (see
   * {@linkcode shutdown}) and may not start children of its own.
   *
   * @default {the creating process's daemon flag (false in the main module)}
   */
  daemon?: boolean;
  /**
   * Where the process runs.
   *
   * @default {"worker"}
   */
  backend?: Backend;
  /**
   * A Deno permission sandbox for the child (see {@linkcode ProcessPermissions}).
   * On the worker backend this needs Deno's worker-options feature
   * (`"unstable": ["worker-options"]` in deno.json); without it the Process
   * constructor throws rather than let Deno end the program.
   *
   * @default {what the parent holds}
   */
  permissions?: ProcessPermissions;
  /**
   * The V8 heap limit of the child, in MiB (subprocess backend only). A child
   * that runs out of memory dies alone, with a negative exit code (the
   * signal V8 aborts with); the parent and its other children carry on.
   *
   * @default {V8's default}
   */
  memoryLimitMb?: number;
  /**
   * The absolute URL of the module that exports `target` (or the subclass):
   * pass `import.meta.url` when that is not the main module, as in a test
   * file that imports its targets or a library module.
   *
   * @default {the main module}
   */
  module?: string | URL;
  /**
   * The queue the child reads as its mailbox (`currentProcess().mailbox`).
   * A supervisor gives each incarnation of a child the same one, so messages
   * sent while it restarts wait there.
   *
   * @default {a new, unbounded Queue}
   */
  mailbox?: Queue<unknown>;
}

const OPTION_NAMES = new Set([
  "mailbox",
  "target",
  "args",
  "name",
  "daemon",
  "backend",
  "permissions",
  "memoryLimitMb",
  "module",
]);

/** Asks a child to finish (set in Process's static block, which may read `#engine`). */
let requestStopOf: (process: Process) => void;
/** Marks a child the program need not wait for (set in Process's static block). */
let detachOf: (process: Process) => void;
/** Sets how a child's crash is reported (set in Process's static block). */
let crashReportsOf: (process: Process, how: CrashReports) => void;

/**
 * Sets how the crash of a child not yet started is reported: a supervisor's
 * or pool's `crashReports` option (see `_report.ts`).
 *
 * @internal
 */
export function reportCrashesAs(process: Process, how: CrashReports): void {
  crashReportsOf(process, how);
}

/**
 * Lets the program end while a child not yet started runs, without waiting
 * for it or terminating it when the main module is done: it ends with the
 * program. For a supervisor's children, which serve whoever asks (and may
 * have children), and a pool's workers, which the pool would replace.
 *
 * @internal
 */
export function detach(process: Process): void {
  detachOf(process);
}

/**
 * Asks a started child to finish: its `serve()` loops return with reason
 * "shutdown" and its supervisors stop. For the supervisor's graceful stop.
 *
 * @internal
 */
export function requestStop(process: Process): void {
  requestStopOf(process);
}

/**
 * A process: a function (or the `run()` of a subclass) running in a child of
 * this one, with Python's `multiprocessing.Process` lifecycle.
 *
 * The child imports the module that defines the target, as Python's spawn
 * start method does, so code outside `if (import.meta.main)` runs again in
 * the child; keep process starts under that guard.
 *
 * Exit codes: `0` when the target returns, `1` when it throws (its stack goes
 * to stderr, prefixed with the process name), `n` after `Deno.exit(n)`,
 * `-15` after {@linkcode Process.prototype.terminate}, `-9` after
 * {@linkcode Process.prototype.kill}.
 *
 * @typeParam Args The argument list of the target.
 *
 * @example A target function with arguments
 * ```ts
 * import { Process } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * // Targets are exported from a module the child imports; usually that is
 * // your main module. A data: URL keeps this example in one piece.
 * const module = "data:text/javascript,export function greet(who) { console.log(`hello ${who}`); }";
 * const { greet } = await import(module);
 *
 * const p = new Process({ target: greet, args: ["troupe"], module });
 * await p.start();
 * await p.join();
 * assert.equal(p.exitCode, 0);
 * ```
 *
 * @example A sandboxed OS process
 * ```ts
 * import { Process } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export async function peek() { await Deno.readTextFile('/etc/hostname'); }";
 * const { peek } = await import(module);
 *
 * const p = new Process({ target: peek, module, backend: "subprocess", permissions: { read: false } });
 * await p.start();
 * await p.join();
 * assert.equal(p.exitCode, 1); // NotCapable: the read was refused
 * ```
 *
 * @example A subclass that overrides run()
 * ```ts ignore
 * import { Process } from "@troupe/troupe";
 *
 * export class Clock extends Process {
 *   constructor(readonly intervalMs: number) {
 *     super();
 *   }
 *   override async run() {
 *     for (let i = 0; i < 3; i++) {
 *       console.log(`${this.name}: ${new Date().toLocaleTimeString()}`);
 *       await new Promise((r) => setTimeout(r, this.intervalMs));
 *     }
 *   }
 * }
 *
 * if (import.meta.main) {
 *   const clock = new Clock(1000);
 *   await clock.start();
 *   await clock.join();
 * }
 * ```
 */
export class Process<Args extends unknown[] = unknown[]> {
  #engine: ProcessEngine;
  // Loosely typed on purpose: `Args` only checks the constructor's options,
  // so a Process<[string]> is still a Process (for arrays, activeChildren()).
  #target: ((...args: never[]) => unknown) | undefined;
  #args: readonly unknown[];
  #module: string | undefined;

  /**
   * Creates a process; nothing runs until {@linkcode Process.prototype.start}.
   *
   * @param options The target, its arguments and the process's settings.
   * @throws {TypeError} When an option has the wrong type or is unknown.
   */
  constructor(options: ProcessOptions<Args> = {}) {
    const adoption = takeAdoption();
    if (adoption) {
      this.#engine = new ProcessEngine(adoption.role, this);
      this.#target = adoption.target;
      this.#args = adoption.args ?? [];
      return;
    }
    validateOptions(options);
    this.#target = options.target as ((...args: never[]) => unknown) | undefined;
    this.#args = options.args ?? [];
    this.#module = options.module === undefined ? undefined : String(options.module);
    const identity = [...runtime.self.identity, runtime.nextCount()];
    this.#engine = new ProcessEngine("child", this, {
      name: options.name ?? `${new.target.name}-${identity.join(":")}`,
      daemon: options.daemon ?? runtime.self.daemon,
      identity,
      host: {
        backend: options.backend ?? "worker",
        permissions: options.permissions === undefined
          ? heldPermissions(this.#module)
          : resolvePermissions(options.permissions),
        sandboxed: options.permissions !== undefined,
        memoryLimitMb: options.memoryLimitMb ?? null,
      },
      mailbox: options.mailbox,
    });
  }

  static {
    requestStopOf = (process) => process.#engine.stop("request");
    detachOf = (process) => process.#engine.detached = true;
    crashReportsOf = (process, how) => process.#engine.crashReports = how;
  }

  /**
   * The process name: "Process-1", "Process-2", … by default, or a subclass's
   * name ("Clock-3"); a child's children are "Process-1:1" and so on.
   *
   * @example Default names
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * assert.match(p.name, /^Process-\d+$/);
   * p.name = "fetcher";
   * assert.equal(p.name, "fetcher");
   * ```
   */
  get name(): string {
    return this.#engine.name;
  }

  set name(value: string) {
    if (typeof value !== "string") {
      throw new TypeError(`Cannot set name as it must be a string: current value is ${describe(value)}`);
    }
    this.#engine.name = value;
  }

  /**
   * Whether this is a daemon process; settable only before start.
   *
   * @example Making a process a daemon
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * p.daemon = true;
   * assert.equal(p.daemon, true);
   * ```
   */
  get daemon(): boolean {
    return this.#engine.daemon;
  }

  set daemon(value: boolean) {
    if (typeof value !== "boolean") {
      throw new TypeError(`Cannot set daemon as it must be a boolean: current value is ${describe(value)}`);
    }
    this.#engine.daemon = value;
  }

  /**
   * The OS process id the process runs in: `null` before start. Isolates
   * share their OS process, so on the worker backend this is the program's
   * own pid.
   *
   * @example The pid after start
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * assert.equal(p.pid, null);
   * await p.start();
   * assert.equal(p.pid, Deno.pid);
   * await p.join();
   * ```
   */
  get pid(): number | null {
    return this.#engine.pid;
  }

  /**
   * The exit code: `null` before start and while running, then `0` (returned),
   * `1` (threw), `n` (`Deno.exit(n)`), `-15` (terminated) or `-9` (killed).
   *
   * @example Reading the exit code
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * await p.start();
   * await p.join();
   * assert.equal(p.exitCode, 0);
   * ```
   */
  get exitCode(): number | null {
    return this.#engine.exitCode;
  }

  /**
   * A promise of the exit code, settled when the process ends: Python's
   * `sentinel`, for use with `Promise.race` and friends. Like `join()`, it
   * keeps the program running until the process ends, so a daemon whose
   * `exited` was read is not terminated when the main module is done.
   *
   * @throws {ProcessError} Before start, or for a process that is not a child.
   *
   * @example Waiting for whichever child ends first
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const a = new Process();
   * const b = new Process();
   * await a.start();
   * await b.start();
   * const first = await Promise.race([a.exited, b.exited]);
   * assert.equal(first, 0);
   * await a.join();
   * await b.join();
   * ```
   */
  get exited(): Promise<number> {
    const exited = this.#engine.exited;
    // Awaited as a join() is (see `_keep_alive.ts`); a supervisor or pool watching its own children does not hold.
    return this.#engine.detached ? exited : holdWhile(exited);
  }

  /**
   * Starts the process. The promise resolves once the child has imported
   * its module and is about to run the target; it rejects with a
   * {@linkcode ProcessError} when the child cannot find or import the target
   * (the child then exits with code 1): its `cause` is the child's error, and
   * its stack is where you called `start()`. Awaiting it is optional: when
   * nobody awaits it, the child's error is printed instead, as Python's child
   * prints its traceback, so a failure is reported once either way.
   *
   * @returns A promise that settles when the target is about to run.
   * @throws {ProcessError} When started twice, closed, started from a daemon
   * process, or started while a child is still importing its module.
   * @throws {TypeError} When an argument or field cannot be cloned; the
   * message names its path, such as `args[1].onDone is a function`.
   *
   * @example Starting and waiting
   * ```ts
   * import { Process } from "@troupe/troupe";
   *
   * const p = new Process();
   * await p.start();
   * await p.join();
   * ```
   */
  start(): Promise<void> {
    const promise = this.#engine.start(this.#entry(), this.#args);
    // As in Python, the parent lets go of the target once the child has it.
    this.#target = undefined;
    this.#args = [];
    return promise;
  }

  /**
   * Waits until the process ends or `timeoutMs` passes. Resolves to
   * `undefined` either way, as Python does: check `exitCode` or `isAlive()`
   * afterwards. A timeout of zero or less only polls.
   *
   * @param timeoutMs How long to wait, in milliseconds; forever when omitted or `Infinity`.
   * @param options `signal` aborts the wait, rejecting with its reason.
   * @returns A promise that resolves when the process has ended or the time is up.
   * @throws {ProcessError} (as a rejection) Before start, when closed, or on the current process.
   *
   * @example Joining with a timeout
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * await p.start();
   * await p.join(10_000);
   * assert.equal(p.isAlive(), false);
   * ```
   */
  join(timeoutMs?: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      checkDuration(timeoutMs, "join", "timeoutMs");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#engine.join(timeoutMs, options.signal);
  }

  /**
   * Whether the process has started and not yet ended.
   *
   * @returns `true` from start until the process is seen to end.
   *
   * @example Before and after
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * assert.equal(p.isAlive(), false);
   * await p.start();
   * await p.join();
   * assert.equal(p.isAlive(), false);
   * ```
   */
  isAlive(): boolean {
    return this.#engine.isAlive();
  }

  /**
   * Stops the process at once, like SIGTERM: no `finally` blocks run in it,
   * and its own children are left running. Its exit code becomes `-15`. A
   * no-op once it has ended. Does not wait: `join()` does.
   *
   * @throws {ProcessError} Before start, when closed, or on a process that is not a child.
   *
   * @example Terminating a process that would run forever
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function forever() { return new Promise(() => setInterval(() => {}, 1000)); }";
   * const { forever } = await import(module);
   *
   * const p = new Process({ target: forever, module });
   * await p.start();
   * p.terminate();
   * await p.join();
   * assert.equal(p.exitCode, -15);
   * ```
   */
  terminate(): void {
    this.#engine.stop("terminate");
  }

  /**
   * Like {@linkcode Process.prototype.terminate}, with SIGKILL's exit code, `-9`.
   *
   * @throws {ProcessError} Before start, when closed, or on a process that is not a child.
   *
   * @example Killing a process
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function forever() { return new Promise(() => setInterval(() => {}, 1000)); }";
   * const { forever } = await import(module);
   *
   * const p = new Process({ target: forever, module });
   * await p.start();
   * p.kill();
   * await p.join();
   * assert.equal(p.exitCode, -9);
   * ```
   */
  kill(): void {
    this.#engine.stop("kill");
  }

  /**
   * Releases the process object. Afterwards everything but `name` throws. A
   * no-op when already closed.
   *
   * @throws {ProcessError} While the process is still running.
   *
   * @example Closing after join
   * ```ts
   * import { Process, ProcessError } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * await p.start();
   * await p.join();
   * p.close();
   * assert.throws(() => p.isAlive(), ProcessError);
   * ```
   */
  close(): void {
    this.#engine.close();
  }

  /**
   * What the child runs: by default the target with its arguments. Override
   * it in a subclass (exported from its module) to run your own code; the
   * subclass's own fields are carried over to the child, its constructor is
   * not run there.
   *
   * @returns Whatever the target returns; the child exits when it settles.
   *
   * @example Running the target in this process
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process({ target: (n: number) => n * 2, args: [21] });
   * assert.equal(p.run(), 42);
   * ```
   */
  run(): unknown {
    return this.#target?.(...this.#args as never[]);
  }

  /**
   * The process's mailbox: a {@linkcode Queue} that the process itself reads
   * (`currentProcess().mailbox`) and that its parent (`p.mailbox`), its
   * children (`parentProcess().mailbox`) and anyone it is passed to may put
   * to. A child's mailbox exists from construction, so messages may be put
   * before `start()`. An actor's mailbox is this queue.
   *
   * @example Telling a child what to do
   * ```ts
   * import { currentProcess, Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript," +
   *   "import { currentProcess, parentProcess } from '" + new URL("../../mod.ts", import.meta.url) + "';" +
   *   "export async function shout() { const word = await currentProcess().mailbox.get(); await parentProcess().mailbox.put(word.toUpperCase()); }";
   * const { shout } = await import(module);
   *
   * const p = new Process({ target: shout, module });
   * await p.mailbox.put("hey");   // waits there until the child reads it
   * await p.start();
   * assert.equal(await currentProcess().mailbox.get({ timeout: 5000 }), "HEY");
   * await p.join();
   * ```
   */
  get mailbox(): Queue<unknown> {
    return this.#engine.mailbox;
  }

  /**
   * A typed {@linkcode ActorRef} to this process: `tell` puts into its
   * mailbox, `ask` waits for the answer of a {@linkcode serve} loop there.
   * Pass it to other processes in `args` or in messages.
   *
   * @typeParam In What the process is sent.
   * @typeParam Out What it answers.
   * @returns A ref to this process.
   *
   * @example
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const p = new Process();
   * const ref = p.ref<string>();
   * ref.tell("queued before start");
   * assert.equal(await p.mailbox.get(), "queued before start");
   * ```
   */
  ref<In = unknown, Out = unknown>(): ActorRef<In, Out> {
    const engine = this.#engine;
    return actorRef<In, Out>(engine.id, engine.name, engine.mailbox);
  }

  /**
   * Terminates the process if it is still running, waits for it, and closes
   * it, so `await using p = new Process(…)` never leaves a child behind.
   *
   * @returns A promise that resolves once the process has ended and is closed.
   *
   * @example Scoped to a block
   * ```ts
   * import { Process } from "@troupe/troupe";
   *
   * {
   *   await using p = new Process();
   *   await p.start();
   * } // terminated if still running, joined and closed here
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#engine.status === "started") {
      this.terminate();
      await this.join();
    }
    this.close();
  }

  /**
   * Python's repr: `<Process name='Process-1' pid=123 started daemon>`.
   *
   * @returns The name, pid, state and daemon flag in one line.
   *
   * @example Printing a process
   * ```ts
   * import { Process } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.match(String(new Process({ name: "p" })), /^<Process name='p' initial>$/);
   * ```
   */
  toString(): string {
    const engine = this.#engine;
    const parts = [`<${this.constructor.name} name='${engine.name}'`];
    if (engine.role !== "child") {
      parts.push(`pid=${engine.pid}`, engine.role === "self" ? "current" : "parent");
    } else if (engine.status === "initial") parts.push("initial");
    else if (engine.status === "started") parts.push(`pid=${engine.pid}`, "started");
    else parts.push(`pid=${engine.pid}`, `stopped exitCode=${engine.exitCode}`);
    if (engine.daemon) parts.push("daemon");
    return parts.join(" ") + ">";
  }

  #entry(): EntrySpec | null {
    const Class = this.constructor as typeof Process;
    if (Class.prototype.run !== Process.prototype.run) {
      return {
        kind: "subclass",
        module: this.#module ?? runtime.mainModule,
        name: Class.name,
        source: Function.prototype.toString.call(Class),
        fields: Object.fromEntries(Object.entries(this)),
      };
    }
    const target = this.#target;
    if (!target) return null;
    return {
      kind: "function",
      module: this.#module ?? runtime.mainModule,
      name: target.name,
      source: Function.prototype.toString.call(target),
    };
  }
}

// Shown by console.log and Deno.inspect.
Object.defineProperty(Process.prototype, Symbol.for("Deno.customInspect"), {
  value(this: Process) {
    return this.toString();
  },
});

/**
 * The `Process` object of the running process: "MainProcess" in the main
 * module; in a child, the very object its parent started (a subclass
 * instance when the parent started a subclass).
 *
 * @returns The current process.
 *
 * @example In the main module
 * ```ts
 * import { currentProcess } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.equal(currentProcess().name, "MainProcess");
 * assert.equal(currentProcess().isAlive(), true);
 * ```
 */
export function currentProcess(): Process {
  return (runtime.current ??= adopt(Process, Process, { role: "self" })) as Process;
}

let parent: Process | undefined;

/**
 * The parent of the running process, or `null` in the main module. Its
 * `isAlive()` and `join()` follow the parent's life.
 *
 * @returns The parent process, or `null`.
 *
 * @example In the main module
 * ```ts
 * import { parentProcess } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parentProcess(), null);
 * ```
 */
export function parentProcess(): Process | null {
  if (!runtime.parent) return null;
  return parent ??= adopt(Process, Process, { role: "parent" });
}

/**
 * The children of the running process that have started and not yet ended.
 *
 * @returns A new array of live children, oldest first.
 *
 * @example Listing children
 * ```ts
 * import { activeChildren, Process } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const p = new Process();
 * await p.start();
 * assert.ok(activeChildren().includes(p) || p.exitCode !== null);
 * await p.join();
 * assert.ok(!activeChildren().includes(p));
 * ```
 */
export function activeChildren(): Process[] {
  return [...runtime.children].map((engine) => engine.facade as Process);
}

/**
 * The number of logical CPUs of this machine, the default size of a pool.
 *
 * @returns The CPU count, at least 1.
 *
 * @example
 * ```ts
 * import { cpuCount } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.ok(cpuCount() >= 1);
 * ```
 */
export function cpuCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

function validateOptions<Args extends unknown[]>(options: ProcessOptions<Args>): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot create a Process as options must be an object: current value is ${describe(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) {
      throw new TypeError(
        `Cannot create a Process as "${key}" is not an option: use ${[...OPTION_NAMES].join(", ")}`,
      );
    }
  }
  const { target, args, name, daemon, backend, permissions, memoryLimitMb, module, mailbox } = options;
  if (target !== undefined) validateTarget(target);
  if (mailbox !== undefined && !(mailbox instanceof Queue)) {
    throw new TypeError(
      `Cannot create a Process as mailbox must be a Queue: current value is ${describe(mailbox)}`,
    );
  }
  if (args !== undefined && !Array.isArray(args)) {
    throw new TypeError(
      `Cannot create a Process as args must be an array: current value is ${describe(args)}`,
    );
  }
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(
      `Cannot create a Process as name must be a string: current value is ${describe(name)}`,
    );
  }
  if (daemon !== undefined && typeof daemon !== "boolean") {
    throw new TypeError(
      `Cannot create a Process as daemon must be a boolean: current value is ${describe(daemon)}`,
    );
  }
  if (backend !== undefined && !isBackend(backend)) {
    throw new TypeError(
      `Cannot create a Process as backend must be ${BACKEND_NAMES}: current value is ${describe(backend)}`,
    );
  }
  const traits = BACKENDS[backend ?? "worker"];
  if (permissions !== undefined) {
    validatePermissions(permissions);
    // The root hosts every worker and is the one that can tell; a child may
    // not even be allowed to read the flags (its request is checked there).
    if (traits.sandbox === "worker-options" && runtime.role === "root" && !workerOptionsEnabled()) {
      throw workerSandboxUnavailable();
    }
  }
  if (memoryLimitMb !== undefined) {
    if (typeof memoryLimitMb !== "number" || !Number.isInteger(memoryLimitMb) || memoryLimitMb <= 0) {
      throw new RangeError(
        `Cannot create a Process as memoryLimitMb must be a positive integer: current value is ${
          describe(memoryLimitMb)
        }`,
      );
    }
    if (!traits.memoryLimit) {
      throw new TypeError(
        'Cannot limit the memory of a worker as isolates share the program\'s heap limit: use backend: "subprocess"',
      );
    }
  }
  if (module !== undefined) validateModule(module);
}

function validateTarget(target: unknown): void {
  if (typeof target !== "function") {
    throw new TypeError(
      `Cannot create a Process as target must be a function: current value is ${describe(target)}`,
    );
  }
  if (/^class\b/.test(Function.prototype.toString.call(target))) {
    throw new TypeError(
      `Cannot use class ${target.name} as a target: subclass Process and override run() instead`,
    );
  }
  if (!target.name || target.name.startsWith("bound ")) {
    throw new TypeError(
      "Cannot use an anonymous or bound function as a target as the child finds its target " +
        "by name among its module's exports: export a named function and pass that",
    );
  }
}

function validateModule(module: unknown): void {
  if (typeof module === "string" || module instanceof URL) {
    try {
      new URL(String(module));
      return;
    } catch {
      // Falls through to the error below.
    }
  }
  throw new TypeError(
    `Cannot create a Process as module must be an absolute URL such as import.meta.url: current value is ${
      describe(module)
    }`,
  );
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "null prototype"})`;
  return String(value);
}
