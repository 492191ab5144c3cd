/**
 * The engine behind a `Process`: its lifecycle state machine and every rule
 * about what may be called when. The `Process` class only validates
 * arguments and delegates here.
 *
 * One `Process` object can stand for three things, as in Python: a child this
 * isolate created (`"child"`), this isolate itself (`"self"`, what
 * `currentProcess()` returns) or this isolate's parent (`"parent"`).
 *
 * @module
 */

import { BACKENDS } from "./_backends.ts";
import { decodeError } from "../wire/_error_codec.ts";
import { findTooDeep, findUncloneable } from "../wire/_clone_path.ts";
import { holdWhile } from "../core/_keep_alive.ts";
import type { KidHandle } from "./_hosting.ts";
import type { EntrySpec, HostSpec, KidEvent, LaunchSpec, StopHow } from "./_protocol.ts";
import { runtime } from "./_runtime.ts";
import { aKind, discard, isShareable, memoryKindIn, reduce } from "../memory/_shared.ts";
import { waitFor } from "../core/_wait.ts";
import { Queue } from "../channels/queue.ts";
import { ProcessError } from "../core/errors.ts";
import { type CrashReports, reportCrash, userStack } from "../core/_report.ts";

/** This process's own mailbox, made on first use in the root. */
export function ownMailbox(): Queue<unknown> {
  return (runtime.mailbox ??= new Queue()) as Queue<unknown>;
}

/** What a `Process` stands for. */
export type Role = "child" | "self" | "parent";

/** Where a child is in its life. */
export type Status = "initial" | "started" | "stopped";

/** What the engine of a not yet started child is made from. */
export interface ChildInit {
  readonly name: string;
  readonly daemon: boolean;
  readonly identity: readonly number[];
  readonly host: HostSpec;
  readonly mailbox?: Queue<unknown> | undefined;
}

/** The lifecycle of one process. */
export class ProcessEngine {
  readonly role: Role;
  /** The public object this engine serves, for `activeChildren()`. */
  readonly facade: object;
  name: string;
  identity: readonly number[];
  #daemon: boolean;
  /** The program may end while it runs (a supervisor's child); see `LaunchSpec.detached`. */
  detached = false;
  /**
   * How its creator reports its crash (a supervisor's or pool's choice). By
   * default a full stack, as Python's child prints its traceback; a start
   * failure is not printed when someone awaits `start()`, which rejects with it.
   */
  crashReports: CrashReports | undefined;
  #pid: number | null;
  /** The root-wide id (-1 until a child is spawned). */
  #id: number;
  #exitCode: number | null = null;
  #status: Status;
  #closed = false;
  #handle: KidHandle | undefined;
  #host: HostSpec | undefined;
  #startup: PromiseWithResolvers<void> | undefined;
  /** Whether anyone waits on what `start()` returned: then a start failure is theirs, not printed. */
  #startWatched = false;
  /** Where `start()` was called: the stack of its rejection, which shows the user's frames only. */
  #startedAt: Error | undefined;
  /** Whether the child runs its target (it sent "started"). */
  #running = false;
  #mailbox: Queue<unknown> | undefined;
  /** Whether the mailbox was given (the `mailbox` option): it outlives this process. */
  #lentMailbox = false;
  #exit: PromiseWithResolvers<number> | undefined;

