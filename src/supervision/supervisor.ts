/**
 * OTP supervisors: start children in order, restart the ones that crash by
 * a strategy, give up when they crash too often, and stop them in reverse.
 * A supervisor runs in the process that creates it; put one in a child's
 * target (and await `done`) to build a tree: giving up makes that child
 * crash, and its own supervisor takes over.
 *
 * @module
 */

import { type ActorRef, actorRef, refuseWaiting } from "../runtime/actor.ts";
import {
  autoShutdownDue,
  Backoff,
  type ExitKind,
  planRestart,
  RestartIntensity,
  type RestartType,
  shouldRestart,
  type ShutdownSpec,
  type SupervisorFlags,
  validateChildSpec,
  validateFlags,
} from "./_supervision_rules.ts";
import { ProcessError } from "../core/errors.ts";
import {
  type Backend,
  type CrashReports,
  detach,
  Process,
  type ProcessPermissions,
  reportCrashesAs,
  requestStop,
} from "../runtime/process.ts";
import { isCrashReports } from "../core/_report.ts";
import { Queue } from "../channels/queue.ts";
import { holdWhile } from "../core/_keep_alive.ts";
import { report } from "../core/_report.ts";
import { runtime } from "../runtime/_runtime.ts";
import { isDuration, sleep, startTimer, stopTimer, type Timer } from "../core/_duration.ts";
import { annotate } from "../runtime/_status.ts";

/** How long after a (re)start the supervisor makes the spare for the next restart. */
const SPARE_DELAY_MS = 100;

/** How many messages a supervised child's mailbox holds (while it restarts, say) before `tell` throws. */
export const MAILBOX_SIZE = 1000;

/** One child a supervisor starts, watches and restarts. */
export interface ChildSpec {
  /** Unique among the supervisor's children; `ref(id)` and the child API use it. */
  id: string;
  /** An exported function the child runs, as for `Process` (`serve(...)` for an actor). */
  target: (...args: never[]) => unknown;
  /** Its arguments (copied at every start). */
  args?: unknown[];
  /** "permanent" (default): always restarted; "transient": only after a crash; "temporary": never. */
  restart?: "permanent" | "transient" | "temporary";
  /**
   * Whether this child's ending may stop the supervisor, as the supervisor's
   * `autoShutdown` says (OTP 24's significant children). Only a transient or
   * temporary child may be significant. Default false.
   */
  significant?: boolean;
  /**
   * How long a graceful stop may take before the child is killed, in ms
   * (default 5000; `Infinity` for a supervisor child), or "brutal_kill".
   * A graceful stop asks the child to finish: a `serve()` loop returns after
   * the message in hand (its `terminate` gets "shutdown"), a supervisor in it
   * stops its own children; a target that does neither is killed when the
   * time is up.
   */
  shutdownMs?: number | "brutal_kill";
  /**
   * Check every this many ms that the child still answers (its event loop
   * is not stuck in a busy loop, say); one that misses a check is killed
   * and handled as a crash. Off by default (or with `Infinity`).
   */
  heartbeatMs?: number;
  /** "supervisor" when the child runs a supervisor of its own (its shutdown then defaults to Infinity). */
  type?: "worker" | "supervisor";
  /** Where every incarnation runs, as `Process`'s option. Default "worker". */
  backend?: Backend;
  /** The module that exports `target`, as `Process`'s option. Default: the main module. */
  module?: string | URL;
  /** A permission sandbox for every incarnation, as `Process`'s option. */
  permissions?: ProcessPermissions;
  /** A subprocess child's heap limit in MiB, as `Process`'s option. */
  memoryLimitMb?: number;
}

