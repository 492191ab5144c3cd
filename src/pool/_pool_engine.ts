/**
 * The engine behind `Pool`: a one_for_one supervisor of worker processes
 * and a dispatcher that knows, at every moment, which worker holds which
 * task, so that a worker's death fails only what it was running.
 *
 * Each worker incarnation gets two rings of its own: an inbox the pool puts
 * tasks in and an outbox it puts outcomes in, in order. Rings of their own,
 * not one shared queue, because a worker killed mid-operation may leave a
 * ring's lock held: only its own rings are then lost, and the pool, which
 * waits on no lock for long (`LOCK_PATIENCE_MS`), drops them with it.
 *
 * A worker takes tasks in the order they were put and reports each outcome
 * before it takes the next. So when it dies, after draining what it sent,
 * the tasks it was given split cleanly: the ring says which were never
 * taken (they go to other workers untouched), and the one taken without an
 * outcome is the one it was running (it fails with `WorkerCrashedError`,
 * unless retries are left).
 *
 * The pool keeps a few tasks queued in each inbox, so a worker never waits
 * on the pool between short tasks; how many follows the measured task time
 * (`DEPTH_BUDGET_MS`), so long tasks are handed out one at a time, to
 * whichever worker is free. A task with a timeout or a signal is only given
 * to an idle worker: it then starts at once, which makes "run time" exact
 * and "running" clear (cancelling it replaces the worker).
 *
 * @module
 */

import { BACKENDS } from "../runtime/_backends.ts";
import { decodeError, type EncodedError } from "../wire/_error_codec.ts";
import { finishItem, type Prepared } from "../memory/_item_codec.ts";
import { hold } from "../core/_keep_alive.ts";
import { poolWorker, poolWorkerEntry } from "./_pool_worker.ts";
import type { FunctionKey, PoolOutcome, PoolWorkerSetup } from "../runtime/_protocol.ts";
import { startTimer, stopTimer, type Timer } from "../core/_duration.ts";
import { SPIN_MS } from "../core/_futex.ts";
import { CLOSED_RING, EMPTY, Ring, RingLockError } from "../memory/_ring.ts";
import { runtime } from "../runtime/_runtime.ts";
import { home, ringRef, unserve } from "../memory/_served.ts";
import { annotate } from "../runtime/_status.ts";
import { TaskQueue } from "./_task_queue.ts";
import { checkOutcome, describeError, refuseChild } from "../runtime/_validate.ts";
import { RestartIntensity } from "../supervision/_supervision_rules.ts";
import { ProcessTimeoutError } from "../core/errors.ts";
import {
  type Backend,
  type CrashReports,
  detach,
  Process,
  type ProcessPermissions,
  reportCrashesAs,
} from "../runtime/process.ts";

/** How long the pool waits for a lock on a worker's ring: the worker may have died holding it. */
const LOCK_PATIENCE_MS = 2;
/** About how much work, in ms, the pool queues in one worker ahead of what it runs. */
const DEPTH_BUDGET_MS = 2;
/** The most tasks queued in one worker: enough to keep it busy between the pool's turns. */
const MAX_DEPTH = 64;
/**
 * Workers that die before they are ready, in a row, that make the pool give
 * up: their module or initializer fails, or they exit on their own while
 * starting. One killed from outside while starting is an ordinary crash,
 * counted against restart intensity only.
 */
const FAILED_STARTS = 3;
/**
 * Signals a process gets from its own faults (V8's out-of-memory abort is
 * SIGTRAP): a worker that dies of one while it starts would die the same way
 * again, as one whose module or initializer fails.
 */
const OWN_FAULTS: ReadonlySet<number> = new Set([-4, -5, -6, -7, -8, -11]);

/**
 * Whether exit code `code` says the worker was killed by a signal from
 * outside (SIGKILL, SIGTERM...: an operator, the OS's OOM killer): a crash
 * like any other, not a sign that its start fails.
 */
