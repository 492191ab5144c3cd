/**
 * Every process is an actor: an {@linkcode ActorRef} sends it messages
 * (`tell`) and requests (`ask`) through its mailbox, from any process the
 * ref reaches, and {@linkcode serve} turns a target into a server that
 * answers them (OTP's gen_server). Refs cross in `args` and inside messages.
 *
 * @module
 */

import { checkDuration, startTimer, stopTimer, type Timer } from "../core/_duration.ts";
import { ownMailbox } from "./_process_engine.ts";
import { runtime } from "./_runtime.ts";
import {
  makeShareable,
  reduce,
  registerReviver,
  revive,
  RING_KEY,
  type RingRef,
  SHARED_KEY,
} from "../memory/_shared.ts";
import { exportRingRef } from "../memory/_served.ts";
import { ProcessError, ProcessTimeoutError } from "../core/errors.ts";
import { offer, Queue, QueueClosedError, takenTest } from "../channels/queue.ts";

/** The key of an ask in a mailbox: `{ [ASK]: n, msg, replyTo }`. */
const ASK = "$troupeAsk";

/**
 * An ask as it sits in a mailbox. The reply queue is named by its ring, in
 * plain data, so the envelope takes JSON's fast path (a queue object would
 * take the general codec: ~9 µs each way).
 */
interface AskEnvelope {
  readonly [ASK]: number;
  readonly msg: unknown;
  readonly replyTo: RingRef;
}

/** An answer, as it comes back to the asker's reply queue. */
type Reply = { readonly n: number; readonly ok: true; readonly value: unknown } | {
  readonly n: number;
  readonly ok: false;
  readonly error: unknown;
};

function isAsk(message: unknown): message is AskEnvelope {
  return typeof message === "object" && message !== null && ASK in message;
}

/**
 * An `ask` went to a process that exited (or had) before it answered: OTP's
 * `noproc`, reported at once rather than at the timeout.
 *
 * @example
 * ```ts
 * import { ActorExitedError, Process } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const p = new Process();   // no target: it exits at once, answering nothing
 * await p.start();
 * await p.join();
 * await assert.rejects(p.ref().ask("anyone?", { timeout: 5000 }), ActorExitedError);
 * ```
 */
export class ActorExitedError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message Which actor, and how it ended.
   */
  constructor(message: string) {
    super(message);
    this.name = "ActorExitedError";
  }
}

/** How long an `ask` waits. */
export interface AskOptions {
  /**
   * Milliseconds to wait for the answer, then reject with `ProcessTimeoutError`;
   * `Infinity` waits for as long as the actor lives. @default {5000} (OTP's)
   */
  timeout?: number;
  /** Stops waiting; the ask rejects with the signal's reason (the actor may still handle it). */
  signal?: AbortSignal;
}

/**
 * This process's side of its asks: one reply queue, read only while an
 * answer is awaited. Reading starts after the ask is sent, so the reader's
 * first few microseconds of spinning (see `_ring.ts`) catch a quick answer;
 * a reader that waited all along would have spun before the ask went out,
 * then slept through the answer.
 */
class Asker {
  readonly replies: Queue<Reply> = new Queue<Reply>();
  /** The reply queue's ring as plain data, served from now on to whoever answers. */
  readonly address: RingRef = exportRingRef((reduce(this.replies) as unknown as { ring: RingRef }).ring);
  readonly #waiting = new Map<number, (reply: Reply) => void>();
  #next = 1;
  #reading = false;

  /** A number for a new ask, and its answer once `listen()` reads it. */
  expect(): [number, Promise<Reply>] {
    const n = this.#next++;
    const { promise, resolve } = Promise.withResolvers<Reply>();
    this.#waiting.set(n, resolve);
    return [n, promise];
  }