/** What a supervisor is made with. */
export interface SupervisorOptions {
  /** Which children restart when one crashes (OTP's strategies). Default "one_for_one". */
  strategy?: "one_for_one" | "one_for_all" | "rest_for_one";
  /** More than this many restarts within `periodMs` and the supervisor gives up. Default 1 (OTP's). */
  intensity?: number;
  /** The window for `intensity`, in ms (`Infinity`: the supervisor's whole life). Default 5000. */
  periodMs?: number;
  /**
   * Opt-in delay before each restart, growing from `minMs` (finite) to `maxMs`
   * (`Infinity`: no cap) while crashes continue.
   */
  backoff?: { minMs: number; maxMs: number; jitter?: number; resetAfterMs?: number };
  /**
   * Whether the supervisor stops by itself when significant children end on
   * their own and are not restarted (OTP 24's `auto_shutdown`): "never"
   * (default), "any_significant" (the first one that does), or
   * "all_significant" (the last one that does). It then stops its other
   * children and resolves `done`, as `stop()` does.
   */
  autoShutdown?: "never" | "any_significant" | "all_significant";
  /** The children, started in this order and stopped in reverse. */
  children?: ChildSpec[];
  /** A name for messages and events. Default "Supervisor". */
  name?: string;
  /**
   * Keep one process started ahead, per backend the children use, so a
   * restart skips creating one (~20 ms for a worker, ~60 ms for an OS
   * process). It costs an idle isolate or OS process; only a supervisor in
   * the main module keeps them. Default true.
   */
  spares?: boolean;
  /**
   * How a child's crash is reported (its error, or why it could not start):
   * one line on stderr with the error and its first frame (`"line"`), its
   * full stack (`"stack"`), nothing (`"none"`), or a call to a function of
   * yours with `{ process, error }` instead. A restarted child's crashes are
   * expected: they should not bury the program's output. Default "line".
   */
  crashReports?: CrashReports;
}

/** A child as `whichChildren()` reports it. */
export interface ChildInfo {
  /** The child's id. */
  readonly id: string;
  /** The running process, or null while stopped or restarting. */
  readonly process: Process | null;
  /**
   * "running" (its process has started), "restarting" (it ended and is to be
   * started again: during the restart, a backoff, or a retry after a restart
   * that failed; not counted as active) or "stopped".
   */
  readonly state: "running" | "restarting" | "stopped";
  /** Whether it runs a supervisor of its own. */
  readonly type: "worker" | "supervisor";
  /** When it is restarted. */
  readonly restart: "permanent" | "transient" | "temporary";
}

/** What happened, as the supervisor's events report it (`event.detail`). */
export type SupervisorEventDetail =
  | { readonly type: "started"; readonly id: string; readonly pid: number | null }
  | {
    readonly type: "exited";
    readonly id: string;
    readonly exitCode: number;
    /** "normal" (exit code 0), "shutdown" (stopped by the supervisor) or "crash". */
    readonly reason: "normal" | "shutdown" | "crash";
  }
  | { readonly type: "restarted"; readonly id: string; readonly pid: number | null }
  | { readonly type: "gave-up"; readonly id: string; readonly restarts: number };

/**
 * The supervisor's events by name, each a `CustomEvent` whose `detail` is
 * that event's {@linkcode SupervisorEventDetail}: what `addEventListener`
 * types its listener with.
 *
 * @example
 * ```ts
 * import { Supervisor, type SupervisorEventMap } from "@troupe/troupe";
 *
 * const sup = new Supervisor();
 * const onExit = (event: SupervisorEventMap["exited"]) => console.log(event.detail.reason);
 * sup.addEventListener("exited", onExit);
 * ```
 */
export interface SupervisorEventMap {
  /** A child started (by `start()`, `startChild` or `restartChild`). */
  started: CustomEvent<Extract<SupervisorEventDetail, { type: "started" }>>;
  /** A child's process exited, with its exit code and why. */
  exited: CustomEvent<Extract<SupervisorEventDetail, { type: "exited" }>>;
  /** The supervisor started a child again after it exited. */
  restarted: CustomEvent<Extract<SupervisorEventDetail, { type: "restarted" }>>;
  /** Too many restarts: the supervisor stops every child and `done` rejects. */
  "gave-up": CustomEvent<Extract<SupervisorEventDetail, { type: "gave-up" }>>;
}

interface Child {
  readonly spec: ChildSpec;
  readonly restart: RestartType;
  readonly shutdown: ShutdownSpec;
  readonly type: "worker" | "supervisor";
  readonly significant: boolean;
  readonly mailbox: Queue<unknown>;
  /** Its process once started; null while it starts, is stopped or restarting. */
  process: Process | null;
  state: ChildInfo["state"];
  /** Set while the supervisor itself stops the process, so its exit is not a crash. */
  stopping: boolean;
  startedAt: number;
  /** How many times it was restarted. */
  restarts: number;
  /** The child whose pending restart will start this one again (itself, or one of its group), or null. */
  retryOf: Child | null;
}