function killedFromOutside(code: number): boolean {
  return code < 0 && !OWN_FAULTS.has(code);
}
/** How many recent task latencies `stats()` keeps. */
const LATENCIES = 1024;
/** What the engine is made with: the pool's options, checked and with defaults filled in. */
export interface EngineOptions {
  readonly processes: number;
  readonly module: string;
  readonly initializer: FunctionKey | null;
  readonly initargs: readonly unknown[];
  readonly maxTasksPerChild: number | null;
  readonly backend: Backend;
  readonly permissions: ProcessPermissions | undefined;
  readonly memoryLimitMb: number | undefined;
  readonly intensity: number;
  readonly periodMs: number;
  readonly crashReports: CrashReports;
}

/** How one task may run. */
export interface TaskOptions {
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly retries: number;
}

/** Python's pool states. */
export type PoolState = "RUN" | "CLOSE" | "TERMINATE";

/** What `stats()` reports about one worker. */
export interface WorkerStats {
  /** Its process name ("PoolWorker-3"). */
  readonly name: string;
  /** Its OS process id, or null before it started. */
  readonly pid: number | null;
  /** Items it finished (this incarnation): an apply is one item, a map's chunk as many as it holds. */
  readonly completed: number;
  /** Chunks it finished (an apply is a chunk of one item): `ps()`'s tasksDone. */
  readonly chunks: number;
  /** Tasks it holds (an apply, or a map's chunk): running, and queued in its inbox. */
  readonly assigned: number;
  /** Whether it has run the initializer and takes tasks. */
  readonly ready: boolean;
}

/** Counts of a pool's work, in items or in chunks (see {@linkcode PoolStats}). */
export interface WorkCounts {
  /** Waiting for a worker. */
  readonly queued: number;
  /** Given to a worker and not finished. */
  readonly running: number;
  /** Succeeded. */
  readonly completed: number;
  /** Failed: raised, crashed, timed out or were cancelled. */
  readonly failed: number;
}

/**
 * A pool's counters, as `Pool.stats()` reports them. `queued`, `running`,
 * `completed` and `failed` count items: an apply is one item, a map of 1,000
 * items is 1,000 whatever its chunksize. `chunks` has the same counts in the
 * pool's own unit of work, the chunk (an apply is a chunk of one item).
 */
export interface PoolStats extends WorkCounts {
  /** The pool's state: "RUN", "CLOSE" or "TERMINATE". */
  readonly state: PoolState;
  /** The live workers. */
  readonly workers: readonly WorkerStats[];
  /** The same counts in chunks: what workers are handed, and what `maxTasksPerChild` counts. */
  readonly chunks: WorkCounts;
  /** Workers started to replace one that exited (retired by `maxTasksPerChild` included). */
  readonly restarts: number;
  /**
   * Milliseconds from submission to outcome, over the last 1024 chunks,
   * rounded to the microsecond.
   */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
}

/** Settles a task: called exactly once per task, with the `context` it was submitted with. */
export type Settle = (context: unknown, ok: boolean, value: unknown) => void;

/**
 * One unit of work for one worker: an apply, or one chunk of a map. Kept
 * small, with no closures of its own: a burst of a million tasks must not
 * spend its time in the garbage collector.
 */
interface Task {
  readonly id: number;
  readonly item: Prepared;
  /** How many items it carries: 1 for an apply, a chunk's length for a map. */
  readonly items: number;
  /** What it runs, for messages ("square()", "a chunk of square()"). */
  readonly label: string;
  readonly settle: Settle;
  readonly context: unknown;
  retriesLeft: number;
  readonly submittedAt: number;
  settled: boolean;
  /** The worker holding it, and where it stands in that worker's inbox. */
  slot: Slot | null;
  position: number;
  putAt: number;
  /**
   * A worker died holding it as its running task without having confirmed
   * it had it: it ran again, uncharged. The next such death charges it.
   */
  spared: boolean;
  /** Its timeout and signal, if it has either. */
  readonly limits: Limits | null;
}

interface Limits {
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  timer: Timer | undefined;
  onAbort: (() => void) | undefined;
}

