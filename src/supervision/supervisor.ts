/**
 * OTP supervisors: start children in order, restart the ones that crash by
 * a strategy, give up when they crash too often, and stop them in reverse.
 * A supervisor runs in the process that creates it; put one in a child's
 * target (and await `done`) to build a tree: giving up makes that child
 * crash, and its own supervisor takes over.
 *
 * @module
 */

import { type ActorRef, actorRef } from "../runtime/actor.ts";
import {
  Backoff,
  type ExitKind,
  planRestart,
  RestartIntensity,
  type RestartType,
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
import { isDuration, sleep } from "../core/_duration.ts";
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
  /** "running", "restarting" (after a failed restart, or during a backoff) or "stopped". */
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

interface Child {
  readonly spec: ChildSpec;
  readonly restart: RestartType;
  readonly shutdown: ShutdownSpec;
  readonly type: "worker" | "supervisor";
  readonly mailbox: Queue<unknown>;
  process: Process | null;
  state: ChildInfo["state"];
  /** Set while the supervisor itself stops the process, so its exit is not a crash. */
  stopping: boolean;
  startedAt: number;
  /** How many times it was restarted. */
  restarts: number;
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
 * "gave-up", each a `CustomEvent` whose `detail` says which child.
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
   * restarted child.
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
    });
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
      this.#state = "stopped";
      this.#done.resolve();
      return Promise.resolve();
    }
    this.#state = "stopping";
    return this.#serially(async () => {
      await this.#stopAll();
      this.#state = "stopped";
      this.#done.resolve();
    });
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
      mailbox: new Queue(MAILBOX_SIZE),
      process: null,
      state: "stopped",
      stopping: false,
      startedAt: 0,
      restarts: 0,
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

  /** Starts one incarnation of `child`; rejects if its target cannot start. */
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
    if (restarted) child.restarts++;
    annotate(process, { restarts: child.restarts });
    child.process = process;
    child.stopping = false;
    child.state = "running";
    child.startedAt = performance.now();
    try {
      // The children serve whoever asks: they do not keep the program running while nothing awaits them.
      detach(process);
      reportCrashesAs(process, this.#crashReports);
      const started = process.start();
      process.exited.then((code) => this.#exited(child, process, code));
      await started;
    } catch (error) {
      child.process = null;
      child.state = "stopped";
      // It failed before its target ran and is on its way out: wait, so nothing outlives the failure.
      if (process.exitCode === null) process.kill();
      await process.join();
      throw error;
    }
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
    child.state = "stopped";
    this.#emit({ type: "exited", id: child.spec.id, exitCode: code, reason });
    this.#backoff?.ran(performance.now() - child.startedAt);
    if (child.stopping || this.#state !== "running") return;
    this.#serially(() => this.#recover(child, reason));
  }

  /** OTP's restart, after `failed` exited by itself. */
  async #recover(failed: Child, reason: ExitKind): Promise<void> {
    if (this.#state !== "running" || !this.#children.includes(failed)) return;
    const plan = planRestart(
      this.#flags.strategy,
      this.#children.map((c) => ({ id: c.spec.id, restart: c.restart })),
      failed.spec.id,
      reason,
    );
    if (plan.restart.length === 0 && plan.stop.length === 0) {
      if (failed.restart === "temporary") this.#children = this.#children.filter((c) => c !== failed);
      return;
    }
    if (!this.#intensity.record()) return this.#giveUp(failed);
    for (const id of plan.stop) await this.#stopChild(this.#find(id));
    for (const id of plan.stop) {
      const stopped = this.#find(id);
      if (stopped.restart === "temporary") this.#children = this.#children.filter((c) => c !== stopped);
    }
    for (;;) {
      if (this.#backoff) {
        const delay = this.#backoff.next();
        failed.state = "restarting";
        await sleep(delay);
        if (this.#state !== "running") return;
      }
      try {
        for (const id of plan.restart) {
          const child = this.#find(id);
          if (child.state !== "running") await this.#launch(child, true);
        }
        return;
      } catch {
        // A restart that fails counts as one more restart (OTP retries through add_restart).
        failed.state = "restarting";
      }
      if (!this.#intensity.record()) return this.#giveUp(failed);
    }
  }

  async #giveUp(failed: Child): Promise<void> {
    this.#emit({ type: "gave-up", id: failed.spec.id, restarts: this.#intensity.recent });
    this.#state = "stopping";
    await this.#stopAll();
    this.#state = "stopped";
    this.#done.reject(
      new SupervisorError(
        `${this.name} gave up: child "${failed.spec.id}" needed more than ${this.#flags.intensity} restarts ` +
          `within ${this.#flags.periodMs} ms`,
      ),
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