/**
 * The supervisor's bad news: a child failed to start, or children crashed
 * more often than the intensity allows and it gave up.
 *
 * @example
 * ```ts
 * import { SupervisorError } from "@troupe/troupe";
 *
 * console.log(new SupervisorError("gave up").name); // SupervisorError
 * ```
 */
export class SupervisorError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options `cause`: the child's error, if there was one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SupervisorError";
  }
}

/**
 * OTP's supervisor for troupe processes. Children start in order with
 * `start()`; a child that exits is restarted according to its `restart`
 * type and the `strategy`, without disturbing the others (one_for_one);
 * more than `intensity` restarts within `periodMs` make the supervisor stop
 * every child (in reverse order) and reject `done`.
 *
 * Events (`addEventListener`): "started", "exited", "restarted",
 * "gave-up", each a `CustomEvent` whose `detail` says which child, typed by
 * name ({@linkcode SupervisorEventMap}). Significant children and
 * `autoShutdown` let it stop by itself when they end (OTP 24). Once it has
 * stopped or given up, refs to its children fail at once.
 *
 * @example A child that crashes and comes back
 * ```ts
 * import { Supervisor } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript," +
 *   "import { serve } from '" + new URL("../../mod.ts", import.meta.url) + "';" +
 *   "export function flaky() { return serve({ ask: (m) => { if (m === 'crash') throw new Error('boom'); return m; } }); }";
 * const { flaky } = await import(module);
 *
 * await using sup = new Supervisor({ intensity: 3, periodMs: 5000, children: [{ id: "flaky", target: flaky, module }] });
 * await sup.start();
 * const ref = sup.ref<string, string>("flaky");
 * await assert.rejects(ref.ask("crash"), /boom/);   // the actor crashes…
 * assert.equal(await ref.ask("still there?"), "still there?");   // …and is restarted
 * ```
 */
export class Supervisor extends EventTarget implements AsyncDisposable {
  /** A name for messages and events. */
  readonly name: string;
  readonly #flags: SupervisorFlags;
  readonly #intensity: RestartIntensity;
  readonly #backoff: Backoff | null;
  #children: Child[] = [];
  #state: "initial" | "running" | "stopping" | "stopped" = "initial";
  /** Supervisor work (restarts, child API calls) runs one at a time, in order. */
  #work: Promise<unknown> = Promise.resolve();
  readonly #done = Promise.withResolvers<void>();
  readonly #spares: boolean;
  /** Restarts waiting out a backoff delay: cancelled when the supervisor stops. */
  readonly #delayed = new Set<Timer | undefined>();
  /** Set once the supervisor has stopped: why (its error, if it gave up), for refs to refuse with. */
  #ended: { readonly failure: SupervisorError | null } | null = null;
  readonly #crashReports: CrashReports;