/** One worker incarnation and its rings. */
interface Slot {
  readonly process: Process;
  readonly inbox: Ring;
  readonly outbox: Ring;
  readonly setup: PoolWorkerSetup;
  /** Tasks put in its inbox and not yet answered, in order. */
  readonly assigned: Task[];
  ready: boolean;
  exitCode: number | null;
  /** Tasks ever put in its inbox (it exits after `maxTasksPerChild`). */
  given: number;
  /** Items it finished. */
  completed: number;
  /** Tasks (applies and chunks) it finished: `ps()`'s tasksDone. */
  tasksDone: number;
  /** How many inbox items an OS-process worker confirmed it received (see `_pool_worker.ts`). */
  confirmed: number;
  /** How many workers this one replaces, in turn: 0 for one the pool started with. */
  readonly restarts: number;
  lastOutcomeAt: number;
  /** Its inbox is closed: it finishes what it holds and exits. */
  retiring: boolean;
  /** The pool killed it (a timeout, a cancel): not a crash of its own. */
  killedByPool: boolean;
  /**
   * The task the pool killed it for. Another task it was running by then
   * (the target had just finished) did nothing wrong: it runs again elsewhere.
   */
  killedFor: Task | null;
  startError: unknown;
}

/** The errors the engine raises, made by `pool.ts`, which defines their classes next to the API. */
export interface EngineErrors {
  /** For a task whose worker died while running it. */
  readonly crashed: (worker: string, exitCode: number, what: string) => Error;
  /** For a task the pool will not run: it was terminated, or broke. */
  readonly closed: (message: string, cause?: unknown) => Error;
}

export class PoolEngine {
  readonly options: EngineOptions;
  readonly #errors: EngineErrors;
  #state: PoolState = "RUN";
  /** Why the pool broke, if it did: every later submission says so. */
  #broken: { readonly why: string; readonly cause: unknown } | null = null;
  readonly #slots = new Set<Slot>();
  /** Tasks waiting for a worker. */
  readonly #waiting = new TaskQueue<Task>();
  /** How many of them are not settled, and the items they carry. */
  #queued = 0;
  #queuedItems = 0;
  #nextId = 1;
  #dispatching = false;
  #dispatchLater: ReturnType<typeof setTimeout> | undefined;
  /** Mean time a worker spends on one task, in ms (0 until measured). */
  #taskMs = 0;
  readonly #intensity: RestartIntensity;
  #failedStarts = 0;
  #completed = 0;
  #failed = 0;
  #completedItems = 0;
  #failedItems = 0;
  #restarts = 0;
  readonly #latencies = new Float64Array(LATENCIES);
  #latencyCount = 0;
  readonly #allExited = Promise.withResolvers<void>();
  /** Rung by workers after each outcome: [rings, sleepers]. */
  readonly #bell = new Int32Array(new SharedArrayBuffer(8));
  /**
   * Whether the workers are isolates of this OS process, sharing its memory:
   * worker-backend workers of a pool in a subprocess live in the root's.
   */
  readonly #sharesMemory: boolean;
  /** Wakes the collector: a worker exited. */
  #poke: (() => void) | undefined;
  /** Tasks submitted and not settled. */
  #unsettled = 0;
  /**
   * Lets the workers (daemons) go again: held while a task is unsettled or
   * the workers are on their way out, as someone may await that. An idle
   * pool nobody awaits does not keep the program running (see `_keep_alive.ts`).
   */
  #letGo: (() => void) | undefined;