  /** Reads answers while any ask waits for one. */
  async listen(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      // No timeout: an idle reply queue must not keep the program running.
      while (this.#waiting.size > 0) {
        const reply = await this.replies.get();
        this.#waiting.get(reply.n)?.(reply);
        this.#waiting.delete(reply.n);
      }
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Hands out the answers already here. An actor that answers and then dies
   * (its handler threw) must have its answer taken before its exit is.
   */
  async drain(): Promise<void> {
    for (;;) {
      let reply: Reply;
      try {
        reply = await this.replies.get({ block: false });
      } catch {
        return;
      }
      this.#waiting.get(reply.n)?.(reply);
      this.#waiting.delete(reply.n);
    }
  }

  /** Forgets an ask: a reply that comes later is dropped, as OTP drops late replies. */
  forget(n: number): void {
    this.#waiting.delete(n);
  }
}

let asker: Asker | undefined;

/**
 * Who waits for which process to exit: one watch per process (a round trip
 * to the root for a child), however many asks wait on it.
 */
const exitListeners = new Map<number, Set<(code: number | null) => void>>();

/** Calls `listener` once process `id` exits (with null if it is not running); returns how to stop listening. */
function onExit(id: number, listener: (code: number | null) => void): () => void {
  let listeners = exitListeners.get(id);
  if (!listeners) {
    exitListeners.set(id, listeners = new Set());
    const watching = listeners;
    runtime.watch(id).then((code) => {
      exitListeners.delete(id);
      for (const listen of watching) listen(code);
    });
  }
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** What the private constructor adopts, and the function that calls it (set in the class's static block). */
/**
 * How a ref learns its actor exited: call the listener once, and return how
 * to stop listening. `taken` tells whether the actor had taken the message
 * (a supervised child's ref fails an ask only if the incarnation that died had).
 */
type ExitWatch = (listener: (code: number | null) => void, taken?: () => boolean) => () => void;

/**
 * Whether a ref refuses a `tell` or `ask` at once, and with what error: a
 * supervised child's ref, once its supervisor has stopped or given up.
 */
type Refusal = (what: "tell" | "ask") => Error | undefined;

let making:
  | { id: number; name: string; mailbox: Queue<unknown>; onExit: ExitWatch | undefined; refuse?: Refusal }
  | undefined;
let makeRef: (
  id: number,
  name: string,
  mailbox: Queue<unknown>,
  onExit?: ExitWatch,
  refuse?: Refusal,
) => ActorRef<unknown, unknown>;

/**
 * A typed address of an actor: a process, reached through its mailbox.
 * Get one from `process.ref()` (or a supervisor's `ref(id)`), and pass it to
 * other processes in `args` or inside messages: it works there the same.
 *
 * @typeParam In What the actor is sent.
 * @typeParam Out What it answers to an `ask`.
 *
 * @example Asking a server in a child
 * ```ts
 * import { Process } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript," +
 *   "import { serve } from '" + new URL("../../mod.ts", import.meta.url) + "';" +
 *   "export function doubler() { return serve({ ask: (n) => n * 2 }); }";
 * const { doubler } = await import(module);
 *
 * const p = new Process({ target: doubler, module });
 * await p.start();
 * const ref = p.ref<number, number>();
 * assert.equal(await ref.ask(21, { timeout: 5000 }), 42);
 * p.mailbox.close();   // serve() returns once its mailbox is closed and drained
 * await p.join();
 * ```
 */
export class ActorRef<In, Out = unknown> {
  /** The root-wide id of the process, or -1 for a ref that is not one process (a supervised child's). */
  readonly id: number;
  /** A name for messages: the process's or the child's. */
  readonly name: string;
  readonly #mailbox: Queue<unknown>;
  /** How this ref learns that its actor exited: by process id, or as a supervisor says. */
  readonly #onExit: ExitWatch;
  /** A refusal found after a `tell` returned (its mailbox lives in another OS process), reported next time. */
  #failure: unknown;
  /** Refuses at once when the actor will never be reached again (a supervised child's, as its supervisor says). */
  readonly #refuse: Refusal | undefined;

  /** Refs come from `process.ref()` or a supervisor's `ref(id)`. */
  private constructor() {
    const made = making;
    making = undefined;
    if (!made) throw new TypeError("ActorRef: get a ref from process.ref() or supervisor.ref(id)");
    this.id = made.id;
    this.name = made.name;
    this.#mailbox = made.mailbox;
    this.#refuse = made.refuse;
    // A ref revived elsewhere from a supervised child's (id -1) has no process to watch.
    this.#onExit = made.onExit ?? (this.id < 0 ? () => () => {} : (listener) => onExit(this.id, listener));
    makeShareable(this, () => ({
      [SHARED_KEY]: "actor",
      id: this.id,
      name: this.name,
      mailbox: reduce(this.#mailbox),
    }));
  }

  static {
    makeRef = (id, name, mailbox, onExit, refuse) => {
      making = { id, name, mailbox, onExit, ...(refuse ? { refuse } : {}) };
      return new ActorRef();
    };
  }

  /**
   * Sends a message and returns at once (OTP's cast). Throws when the
   * message cannot be copied, or the mailbox is full or closed. An actor
   * whose mailbox lives in another OS process reports a refusal with this
   * ref's next `tell` or `ask`.
   *
   * @param msg The message; it is copied.
   *
   * @example
   * ```ts
   * import { currentProcess } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const me = currentProcess().ref<string>();
   * me.tell("note to self");
   * assert.equal(await currentProcess().mailbox.get(), "note to self");
   * ```
   */
  tell(msg: In): void {
    const refused = this.#refuse?.("tell");
    if (refused) throw refused;
    this.#throwFailure();
    offer(this.#mailbox, msg)?.catch((error) => this.#failure ??= error);
  }

  /**
   * Sends a request and resolves with the answer (OTP's call). Rejects with
   * `ProcessTimeoutError` after `timeout` ms (the actor keeps working, and
   * its late answer is dropped), with {@linkcode ActorExitedError} at once if
   * the actor exits before answering, and with the actor's own error if its
   * handler threw.
   *
   * @param msg The request; it is copied.
   * @param options `timeout` (ms, default 5000) and `signal`.
   * @returns The answer.
   *
   * @example
   * ```ts
   * import { Process, ProcessTimeoutError } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const module = "data:text/javascript,export function deaf() { return new Promise(() => {}); }";
   * const { deaf } = await import(module);
   * const p = new Process({ target: deaf, module });
   * await p.start();
   * await assert.rejects(p.ref().ask("hello?", { timeout: 50 }), ProcessTimeoutError);
   * p.terminate();
   * await p.join();
   * ```
   */
  async ask(msg: In, options?: AskOptions): Promise<Out> {
    const { timeout = 5000, signal } = options ?? {};
    checkDuration(timeout, "ask", "timeout");
    signal?.throwIfAborted();
    const refused = this.#refuse?.("ask");
    if (refused) throw refused;
    this.#throwFailure();
    asker ??= new Asker();
    const [n, replied] = asker.expect();
    let timer: Timer | undefined;
    let onAbort: (() => void) | undefined;
    let unwatch: (() => void) | undefined;
    try {
      const envelope: AskEnvelope = { [ASK]: n, msg, replyTo: asker.address };
      const sent = offer(this.#mailbox, envelope);
      const taken = sent ? undefined : takenTest(this.#mailbox);
      asker.listen();
      const failed = new Promise<never>((_, reject) => {
        sent?.catch(reject);
        timer = startTimer(
          () => reject(new ProcessTimeoutError(`${this.name} did not answer within ${timeout} ms`)),
          timeout,
        );
        const exited = (code: number | null) =>
          asker!.drain().then(() =>
            reject(
              new ActorExitedError(
                code === null
                  ? `Cannot ask ${this.name} as it is not running`
                  : `${this.name} exited with code ${code} before it answered`,
              ),
            )
          );
        unwatch = this.#onExit(exited, taken);
        if (signal) {
          onAbort = () => reject(signal.reason);
          signal.addEventListener("abort", onAbort, { once: true });
        }
      });
      const reply = await Promise.race([replied, failed]);
      if (!reply.ok) throw reply.error;
      return reply.value as Out;
    } finally {
      stopTimer(timer);
      unwatch?.();
      if (onAbort) signal!.removeEventListener("abort", onAbort);
      asker.forget(n);
    }
  }

  /**
   * Python's repr, for logs: `<ActorRef cache>`.
   *
   * @example
   * ```ts
   * import { currentProcess } from "@troupe/troupe";
   *
   * console.log(String(currentProcess().ref())); // <ActorRef MainProcess>
   * ```
   */
  toString(): string {
    return `<ActorRef ${this.name}>`;
  }

  #throwFailure(): void {
    if (this.#failure === undefined) return;
    const failure = this.#failure;
    this.#failure = undefined;
    throw failure;
  }
}

/**
 * A ref to process `id` through `mailbox`; `onExit` overrides how its exit
 * is learned (a supervised child's ref follows restarts), and `refuse` makes
 * `tell` and `ask` fail at once when it returns an error. For
 * `Process.ref()` and the supervisor.
 *
 * @internal
 */
export function actorRef<In, Out>(
  id: number,
  name: string,
  mailbox: Queue<unknown>,
  onExit?: ExitWatch,
  refuse?: Refusal,
): ActorRef<In, Out> {
  return makeRef(id, name, mailbox, onExit, refuse) as ActorRef<In, Out>;
}

/**
 * Answers every ask waiting in `mailbox` with `error`, and drops the other
 * messages: for a mailbox that nobody will read again (a supervised child's,
 * once its supervisor has stopped), so its askers, in any process, fail at
 * once instead of at their timeout. Close the mailbox first, so nothing
 * arrives after.
 *
 * @internal
 */
export async function refuseWaiting(mailbox: Queue<unknown>, error: unknown): Promise<void> {
  for (;;) {
    let message: unknown;
    try {
      message = await mailbox.get({ block: false });
    } catch {
      return;
    }
    if (isAsk(message)) await answer(message, { ok: false, error }).catch(() => {});
  }
}

registerReviver("actor", (descriptor) => {
  const { id, name, mailbox } = descriptor as unknown as { id: number; name: string; mailbox: unknown };
  return makeRef(id, name, revive(mailbox) as Queue<unknown>);
});

/** What a server does: OTP's gen_server callbacks, as functions of a state. */
export interface Behaviour<In, Out, S> {
  /** Makes the initial state; runs before the first message. */
  init?(): S | Promise<S>;
  /** Answers an `ask`. A throw is sent to the asker, then ends the server (let it crash). */
  ask?(msg: In, state: S): Out | Promise<Out>;
  /** Handles a `tell`. A throw ends the server. */
  tell?(msg: In, state: S): void | Promise<void>;
  /** Runs last: `reason` is "normal" (mailbox closed), "shutdown" (asked to stop) or the error that ended it. */
  terminate?(reason: unknown, state: S): void | Promise<void>;
}

/**
 * Runs this process as a server (OTP's gen_server): reads its mailbox,
 * answers asks with `ask`, handles tells with `tell`, until the mailbox is
 * closed and drained or its supervisor asks it to stop; then `terminate`.
 * Return it from a target: `export function cache() { return serve({...}); }`.
 *
 * @typeParam In What it is sent.
 * @typeParam Out What it answers.
 * @typeParam S Its state.
 * @param behaviour The callbacks.
 * @param options `concurrent`: answer asks as they finish rather than one by one.
 * @returns A promise that resolves when the server stops normally.
 *
 * @example A counter
 * ```ts
 * import { Process } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript," +
 *   "import { serve } from '" + new URL("../../mod.ts", import.meta.url) + "';" +
 *   "export function counter() { return serve({ init: () => ({ n: 0 }), tell: (by, s) => { s.n += by; }, ask: (_, s) => s.n }); }";
 * const { counter } = await import(module);
 *
 * const p = new Process({ target: counter, module });
 * await p.start();
 * const ref = p.ref<number | "get", number>();
 * ref.tell(2);
 * ref.tell(3);
 * assert.equal(await ref.ask("get"), 5);
 * p.mailbox.close();
 * await p.join();
 * ```
 */
export async function serve<In, Out, S = void>(
  behaviour: Behaviour<In, Out, S>,
  options: ServeOptions = {},
): Promise<void> {
  const mailbox = ownMailbox();
  const stopping = runtime.stopRequested.signal;
  const state = (await behaviour.init?.()) as S;
  const answering = new Set<Promise<void>>();
  let reason: unknown = "normal";
  try {
    for (;;) {
      let message: unknown;
      try {
        message = await mailbox.get({ signal: stopping });
      } catch (error) {
        if (error instanceof QueueClosedError) break;
        if (stopping.aborted) {
          reason = "shutdown";
          break;
        }
        throw error;
      }
      if (!isAsk(message)) {
        await behaviour.tell?.(message as In, state);
        continue;
      }
      if (!behaviour.ask) {
        const error = new TypeError(`${runtime.self.name} answers no asks: give serve() an ask handler`);
        await answer(message, { ok: false, error });
        throw error;
      }
      let result: Out | Promise<Out>;
      try {
        result = behaviour.ask(message.msg as In, state);
      } catch (error) {
        result = Promise.reject(error);
      }
      if (options.concurrent && result instanceof Promise) {
        // It waits for something: answer it when it is done, and go on
        // meanwhile. (One that answers at once is answered at once: the
        // wait for the next message would hold its answer back.)
        const answered = settle(result).then((reply) => answer(message, reply));
        answering.add(answered);
        answered.finally(() => answering.delete(answered));
        continue;
      }
      const reply = await settle(result);
      await answer(message, reply);
      // A throw is its asker's answer; it also ends a server that is not concurrent (let it crash).
      if (!reply.ok && !options.concurrent) throw reply.error;
    }
  } catch (error) {
    reason = error;
    throw error;
  } finally {
    // Asked to stop, it answers no more: askers still waiting learn that it exited.
    if (reason !== "shutdown") await Promise.allSettled(answering);
    await behaviour.terminate?.(reason, state);
  }
}

/** How `serve` runs. */
export interface ServeOptions {
  /**
   * Answer asks alongside each other: a handler that returns a promise (it
   * waits for a lock, an item) runs while the next asks are handled, and is
   * answered when it settles. A handler's throw is sent to its asker and the
   * server goes on. Tells are still handled one at a time. @default {false}
   */
  readonly concurrent?: boolean;
}

type Answer = { readonly ok: true; readonly value: unknown } | {
  readonly ok: false;
  readonly error: unknown;
};

/** What an ask handler's result comes to: its value, or its error. */
async function settle(result: unknown): Promise<Answer> {
  try {
    return { ok: true, value: await result };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Sends an ask's answer to its asker, if its process is still there to read
 * it. An answer that cannot be sent (a value that cannot be copied) becomes
 * the error that says why, for the asker.
 */
async function answer(message: AskEnvelope, reply: Answer): Promise<void> {
  const replies = replyQueue(message.replyTo);
  const gone = (error: unknown) => error instanceof QueueClosedError || error instanceof ProcessError;
  try {
    await replies.put({ n: message[ASK], ...reply });
  } catch (error) {
    // The asker's process is gone: nobody waits for this answer.
    if (gone(error)) return;
    await replies.put({ n: message[ASK], ok: false, error }).catch((again) => {
      if (!gone(again)) throw again;
    });
  }
}

/** Reply queues this server has answered, by ring: each asker's is opened once. */
const replyQueues = new Map<string, Queue<Reply>>();

function replyQueue(address: RingRef): Queue<Reply> {
  const id = address[RING_KEY];
  let queue = replyQueues.get(id);
  if (!queue) {
    queue = revive({ [SHARED_KEY]: "queue", kind: "Queue", ring: address, maxsize: 0 }) as unknown as Queue<
      Reply
    >;
    replyQueues.set(id, queue);
  }
  return queue;
}