  /**
   * Creates a supervisor; nothing starts until `start()`.
   *
   * @param options Strategy, intensity, period, backoff and children.
   */
  constructor(options: SupervisorOptions = {}) {
    super();
    this.#flags = validateFlags(options);
    this.name = options.name ?? "Supervisor";
    if (options.spares !== undefined && typeof options.spares !== "boolean") {
      throw new TypeError(`Supervisor: spares must be a boolean, not ${typeof options.spares}`);
    }
    this.#spares = options.spares ?? true;
    if (options.crashReports !== undefined && !isCrashReports(options.crashReports)) {
      throw new TypeError(
        'Supervisor: crashReports must be "stack", "line", "none" or a function, not ' +
          String(options.crashReports),
      );
    }
    this.#crashReports = options.crashReports ?? "line";
    this.#intensity = new RestartIntensity(
      this.#flags.intensity,
      this.#flags.periodMs,
      () => performance.now(),
    );
    this.#backoff = this.#flags.backoff && new Backoff(this.#flags.backoff);
    const ids = new Set<string>();
    (options.children ?? []).forEach((spec, i) =>
      this.#children.push(this.#child(spec, `children[${i}]`, ids))
    );
    // Nobody may await `done`; its rejection must not end the program.
    this.#done.promise.catch(() => {});
  }

  /**
   * Resolves when the supervisor stops, rejects with {@linkcode SupervisorError}
   * when it gives up. A supervisor in a child's target awaits it, so giving
   * up fails that child and escalates to the supervisor above.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * const sup = new Supervisor();
   * await sup.start();
   * await sup.stop();
   * await sup.done;
   * ```
   */
  get done(): Promise<void> {
    // Awaited, it keeps the program running: the children would not (see `#launch`).
    return holdWhile(this.#done.promise);
  }

  /**
   * Starts the children in order. If one fails to start, those already
   * started are stopped (in reverse) and this rejects naming it.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * await using sup = new Supervisor();
   * await sup.start();
   * ```
   */
  start(): Promise<void> {
    if (this.#state !== "initial") {
      return Promise.reject(new SupervisorError(`${this.name} has already started`));
    }
    this.#state = "running";
    // In a child, a graceful stop from the supervisor above stops this one (a tree winds down).
    const stopRequested = runtime.stopRequested.signal;
    const onStopRequest = () => this.stop();
    stopRequested.addEventListener("abort", onStopRequest, { once: true });
    this.#done.promise.finally(() => stopRequested.removeEventListener("abort", onStopRequest)).catch(
      () => {},
    );
    return this.#serially(async () => {
      const started: Child[] = [];
      for (const child of this.#children) {
        try {
          await this.#launch(child);
          started.push(child);
        } catch (error) {
          for (const done of started.reverse()) await this.#stopChild(done);
          this.#state = "stopped";
          const failure = new SupervisorError(
            `${this.name} could not start child "${child.spec.id}": ${(error as Error).message}`,
            { cause: error },
          );
          await this.#end(failure);
          this.#done.reject(failure);
          throw failure;
        }
      }
    });
  }

  /**
   * A ref to the child `id` that survives its restarts: messages wait in the
   * child's mailbox (up to {@linkcode MAILBOX_SIZE}) while it restarts. An
   * `ask` the child had taken when it died fails at once
   * ({@linkcode ActorExitedError}); one still waiting is answered by the
   * restarted child. Once the supervisor has stopped or given up, `tell`
   * and `ask` fail at once with a {@linkcode SupervisorError} whose `cause`
   * is the supervisor's own (its give-up), and asks still waiting in the
   * mailbox fail with it too, in whichever process they were made.
   *
   * @typeParam In What the child is sent.
   * @typeParam Out What it answers.
   * @param id The child's id.
   * @returns The ref.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function idle() { return new Promise(() => {}); }";
   * const { idle } = await import(module);
   * await using sup = new Supervisor({ children: [{ id: "idle", target: idle, module, shutdownMs: "brutal_kill" }] });
   * await sup.start();
   * assert.equal(String(sup.ref("idle")), "<ActorRef idle>");
   * ```
   */
  ref<In = unknown, Out = unknown>(id: string): ActorRef<In, Out> {
    const child = this.#find(id);
    // An ask fails when the incarnation that took it dies; one still queued
    // waits for the next incarnation.
    return actorRef<In, Out>(-1, id, child.mailbox, (listener, taken) => {
      const process = child.process;
      if (!process || process.exitCode !== null || !taken) return () => {};
      let listening = true;
      process.exited.then((code) => {
        if (listening && taken()) listener(code);
      });
      return () => listening = false;
    }, (what) => this.#refusal(id, what));
  }

  /**
   * Adds a child and starts it (OTP's start_child).
   *
   * @param spec The child.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * const module = "data:text/javascript,export function idle() { return new Promise(() => {}); }";
   * const { idle } = await import(module);
   * await using sup = new Supervisor();
   * await sup.start();
   * await sup.startChild({ id: "late", target: idle, module, shutdownMs: "brutal_kill" });
   * ```
   */
  startChild(spec: ChildSpec): Promise<void> {
    return this.#serially(async () => {
      this.#assertRunning("start a child");
      const child = this.#child(spec, "startChild", new Set(this.#children.map((c) => c.spec.id)));
      this.#children.push(child);
      try {
        await this.#launch(child);
      } catch (error) {
        this.#children = this.#children.filter((c) => c !== child);
        throw new SupervisorError(
          `${this.name} could not start child "${spec.id}": ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    });
  }

  /**
   * Stops a child without restarting it (OTP's terminate_child); its spec is
   * kept for `restartChild`, except a temporary child's.
   *
   * @param id The child's id.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function idle() { return new Promise(() => {}); }";
   * const { idle } = await import(module);
   * await using sup = new Supervisor({ children: [{ id: "a", target: idle, module, shutdownMs: "brutal_kill" }] });
   * await sup.start();
   * await sup.terminateChild("a");
   * assert.equal(sup.whichChildren()[0]!.state, "stopped");
   * ```
   */
  terminateChild(id: string): Promise<void> {
    return this.#serially(async () => {
      const child = this.#find(id);
      await this.#stopChild(child);
      if (child.restart === "temporary") this.#children = this.#children.filter((c) => c !== child);
    });
  }

  /**
   * Starts a stopped child again (OTP's restart_child).
   *
   * @param id The child's id.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * const module = "data:text/javascript,export function idle() { return new Promise(() => {}); }";
   * const { idle } = await import(module);
   * await using sup = new Supervisor({ children: [{ id: "a", target: idle, module, shutdownMs: "brutal_kill" }] });
   * await sup.start();
   * await sup.terminateChild("a");
   * await sup.restartChild("a");
   * ```
   */
  restartChild(id: string): Promise<void> {
    return this.#serially(async () => {
      this.#assertRunning("restart a child");
      const child = this.#find(id);
      if (child.state !== "stopped") {
        throw new SupervisorError(`Cannot restart child "${id}" as it is ${child.state}`);
      }
      await this.#launch(child);
    });
  }

  /**
   * Forgets a stopped child (OTP's delete_child).
   *
   * @param id The child's id.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function idle() { return new Promise(() => {}); }";
   * const { idle } = await import(module);
   * await using sup = new Supervisor({ children: [{ id: "a", target: idle, module, shutdownMs: "brutal_kill" }] });
   * await sup.start();
   * await sup.terminateChild("a");
   * await sup.deleteChild("a");
   * assert.equal(sup.countChildren().specs, 0);
   * ```
   */
  deleteChild(id: string): Promise<void> {
    return this.#serially(() => {
      const child = this.#find(id);
      if (child.state !== "stopped") {
        throw new SupervisorError(`Cannot delete child "${id}" as it is ${child.state}`);
      }
      this.#children = this.#children.filter((c) => c !== child);
      child.mailbox.close();
    });
  }

  /**
   * The children, in start order (OTP's which_children).
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new Supervisor().whichChildren(), []);
   * ```
   */
  whichChildren(): ChildInfo[] {
    return this.#children.map(({ spec, process, state, type, restart }) => ({
      id: spec.id,
      process,
      state,
      type,
      restart,
    }));
  }

  /**
   * Counts of children (OTP's count_children).
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new Supervisor().countChildren(), { specs: 0, active: 0, supervisors: 0, workers: 0 });
   * ```
   */
  countChildren(): { specs: number; active: number; supervisors: number; workers: number } {
    const children = this.#children;
    return {
      specs: children.length,
      active: children.filter((c) => c.state === "running").length,
      supervisors: children.filter((c) => c.type === "supervisor").length,
      workers: children.filter((c) => c.type === "worker").length,
    };
  }

  /**
   * Stops every child in reverse start order, each gracefully within its
   * `shutdownMs`, then resolves `done`.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * const sup = new Supervisor();
   * await sup.start();
   * await sup.stop();
   * ```
   */
  stop(): Promise<void> {
    if (this.#state === "stopped" || this.#state === "initial") {
      const first = this.#state === "initial";
      this.#state = "stopped";
      const ended = first ? this.#end(null) : Promise.resolve();
      return ended.then(() => this.#done.resolve());
    }
    if (this.#state === "running") this.#state = "stopping";
    // A restart waiting out its backoff is dropped, and one that keeps failing
    // is not retried: the stop is the next thing the supervisor does (OTP-9549).
    this.#cancelDelayed();
    return this.#serially(async () => {
      if (this.#state === "stopped") return; // it gave up or shut down meanwhile
      await this.#stopAll();
      this.#state = "stopped";
      await this.#end(null);
      this.#done.resolve();
    });
  }

  /**
   * Listens to the supervisor's events, typed by name: "started",
   * "exited", "restarted" and "gave-up", each a `CustomEvent` whose `detail`
   * says which child (see {@linkcode SupervisorEventMap}).
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As `EventTarget`'s.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * const sup = new Supervisor();
   * sup.addEventListener("restarted", (event) => console.log(event.detail.id, event.detail.pid));
   * ```
   */
  override addEventListener<K extends keyof SupervisorEventMap>(
    type: K,
    listener: (this: Supervisor, event: SupervisorEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Listens to any event, as `EventTarget`'s.
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As `EventTarget`'s.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * new Supervisor().addEventListener("gave-up", { handleEvent: (event) => console.log(event.type) });
   * ```
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | ((event: never) => unknown) | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /**
   * Stops listening, as `EventTarget`'s, typed as {@linkcode addEventListener}.
   *
   * @param type The event's name.
   * @param listener The listener given to `addEventListener`.
   * @param options As `EventTarget`'s.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * const sup = new Supervisor();
   * const log = (event: CustomEvent) => console.log(event.detail);
   * sup.addEventListener("exited", log);
   * sup.removeEventListener("exited", log);
   * ```
   */
  override removeEventListener<K extends keyof SupervisorEventMap>(
    type: K,
    listener: (this: Supervisor, event: SupervisorEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  /**
   * Stops listening to any event, as `EventTarget`'s.
   *
   * @param type The event's name.
   * @param listener The listener given to `addEventListener`.
   * @param options As `EventTarget`'s.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * const listener = { handleEvent: (event: Event) => console.log(event.type) };
   * const sup = new Supervisor();
   * sup.addEventListener("gave-up", listener);
   * sup.removeEventListener("gave-up", listener);
   * ```
   */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | ((event: never) => unknown) | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /**
   * Stops the supervisor at the end of an `await using` block.
   *
   * @example
   * ```ts
   * import { Supervisor } from "@troupe/troupe";
   *
   * {
   *   await using sup = new Supervisor();
   *   await sup.start();
   * } // stopped here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #child(spec: ChildSpec, where: string, ids: Set<string>): Child {
    const checked = validateChildSpec(spec, where, ids);
    if (typeof spec.target !== "function") {
      throw new TypeError(
        `Supervisor: ${where}.target must be an exported function, not ${typeof spec.target}`,
      );
    }
    const { heartbeatMs } = spec;
    if (heartbeatMs !== undefined && !(isDuration(heartbeatMs) && heartbeatMs > 0)) {
      const rule = `Supervisor: ${where}.heartbeatMs must be a number of ms above 0 (or Infinity), not ${
        String(heartbeatMs)
      }`;
      throw isDuration(heartbeatMs) ? new RangeError(rule) : new TypeError(rule);
    }
    ids.add(checked.id);
    return {
      spec,
      restart: checked.restart,
      shutdown: checked.shutdown,
      type: checked.type,
      significant: checked.significant,
      mailbox: new Queue(MAILBOX_SIZE),
      process: null,
      state: "stopped",
      stopping: false,
      startedAt: 0,
      restarts: 0,
      retryOf: null,
    };
  }

  #find(id: string): Child {
    const child = this.#children.find((c) => c.spec.id === id);
    if (!child) throw new SupervisorError(`${this.name} has no child "${id}"`);
    return child;
  }

  #assertRunning(what: string): void {
    if (this.#state !== "running") {
      throw new SupervisorError(`Cannot ${what} as ${this.name} is ${this.#state}`);
    }
  }

  #serially<T>(work: () => T | Promise<T>): Promise<T> {
    const result = this.#work.then(work);
    this.#work = result.catch(() => {});
    return result;
  }

  #emit(detail: SupervisorEventDetail): void {
    this.dispatchEvent(new CustomEvent(detail.type, { detail }));
  }

  /**
   * Starts one incarnation of `child`; rejects if its target cannot start.
   * The child counts as running (with a process) only once its start has
   * succeeded.
   */
  async #launch(child: Child, restarted = false): Promise<void> {
    const { spec } = child;
    const process = new Process({
      target: spec.target as (...args: unknown[]) => unknown,
      args: spec.args ?? [],
      name: `${this.name}:${spec.id}`,
      mailbox: child.mailbox,
      ...(spec.backend ? { backend: spec.backend } : {}),
      ...(spec.module ? { module: spec.module } : {}),
      ...(spec.permissions ? { permissions: spec.permissions } : {}),
      ...(spec.memoryLimitMb ? { memoryLimitMb: spec.memoryLimitMb } : {}),
    });
    annotate(process, { restarts: child.restarts + (restarted ? 1 : 0) });
    child.stopping = false;
    try {
      // The children serve whoever asks: they do not keep the program running while nothing awaits them.
      detach(process);
      reportCrashesAs(process, this.#crashReports);
      await process.start();
    } catch (error) {
      // It failed before its target ran and is on its way out: wait, so
      // nothing outlives the failure. One that could not launch never started.
      if (process.isAlive()) {
        process.kill();
        await process.join();
      }
      throw error;
    }
    if (restarted) child.restarts++;
    child.process = process;
    child.state = "running";
    child.retryOf = null;
    child.startedAt = performance.now();
    process.exited.then((code) => this.#exited(child, process, code));
    this.#emit({ type: restarted ? "restarted" : "started", id: spec.id, pid: process.pid });
    this.#keepSpare(child);
    if (spec.heartbeatMs && spec.heartbeatMs !== Infinity) this.#listen(child, process, spec.heartbeatMs);
  }

  /** Kills `process` once it misses a heartbeat: Deno gives no other sign of a stuck isolate. */
  async #listen(child: Child, process: Process, everyMs: number): Promise<void> {
    const id = process.ref().id;
    while (child.process === process && !child.stopping) {
      await sleep(everyMs, false);
      if (child.process !== process || child.stopping) return;
      if (!await runtime.check(id, everyMs) && child.process === process && !child.stopping) {
        report(`${this.name}: child "${child.spec.id}" missed a heartbeat (${everyMs} ms); killing it`);
        process.kill();
        return;
      }
    }
  }

  /** Starts a spare for `child`'s next restart, when it could use one. */
  #keepSpare(child: Child): void {
    const { spec } = child;
    if (!this.#spares || child.restart === "temporary" || spec.permissions || spec.memoryLimitMb) return;
    // Later, not now: creating a worker blocks this isolate for ~20 ms, which
    // would delay the restarted child's first answers.
    const timer = setTimeout(() => {
      const module = String(spec.module ?? runtime.mainModule);
      if (this.#state === "running") {
        runtime.hosting?.topUp(spec.backend ?? "worker", 1, module).catch(() => {});
      }
    }, SPARE_DELAY_MS);
    Deno.unrefTimer(timer);
  }

  #exited(child: Child, process: Process, code: number): void {
    if (child.process !== process) return; // an incarnation already replaced or removed
    const reason: ExitKind = child.stopping ? "shutdown" : code === 0 ? "normal" : "crash";
    child.process = null;
    // A child to be restarted is restarting from now on: it has no process, and is not active.
    const restarting = !child.stopping && this.#state === "running" && shouldRestart(child.restart, reason);
    child.state = restarting ? "restarting" : "stopped";
    this.#emit({ type: "exited", id: child.spec.id, exitCode: code, reason });
    this.#backoff?.ran(performance.now() - child.startedAt);
    if (child.stopping || this.#state !== "running") return;
    this.#serially(() => this.#recover(child, reason));
  }

  /** OTP's handling of a child's exit, after `failed` exited by itself. */
  async #recover(failed: Child, reason: ExitKind): Promise<void> {
    if (this.#state !== "running" || !this.#children.includes(failed)) return;
    if (!shouldRestart(failed.restart, reason)) {
      if (failed.restart === "temporary") this.#children = this.#children.filter((c) => c !== failed);
      const others = this.#children
        .filter((c) => c !== failed)
        .map((c) => ({ significant: c.significant, alive: c.state !== "stopped" }));
      if (autoShutdownDue(this.#flags.autoShutdown, failed, reason, others)) await this.#shutDown();
      return;
    }
    // Stopped meanwhile (terminateChild): it is not restarted, as in OTP.
    if (failed.state !== "restarting") return;
    await this.#restart(failed);
  }

  /**
   * One restart of `failed` and its group (OTP's restart/2): counted toward
   * the intensity, the group's running members stopped in reverse order, then
   * the group started in order, after the backoff delay if any. A start that
   * fails leaves the members it did not start restarting, with no process,
   * and queues a retry for the one that failed behind whatever else the
   * supervisor was asked meanwhile (OTP's try_again_restart, OTP-9549): that
   * retry stops the members already restarted, then starts the group again,
   * so no child ever runs twice.
   */
  async #restart(failed: Child): Promise<void> {
    if (!this.#intensity.record()) return this.#giveUp(failed);
    const plan = planRestart(
      this.#flags.strategy,
      this.#children.map((c) => ({ id: c.spec.id, restart: c.restart })),
      failed.spec.id,
      "crash",
    );
    for (const id of plan.stop) await this.#stopChild(this.#find(id));
    for (const id of plan.stop) {
      const stopped = this.#find(id);
      if (stopped.restart === "temporary") this.#children = this.#children.filter((c) => c !== stopped);
    }
    const group = plan.restart.map((id) => this.#find(id));
    for (const child of group) {
      child.state = "restarting";
      child.retryOf = failed;
    }
    if (!this.#backoff) return this.#relaunch(failed, group);
    const timer = startTimer(() => {
      this.#delayed.delete(timer);
      this.#serially(() => this.#relaunch(failed, group));
    }, this.#backoff.next());
    this.#delayed.add(timer);
  }

  /** Starts `group` (in order) for the restart of `failed`, unless that restart was called off meanwhile. */
  async #relaunch(failed: Child, group: readonly Child[]): Promise<void> {
    if (this.#state !== "running" || failed.state !== "restarting") return this.#callOff(failed);
    for (const [i, child] of group.entries()) {
      // Never twice, and not a member stopped (terminateChild) or deleted meanwhile.
      if (child.process || child.state !== "restarting" || !this.#children.includes(child)) continue;
      try {
        await this.#launch(child, true);
      } catch {
        for (const waiting of group.slice(i)) {
          if (!waiting.process && waiting.state === "restarting") waiting.retryOf = child;
        }
        this.#serially(() => this.#retry(child));
        return;
      }
    }
  }

  /** Tries again the restart of `child`, whose start failed: a restart like any other. */
  #retry(child: Child): Promise<void> | void {
    if (this.#state !== "running" || child.state !== "restarting" || !this.#children.includes(child)) {
      return this.#callOff(child);
    }
    return this.#restart(child);
  }

  /** The restart of `failed` will not happen: the members still waiting for it are stopped. */
  #callOff(failed: Child): void {
    for (const child of this.#children) {
      if (child.retryOf !== failed || child.process) continue;
      child.retryOf = null;
      if (child.state === "restarting") child.state = "stopped";
    }
  }

  #cancelDelayed(): void {
    for (const timer of this.#delayed) stopTimer(timer);
    this.#delayed.clear();
  }

  async #giveUp(failed: Child): Promise<void> {
    this.#emit({ type: "gave-up", id: failed.spec.id, restarts: this.#intensity.recent });
    this.#state = "stopping";
    this.#cancelDelayed();
    await this.#stopAll();
    this.#state = "stopped";
    const failure = new SupervisorError(
      `${this.name} gave up: child "${failed.spec.id}" needed more than ${this.#flags.intensity} restarts ` +
        `within ${this.#flags.periodMs} ms`,
    );
    await this.#end(failure);
    this.#done.reject(failure);
  }

  /** OTP's auto_shutdown: the significant children have ended, so the supervisor stops, as `stop()`. */
  async #shutDown(): Promise<void> {
    this.#state = "stopping";
    this.#cancelDelayed();
    await this.#stopAll();
    this.#state = "stopped";
    await this.#end(null);
    this.#done.resolve();
  }

  /**
   * The supervisor has stopped (`failure` says why if it gave up or could
   * not start): its children's mailboxes are closed, and the asks still
   * waiting in them fail with that, so no ref waits for an answer that
   * cannot come.
   */
  async #end(failure: SupervisorError | null): Promise<void> {
    if (this.#ended) return;
    this.#ended = { failure };
    for (const child of this.#children) {
      child.mailbox.close();
      await refuseWaiting(child.mailbox, this.#refusal(child.spec.id, "ask"));
    }
  }

  /** The error a ref to child `id` fails with once the supervisor has stopped; undefined before. */
  #refusal(id: string, what: "tell" | "ask"): SupervisorError | undefined {
    if (!this.#ended) return undefined;
    const { failure } = this.#ended;
    const why = failure ? "gave up" : "has stopped";
    return new SupervisorError(
      `Cannot ${what} child "${id}" as ${this.name} ${why}`,
      failure ? { cause: failure } : undefined,
    );
  }

  async #stopAll(): Promise<void> {
    for (const child of [...this.#children].reverse()) await this.#stopChild(child);
    // Idle spares would keep the program running.
    if (this.#spares) runtime.hosting?.releaseSpares();
  }

  /** OTP's shutdown: a graceful stop within the child's time, else a kill. */
  async #stopChild(child: Child): Promise<void> {
    const process = child.process;
    if (!process) {
      child.state = "stopped";
      return;
    }
    child.stopping = true;
    const { shutdown } = child;
    if (shutdown === "brutal_kill") {
      process.kill();
    } else {
      requestStop(process);
      await process.join(shutdown === Infinity ? undefined : shutdown);
      if (process.exitCode === null) process.kill();
    }
    await process.join();
    child.state = "stopped";
  }
}