  constructor(options: EngineOptions, errors: EngineErrors) {
    this.options = options;
    this.#errors = errors;
    this.#sharesMemory = BACKENDS[options.backend].sharesMemory && home.id === 0;
    this.#intensity = new RestartIntensity(options.intensity, options.periodMs, () => performance.now());
    // Made first, started after: a bad option then throws with nothing started.
    const slots = Array.from({ length: options.processes }, () => this.#newSlot());
    for (const slot of slots) this.#start(slot);
    this.#collect();
  }

  get state(): PoolState {
    return this.#state;
  }

  /** Why submissions fail now, or null while the pool runs. */
  /** Why `method` cannot submit, if it cannot: Python's "Pool not running", naming the method called. */
  notRunning(method: string): Error | null {
    if (this.#state === "RUN") return null;
    const why = this.#broken
      ? `it broke: ${this.#broken.why}`
      : this.#state === "CLOSE"
      ? "close() was called"
      : "it was terminated";
    return this.#errors.closed(
      `Cannot ${method} as the pool is not running (${why}): submit to a new Pool`,
      this.#broken?.cause,
    );
  }

  /** The id the next task gets: the caller encodes it into the task. */
  nextId(): number {
    return this.#nextId++;
  }

  /**
   * Queues task `id` (encoded as `item`) and hands it to a worker as soon as
   * one has room. `settle(context, ok, value)` is called exactly once.
   * `items`: how many items it carries, for `stats()`.
   */
  submit(
    id: number,
    item: Prepared,
    label: string,
    options: TaskOptions,
    settle: Settle,
    context: unknown,
    items = 1,
  ): void {
    const { timeoutMs, signal } = options;
    const task: Task = {
      id,
      item,
      items,
      label,
      settle,
      context,
      retriesLeft: options.retries,
      submittedAt: performance.now(),
      settled: false,
      slot: null,
      position: 0,
      putAt: 0,
      spared: false,
      limits: timeoutMs === undefined && signal === undefined
        ? null
        : { timeoutMs, signal, timer: undefined, onAbort: undefined },
    };
    this.#unsettled++;
    this.#hold();
    if (signal) {
      if (signal.aborted) return this.#fail(task, signal.reason);
      const onAbort = task.limits!.onAbort = () => this.#cancel(task, signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    this.#waiting.push(task);
    this.#queued++;
    this.#queuedItems += items;
    this.#dispatch();
  }

  /** Python's close: no new tasks; the workers exit once every queued task is done. */
  close(): void {
    if (this.#state !== "RUN") return;
    this.#state = "CLOSE";
    this.#hold();
    this.#retireIfDone();
  }

  /** Python's terminate: stops every worker now; tasks not finished fail with `reason`. */
  terminate(reason = "Pool terminated before the task finished"): Promise<void> {
    if (this.#state !== "TERMINATE") {
      this.#state = "TERMINATE";
      this.#hold();
      this.#failAll(() => this.#errors.closed(reason, this.#broken?.cause));
      for (const slot of this.#slots) if (slot.exitCode === null) slot.process.terminate();
      this.#checkAllExited();
    }
    return this.#allExited.promise;
  }

  /** Resolves once the pool is closed or terminated and every worker has exited. */
  get exited(): Promise<void> {
    return this.#allExited.promise;
  }

  stats(): PoolStats {
    const count = Math.min(this.#latencyCount, LATENCIES);
    const sorted = this.#latencies.slice(0, count).sort();
    // To the microsecond: what is shown is read by people, and finer is noise.
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    const at = (q: number) => count === 0 ? 0 : round(sorted[Math.min(count - 1, Math.floor(q * count))]!);
    let running = 0, runningItems = 0;
    const workers: WorkerStats[] = [];
    for (const slot of this.#slots) {
      let assigned = 0;
      for (const task of slot.assigned) {
        if (task.settled) continue;
        assigned++;
        runningItems += task.items;
      }
      running += assigned;
      workers.push({
        name: slot.process.name,
        pid: slot.process.pid,
        completed: slot.completed,
        chunks: slot.tasksDone,
        assigned,
        ready: slot.ready,
      });
    }
    return {
      state: this.#state,
      workers,
      queued: this.#queuedItems,
      running: runningItems,
      completed: this.#completedItems,
      failed: this.#failedItems,
      chunks: { queued: this.#queued, running, completed: this.#completed, failed: this.#failed },
      restarts: this.#restarts,
      latencyMs: {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: count === 0 ? 0 : round(sorted[count - 1]!),
      },
    };
  }

  // Workers

  /** A worker, not yet started; `restarts`: how many workers it replaces, in turn. */
  #newSlot(restarts = 0): Slot {
    const { options } = this;
    const inbox = new Ring(Ring.create(0).buffer, LOCK_PATIENCE_MS);
    const outbox = new Ring(Ring.create(0).buffer, LOCK_PATIENCE_MS);
    const setup: PoolWorkerSetup = {
      inbox: ringRef(inbox),
      outbox: ringRef(outbox),
      module: options.module,
      initializer: options.initializer,
      initargs: options.initargs,
      maxTasks: options.maxTasksPerChild,
      bell: this.#sharesMemory ? this.#bell.buffer as SharedArrayBuffer : null,
    };
    const process = new Process({
      target: poolWorker,
      args: [setup],
      module: poolWorkerEntry(options.module),
      backend: options.backend,
      daemon: true,
      ...(options.permissions ? { permissions: options.permissions } : {}),
      ...(options.memoryLimitMb ? { memoryLimitMb: options.memoryLimitMb } : {}),
    });
    // Python's pool workers take the next process name, renamed: SpawnPoolWorker-N.
    process.name = process.name.replace(/^Process/, "PoolWorker");
    // Not terminated when the main module is done (the pool would replace it): it ends with the program.
    detach(process);
    reportCrashesAs(process, options.crashReports);
    const slot: Slot = {
      process,
      restarts,
      inbox,
      outbox,
      setup,
      assigned: [],
      ready: false,
      exitCode: null,
      given: 0,
      completed: 0,
      tasksDone: 0,
      confirmed: 0,
      lastOutcomeAt: 0,
      retiring: false,
      killedByPool: false,
      killedFor: null,
      startError: undefined,
    };
    annotate(process, { restarts, tasksDone: () => slot.tasksDone });
    return slot;
  }

  #start(slot: Slot): void {
    this.#slots.add(slot);
    const { process } = slot;
    // It could not even launch (initargs that cannot cross, no permission
    // to run, no Worker here), so it will never exit either: a worker that
    // died before it was ready, as far as the pool is concerned.
    const unlaunched = (error: unknown) => {
      slot.startError = error;
      slot.exitCode = 1;
      this.#poke?.();
    };
    let starting: Promise<void>;
    try {
      starting = process.start();
    } catch (error) {
      queueMicrotask(() => unlaunched(error));
      return;
    }
    if (!process.isAlive()) {
      starting.catch(unlaunched);
      return;
    }
    starting.catch((error) => {
      slot.startError = error;
      if (process.exitCode === null) process.kill();
    });
    process.exited.then((code) => {
      slot.exitCode = code;
      this.#poke?.();
    });
  }

  /**
   * The one reader of every worker's outbox, for the pool's life. It reads
   * whatever is there, then sleeps on the doorbell every worker rings after
   * each outcome (a subprocess cannot reach it: its outbox is watched too),
   * so one wake-up serves all workers, and settles a worker's death only
   * after reading everything that worker sent.
   */
  async #collect(): Promise<void> {
    const bell = this.#bell;
    while (this.#state === "RUN" || this.#slots.size > 0) {
      const rang = Atomics.load(bell, 0);
      const remote = this.#sharesMemory ? [] : [...this.#slots];
      const seen = remote.map((slot) => slot.outbox.putCount);
      if (this.#readAll()) continue;
      // Reading the bell costs far less than a wake-up (~25 µs): spin a little first.
      const spinUntil = performance.now() + SPIN_MS;
      let moved = false;
      while (!moved && performance.now() < spinUntil) {
        for (let i = 0; i < 64 && !moved; i++) moved = Atomics.load(bell, 0) !== rang;
      }
      if (moved) continue;
      Atomics.add(bell, 1, 1);
      try {
        const waiting = Atomics.waitAsync(bell, 0, rang, 1_000);
        if (!waiting.async) continue;
        const woken: Promise<unknown>[] = [
          waiting.value,
          new Promise<void>((resolve) => this.#poke = resolve),
        ];
        remote.forEach((slot, i) => woken.push(slot.outbox.whenPut(seen[i]!, 1_000)));
        await Promise.race(woken);
      } finally {
        Atomics.sub(bell, 1, 1);
        this.#poke = undefined;
      }
    }
  }

  /** Reads every outcome there is; settles the workers that have exited. True if it read any. */
  #readAll(): boolean {
    let read = false, lost = false;
    for (const slot of [...this.#slots]) {
      for (;;) {
        let taken;
        try {
          taken = slot.outbox.tryTake();
        } catch (error) {
          if (!(error instanceof RingLockError)) throw error;
          // A live worker is in the middle of a put; one that died there took the rest with it.
          taken = EMPTY;
        }
        if (taken === EMPTY || taken === CLOSED_RING) break;
        // Untrusted: a worker that sends what is no outcome is killed (its tasks are settled as
        // for any death), never this process.
        let problem: string | undefined;
        try {
          const outcome = finishItem(taken);
          problem = checkOutcome(outcome, slot.assigned[0]?.id);
          if (problem === undefined) this.#received(slot, outcome as PoolOutcome);
        } catch (error) {
          problem = `Cannot read its outcome: ${describeError(error)}`;
        }
        if (problem !== undefined) {
          refuseChild(slot.process, slot.process.name, problem, () => slot.process.kill());
          break;
        }
        read = true;
      }
      if (slot.exitCode !== null) {
        this.#lost(slot);
        lost = true;
      }
    }
    if (read || lost) this.#dispatch();
    return read;
  }

  #received(slot: Slot, [id, ok, value]: PoolOutcome): void {
    if (ok === 2) return void (slot.confirmed = value as number);
    const now = performance.now();
    if (id === 0) {
      // Its module or initializer failed: it exits next, and that counts as a failed start.
      if (ok === 0) return void (slot.startError = decodeError(value as EncodedError));
      slot.ready = true;
      slot.lastOutcomeAt = now;
      this.#failedStarts = 0;
      return;
    }
    const task = slot.assigned.shift();
    if (!task || task.id !== id) throw new Error(`Pool worker ${slot.process.name} answered out of order`);
    // Its run began when it was put, or when the one before it finished.
    const ran = now - Math.max(task.putAt, slot.lastOutcomeAt);
    this.#taskMs = this.#taskMs === 0 ? ran : this.#taskMs * 0.9 + ran * 0.1;
    slot.lastOutcomeAt = now;
    slot.completed += task.items;
    slot.tasksDone++;
    task.slot = null;
    if (ok === 1) this.#succeed(task, value);
    else this.#fail(task, decodeError(value as EncodedError));
  }

  /** A worker exited (and everything it sent has been read): settle what it held, replace it if needed. */
  #lost(slot: Slot): void {
    this.#slots.delete(slot);
    const code = slot.exitCode!;
    let crashed = false;
    const giveBack: Task[] = [];
    // It runs what it took in order, answering each before the next: the
    // first taken task left unanswered is the one it was running. Those after
    // it, in the same batch or never taken, did not start.
    const confirms = !this.#sharesMemory;
    let running = true;
    for (const task of slot.assigned) {
      if (task.limits) stopTimer(task.limits.timer);
      task.slot = null;
      const wasRunning = running && slot.inbox.taken(task.position);
      running = false;
      if (task.settled) continue;
      // Taken for an OS-process worker, but never confirmed: it may have died
      // with the task on its way, before it could run it. The benefit of the
      // doubt is given once, so a task that kills its worker at once (before
      // its confirmation leaves) still fails the second time.
      const unconfirmed = confirms && wasRunning && task.position > slot.confirmed && !task.spared;
      if (unconfirmed) task.spared = true;
      if (!wasRunning || unconfirmed || (slot.killedFor !== null && slot.killedFor !== task)) {
        giveBack.push(task);
      } else if (task.retriesLeft > 0) {
        task.retriesLeft--;
        crashed = true;
        giveBack.push(task);
      } else {
        crashed = true;
        this.#fail(task, this.#errors.crashed(slot.process.name, code, task.label));
      }
    }
    this.#queued += giveBack.length;
    for (const task of giveBack) this.#queuedItems += task.items;
    this.#waiting.pushFront(giveBack);
    this.#release(slot);
    if (this.#state === "TERMINATE" || (this.#state === "CLOSE" && this.#queued === 0)) {
      this.#checkAllExited();
      return;
    }
    if (!slot.ready && !slot.killedByPool && !killedFromOutside(code)) {
      if (++this.#failedStarts >= FAILED_STARTS) {
        // A worker that never ran (no permission to run, no Worker here) says why itself.
        const why = slot.process.pid === null && slot.startError instanceof Error
          ? `${FAILED_STARTS} workers in a row could not start: ${slot.startError.message}`
          : `${FAILED_STARTS} workers in a row exited before they were ready (the last with exit code ${code})`;
        return this.#breakDown(why, slot.startError);
      }
    }
    const retired = code === 0 && !crashed;
    if (!retired && !slot.killedByPool && !this.#intensity.record()) {
      return this.#breakDown(
        `its workers exited more than ${this.options.intensity} times within ${this.options.periodMs} ms ` +
          `(the last with exit code ${code})`,
      );
    }
    this.#restarts++;
    this.#start(this.#newSlot(slot.restarts + 1));
    this.#keepSpare();
  }

  /** Frees a dead worker's rings. A subprocess waits on them through this isolate: close them to end that. */
  #release(slot: Slot): void {
    if (!this.#sharesMemory) {
      try {
        slot.inbox.close();
        slot.outbox.close();
      } catch {
        // Held by nobody alive: the ring is dropped anyway.
      }
    }
    unserve({ ring: slot.setup.inbox });
    unserve({ ring: slot.setup.outbox });
  }

  /** Has the next restart skip creating a process, where this isolate hosts them. */
  #keepSpare(): void {
    if (this.options.permissions || this.options.memoryLimitMb) return;
    // The module a worker starts on, so the replacement that claims the spare loads nothing on its way up.
    runtime.hosting?.topUp(this.options.backend, 1, poolWorkerEntry(this.options.module)).catch(() => {});
  }