  constructor(role: Role, facade: object, init?: ChildInit) {
    this.role = role;
    this.facade = facade;
    if (role === "child") {
      this.name = init!.name;
      this.#daemon = init!.daemon;
      this.identity = init!.identity;
      this.#host = init!.host;
      this.#mailbox = init!.mailbox;
      this.#lentMailbox = init!.mailbox !== undefined;
      this.#pid = null;
      this.#id = -1;
      this.#status = "initial";
    } else {
      const info = role === "self" ? runtime.self : runtime.parent!;
      this.name = info.name;
      this.#daemon = role === "self" && runtime.self.daemon;
      this.identity = role === "self" ? runtime.self.identity : [];
      this.#pid = info.pid;
      this.#id = info.id;
      this.#status = "started";
    }
  }

  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (this.role !== "child" || this.#status !== "initial") {
      throw new ProcessError(
        `Cannot set daemon on ${this.name} as it has already started: set it before start()`,
      );
    }
    this.#daemon = value;
  }

  get status(): Status {
    return this.#status;
  }

  get pid(): number | null {
    this.#assertOpen("read pid of");
    return this.#pid;
  }

  get exitCode(): number | null {
    this.#assertOpen("read exitCode of");
    return this.#exitCode;
  }

  get exited(): Promise<number> {
    this.#assertOpen("read exited of");
    if (this.role !== "child") {
      throw new ProcessError(
        `Cannot read exited of ${this.name} as it is not a child of this process: only a child's exit can be awaited`,
      );
    }
    if (this.#status === "initial") {
      throw new ProcessError(`Cannot read exited of ${this.name} before start(): start it first`);
    }
    return this.#exit!.promise;
  }

  /** The root-wide id of the process: -1 before a child is started. */
  get id(): number {
    return this.#id;
  }

  /** The process's mailbox: a queue only it reads, that any process holding it may put to. */
  get mailbox(): Queue<unknown> {
    this.#assertOpen("read mailbox of");
    if (this.role === "child") return this.#mailbox ??= new Queue();
    if (this.role === "self") return ownMailbox();
    return runtime.parentMailbox as Queue<unknown>;
  }

  isAlive(): boolean {
    this.#assertOpen("check");
    if (this.role === "self") return true;
    if (this.role === "parent") return runtime.parentAlive;
    return this.#status === "started";
  }

  /**
   * Launches the child. Misuse throws synchronously; a child that cannot find
   * or import its target rejects the returned promise.
   */
  start(entry: EntrySpec | null, args: readonly unknown[]): Promise<void> {
    this.#assertOpen("start");
    if (this.role !== "child") {
      throw new ProcessError(
        `Cannot start ${this.name} as it is already running: start() is for a new Process`,
      );
    }
    if (this.#status !== "initial") {
      throw new ProcessError(`Cannot start ${this.name} twice: create a new Process instead`);
    }
    if (runtime.bootstrapping) {
      throw new ProcessError(
        `Cannot start ${this.name} while ${runtime.self.name} is still importing its module: ` +
          "a module-level start() would run again in every child. Put it under `if (import.meta.main)`",
      );
    }
    if (runtime.self.daemon) {
      throw new ProcessError(
        `Cannot start ${this.name} from daemon process ${runtime.self.name}: ` +
          "daemonic processes are not allowed to have children. Create the parent with daemon: false",
      );
    }
    // Before any walk that recurses: one far too deep would overflow the stack in it.
    const tooDeep = findTooDeep(args, "args", isShareable) ??
      (entry?.kind === "subclass" ? findTooDeep(entry.fields, "this", isShareable) : undefined);
    if (tooDeep) {
      throw new TypeError(
        `Cannot start ${this.name} as ${tooDeep}: a child gets a structured-clone copy of its args ` +
          "and fields, and deeper values would overflow the stack; flatten it, or pass it as a string",
      );
    }
    const memoryKind = BACKENDS[this.#host!.backend].sharesMemory ? undefined : memoryKindIn([entry, args]);
    if (memoryKind) {
      throw new TypeError(
        `Cannot start ${this.name} with ${aKind(memoryKind)} in its args: it lives in shared memory, and a ` +
          'subprocess is another OS process. Use backend: "worker" to share it, or give a subprocess a ' +
          "Manager's (manager.lock(), manager.value(), …)",
      );
    }
    const spec: LaunchSpec = {
      host: this.#host!,
      name: this.name,
      identity: this.identity,
      daemon: this.#daemon,
      detached: this.detached,
      // Queues, pipe ends and mailboxes cross by reference, everything else by copy.
      entry: reduce(entry ?? { kind: "none" }),
      args: reduce(args),
      mainModule: runtime.mainModule,
      argv: runtime.argv,
      parent: { name: runtime.self.name, pid: runtime.self.pid, id: runtime.self.id },
      mailboxes: {
        ...reduce({ own: this.mailbox, parent: ownMailbox() }),
        ...(this.#lentMailbox ? { lent: true } : {}),
      },
    };
    // Only its frames are captured now (V8 formats them if a start failure is shown).
    this.#startedAt = new Error();
    const startup = Promise.withResolvers<void>();
    // A caller who does not await start() learns of a failure from exitCode
    // and the child's stderr; the rejection must not crash the program.
    startup.promise.catch(() => {});
    this.#startup = startup;
    this.#exit = Promise.withResolvers<number>();
    try {
      this.#handle = runtime.launch(spec, (event) => this.#onEvent(event));
    } catch (error) {
      discard([spec.args, spec.entry]);
      this.#startup = undefined;
      this.#exit = undefined;
      if (isCloneError(error)) throw this.#explainCloneError(error, spec);
      // The host could not launch it (no permission to run, no Worker here):
      // start() rejects, and the process stays unstarted, as Python's does
      // when its start() raises.
      return Promise.reject(error);
    }
    this.#status = "started";
    runtime.children.add(this);
    // Awaited, it keeps the program running even for a daemon (see `_keep_alive.ts`).
    return watched(holdWhile(startup.promise), () => this.#startWatched = true);
  }

  /** Resolves when the process ends or `timeoutMs` passes; never rejects on timeout, as in Python. */
  join(timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    try {
      this.#assertOpen("join");
      if (this.role === "self") {
        throw new ProcessError(
          `Cannot join ${this.name} as it is the current process: join() waits for a child`,
        );
      }
      if (this.#status === "initial") {
        throw new ProcessError(`Cannot join ${this.name} before start(): start it first`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return holdWhile(waitFor(
      this.role === "parent" ? runtime.parentExit.promise : this.#exit!.promise,
      timeoutMs,
      signal,
    ));
  }

  /** Sends SIGTERM or SIGKILL in Python's terms; a no-op once the process has exited. */
  stop(how: StopHow): void {
    this.#assertOpen(how);
    if (this.role !== "child") {
      throw new ProcessError(
        `Cannot ${how} ${this.name} as it is not a child of this process: only a child can be stopped`,
      );
    }
    if (this.#status === "initial") {
      throw new ProcessError(`Cannot ${how} ${this.name} as it was never started: start it first`);
    }
    if (this.#status === "started") this.#handle!.stop(how);
  }

  close(): void {
    if (this.#closed) return;
    if (this.role === "child" && this.#status === "started") {
      throw new ProcessError(
        `Cannot close ${this.name} while it is still running: call join() or terminate() first`,
      );
    }
    this.#closed = true;
  }

  #onEvent(event: KidEvent): void {
    switch (event.ev) {
      case "spawned":
        this.#pid = event.pid;
        this.#id = event.id;
        break;
      case "started":
        this.#running = true;
        this.#startedAt = undefined;
        this.#startup!.resolve();
        break;
      case "failed": {
        // One report, with the user's frames: troupe's own say nothing to them.
        const error = decodeError(event.error);
        if (error instanceof Error && error.stack) error.stack = userStack(error.stack);
        if (this.#running) {
          reportCrash(this.name, error, this.crashReports ?? "stack");
          break;
        }
        // Whoever awaits start() gets the error; nobody waiting, it is printed, as Python's child does.
        const how = this.crashReports ?? (this.#startWatched ? "none" : "stack");
        // The runtime has printed it already (a module that failed to load in a worker), or the root
        // refused to start it: that is no crash, and only start() says so, as when it throws in the root.
        if (!event.refused && (!event.shown || typeof how === "function")) reportCrash(this.name, error, how);
        this.#startup!.reject(this.#startError(`Cannot start ${this.name}: ${event.error.message}`, error));
        break;
      }
      case "exited":
        this.#exitCode = event.code;
        this.#status = "stopped";
        runtime.children.delete(this);
        // A no-op when the child had started or already failed.
        if (!this.#running) {
          this.#startup!.reject(
            this.#startError(
              `Cannot start ${this.name} as it exited with code ${event.code} before its target ran`,
            ),
          );
        }
        this.#exit!.resolve(event.code);
        break;
    }
  }

  /**
   * The rejection of `start()`. Its stack is where the user called it, and
   * it is shown once: with a cause (the child's error), the stack's first
   * line points to the cause rather than repeat its message, which Deno
   * prints under it; `message` still says it all.
   */
  #startError(message: string, cause?: unknown): ProcessError {
    const error = new ProcessError(message, cause === undefined ? undefined : { cause });
    const frames = userStack(this.#startedAt?.stack ?? "").split("\n").slice(1);
    const header = cause === undefined
      ? message
      : `Cannot start ${this.name}: the child failed with the cause below`;
    error.stack = [`${error.name}: ${header}`, ...frames].join("\n");
    return error;
  }

  #assertOpen(verb: string): void {
    if (this.#closed) {
      throw new ProcessError(`Cannot ${verb} ${this.name} as it is closed`);
    }
  }

  #explainCloneError(error: DOMException, spec: LaunchSpec): TypeError {
    const path = findUncloneable(spec.args, "args") ??
      (spec.entry.kind === "subclass" ? findUncloneable(spec.entry.fields, "this") : undefined);
    return new TypeError(
      `Cannot start ${this.name} as ${path ?? `its arguments cannot be cloned (${error.message})`}: ` +
        "a child gets a structured-clone copy of its args and fields, so pass data " +
        "(no functions, symbols, promises or weak collections)",
      { cause: error },
    );
  }
}

/** Whether `error` is structured clone refusing a value: an argument that cannot cross. */
function isCloneError(error: unknown): error is DOMException {
  return error instanceof DOMException && error.name === "DataCloneError";
}

/**
 * A promise that notes whether anyone waits on it: `await`, `then`,
 * `catch`, `finally` and `Promise.all` all call its `then`.
 */
class Watched<T> extends Promise<T> {
  onWatch: (() => void) | undefined;

  // What then() makes is a plain promise.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.onWatch?.();
    return super.then(onFulfilled, onRejected);
  }
}

/** `promise`, calling `onWatch` when someone first waits on it; a rejection nobody waits for is dropped. */
function watched<T>(promise: Promise<T>, onWatch: () => void): Promise<T> {
  const result = new Watched<T>((resolve, reject) => promise.then(resolve, reject));
  // Handled, without counting as a wait: a caller who does not await start() must not crash the program.
  Promise.prototype.then.call(result, undefined, () => {});
  result.onWatch = onWatch;
  return result;
}