  /** A crash loop: every task not finished fails, and the pool stops. */
  #breakDown(why: string, cause?: unknown): void {
    this.#broken = { why, cause };
    this.terminate(`Pool broke: ${why}`);
  }

  #checkAllExited(): void {
    if (this.#state === "RUN" || this.#slots.size > 0) return;
    // A spare kept for restarts would keep the program running, as idle workers do.
    if (this.#restarts > 0) runtime.hosting?.releaseSpares();
    this.#allExited.resolve();
    this.#hold();
  }

  /** Holds the program while someone may await this pool, lets it go otherwise. */
  #hold(): void {
    const busy = this.#unsettled > 0 || (this.#state !== "RUN" && this.#slots.size > 0);
    if (busy && !this.#letGo) this.#letGo = hold();
    else if (!busy && this.#letGo) {
      this.#letGo();
      this.#letGo = undefined;
    }
  }

  // Dispatch

  /**
   * Hands waiting tasks to workers with room, least loaded first: to each, as
   * many as it has room for, in one ring item (one lock, one wake-up).
   */
  #dispatch(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      // One each until a task time is measured: long tasks then go to whichever worker is free.
      const depth = this.#taskMs === 0
        ? 1
        : Math.max(1, Math.min(MAX_DEPTH, Math.floor(DEPTH_BUDGET_MS / this.#taskMs)));
      const limit = this.options.maxTasksPerChild ?? Infinity;
      for (let task = this.#waiting.peek(); task; task = this.#waiting.peek()) {
        const slot = this.#freest(task.limits ? 1 : depth);
        if (!slot) break;
        const room = Math.min(depth - slot.assigned.length, limit - slot.given);
        const batch: Task[] = [];
        // A task with a timeout or signal only starts a batch, on an idle worker: it then starts at once.
        while (task && batch.length < Math.max(room, 1) && (!task.limits || batch.length === 0)) {
          // Codec-encoded tasks go alone: a batch is one JSON array.
          if (task.item.json === undefined && batch.length > 0) break;
          batch.push(task);
          this.#waiting.shift();
          if (task.item.json === undefined) break;
          task = this.#waiting.peek();
        }
        if (!this.#put(batch, slot)) {
          this.#waiting.pushFront(batch);
          // A worker holds its inbox's lock (or died holding it): try again shortly.
          this.#dispatchLater ??= setTimeout(() => {
            this.#dispatchLater = undefined;
            this.#dispatch();
          }, 1);
          break;
        }
      }
    } finally {
      this.#dispatching = false;
    }
    this.#retireIfDone();
  }

  /** The ready worker holding the fewest tasks, if it holds fewer than `depth`. */
  #freest(depth: number): Slot | undefined {
    const limit = this.options.maxTasksPerChild ?? Infinity;
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.exitCode !== null || slot.retiring || slot.given >= limit) continue;
      if (slot.assigned.length < depth && (!best || slot.assigned.length < best.assigned.length)) best = slot;
    }
    return best;
  }

  /** Puts `batch` in `slot`'s inbox as one item; false if its lock is held (by a live or dead worker). */
  #put(batch: Task[], slot: Slot): boolean {
    const item: Prepared = batch.length === 1
      ? batch[0]!.item
      : { json: `[${batch.map((task) => task.item.json).join(",")}]` };
    let outcome;
    try {
      outcome = slot.inbox.tryPut(item);
    } catch (error) {
      if (error instanceof RingLockError) return false;
      throw error;
    }
    if (outcome !== undefined) return false;
    const position = slot.inbox.lastPut, now = performance.now();
    for (const task of batch) {
      this.#queued--;
      this.#queuedItems -= task.items;
      task.slot = slot;
      task.position = position;
      task.putAt = now;
      slot.assigned.push(task);
      slot.given++;
    }
    const first = batch[0]!;
    const timeoutMs = first.limits?.timeoutMs;
    if (timeoutMs !== undefined) {
      first.limits!.timer = startTimer(() => {
        if (first.slot !== slot || first.settled) return;
        this.#fail(
          first,
          new ProcessTimeoutError(
            `Timed out after ${timeoutMs} ms running ${first.label}; worker ${slot.process.name} was replaced`,
          ),
        );
        this.#kill(slot, first);
      }, timeoutMs);
    }
    return true;
  }

  /** Retires the workers once the pool is closed and no task waits: each finishes what it holds. */
  #retireIfDone(): void {
    if (this.#state !== "CLOSE" || this.#waiting.peek()) return;
    for (const slot of this.#slots) {
      if (slot.retiring) continue;
      slot.retiring = true;
      try {
        slot.inbox.close();
      } catch {
        // It died holding the lock; its exit is on its way.
      }
    }
    this.#checkAllExited();
  }

  #kill(slot: Slot, target: Task): void {
    slot.killedByPool = true;
    slot.killedFor = target;
    if (slot.exitCode === null) slot.process.kill();
  }

  #cancel(task: Task, reason: unknown): void {
    if (task.settled) return;
    const slot = task.slot;
    if (!slot) {
      this.#queued--;
      this.#queuedItems -= task.items;
    }
    this.#fail(task, reason);
    // Running (or about to: such tasks only go to idle workers): only replacing the worker stops it.
    if (slot) this.#kill(slot, task);
    else this.#retireIfDone();
  }

  // Outcomes

  #succeed(task: Task, value: unknown): void {
    if (task.settled) return;
    this.#completed++;
    this.#completedItems += task.items;
    this.#settle(task, true, value);
  }

  #fail(task: Task, error: unknown): void {
    if (task.settled) return;
    this.#failed++;
    this.#failedItems += task.items;
    this.#settle(task, false, error);
  }

  #settle(task: Task, ok: boolean, value: unknown): void {
    task.settled = true;
    if (--this.#unsettled === 0) this.#hold();
    const { limits } = task;
    if (limits) {
      stopTimer(limits.timer);
      if (limits.onAbort) limits.signal!.removeEventListener("abort", limits.onAbort);
    }
    this.#latencies[this.#latencyCount++ % LATENCIES] = performance.now() - task.submittedAt;
    task.settle(task.context, ok, value);
  }

  /** Fails every task not finished (terminate, or a crash loop). */
  #failAll(error: () => Error): void {
    const waiting = this.#waiting.takeAll();
    this.#queued = 0;
    this.#queuedItems = 0;
    for (const slot of this.#slots) waiting.push(...slot.assigned);
    for (const task of waiting) this.#fail(task, error());
  }
}
