/**
 * Python's `Pipe` and `Connection`: two ends of a message channel, each of
 * which may go to a different process in `args`. Messages arrive whole and
 * in order; `recv` rejects with {@linkcode EOFError} once every copy of the
 * other end is closed and nothing is left to read.
 *
 * @module
 */

import { type Channel, type CopyRole, newChannel, openChannel } from "../memory/_channel.ts";
import { prepareOrExplain } from "../memory/_item_codec.ts";
import { checkDuration } from "../core/_duration.ts";
import { deadlineOf } from "../core/_futex.ts";
import { makeShareable, registerReviver, type RingRef, SHARED_KEY } from "../memory/_shared.ts";
import { ProcessError, ProcessTimeoutError } from "../core/errors.ts";

/**
 * `recv` found nothing to read and the other end closed: every copy of it,
 * in every process. Python's `EOFError`.
 *
 * @example
 * ```ts
 * import { EOFError, Pipe } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = Pipe<string>();
 * b.send("last words");
 * b.close();
 * assert.equal(await a.recv(), "last words");
 * await assert.rejects(a.recv(), EOFError);
 * ```
 */
export class EOFError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message What was read from.
   */
  constructor(message: string) {
    super(message);
    this.name = "EOFError";
  }
}

/**
 * `send` on a connection whose other end is closed everywhere: Python's
 * `BrokenPipeError`.
 *
 * @example
 * ```ts
 * import { BrokenPipeError, Pipe } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = Pipe<string>();
 * b.close();
 * assert.throws(() => a.send("anyone?"), BrokenPipeError);
 * ```
 */
export class BrokenPipeError extends ProcessError {
  /**
   * Creates the error.
   *
   * @param message What was sent to.
   */
  constructor(message: string) {
    super(message);
    this.name = "BrokenPipeError";
  }
}

/** How long `recv` waits. */
export interface RecvOptions {
  /** Milliseconds to wait at most, then reject with {@linkcode ProcessTimeoutError}; none or `Infinity` waits forever. */
  timeout?: number;
  /** Stops waiting; the call rejects with the signal's reason and takes nothing. */
  signal?: AbortSignal;
}

/** One direction of a connection: its ring, and the copy slot this connection holds in it. */
interface Side {
  readonly channel: Channel;
  readonly slot: number;
}

/** The sides a revived connection is built around. */
let reviving: { send: Side | null; receive: Side | null } | undefined;

/** Builds a Connection (set in its static block, which may call the private constructor). */
let makeConnection: <S, R>(send: Side | null, receive: Side | null) => Connection<S, R>;

/** Connections this process got from its parent, closed when it ends (as the OS closes fds). */
const inherited = new Set<Connection<unknown, unknown>>();

/**
 * Closes the connections this process was given, so their peers see EOF.
 * Called by the child runtime as the process ends.
 */
export function closeInheritedConnections(): void {
  for (const connection of inherited) connection.close();
}

/**
 * One end of a {@linkcode Pipe}: sends `S`, receives `R`. Give it to a child
 * in `args`; the child may send and receive on it as the parent could. Close
 * the copies you do not use, or the other end never sees EOF.
 *
 * @typeParam S What this end sends.
 * @typeParam R What this end receives.
 *
 * @example A child answers on its end
 * ```ts
 * import { Pipe, Process } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const module = "data:text/javascript,export async function echo(conn) { conn.send((await conn.recv()).toUpperCase()); conn.close(); }";
 * const { echo } = await import(module);
 *
 * const [mine, theirs] = Pipe<string>();
 * const p = new Process({ target: echo, args: [theirs], module });
 * await p.start();
 * theirs.close();            // the child holds its own copy
 * mine.send("hello");
 * assert.equal(await mine.recv(), "HELLO");
 * await p.join();
 * mine.close();
 * ```
 */
export class Connection<S, R> implements Disposable {
  readonly #send: Channel | null;
  readonly #receive: Channel | null;
  /** The copy slots this connection holds: -1 for an untracked copy. */
  readonly #sendSlot: number;
  readonly #receiveSlot: number;
  #closed = false;

  /** Connections come from {@linkcode Pipe}; this constructor is not for use. */
  private constructor() {
    const channels = reviving;
    reviving = undefined;
    if (!channels) throw new TypeError("Connection: create connections with Pipe()");
    this.#send = channels.send?.channel ?? null;
    this.#receive = channels.receive?.channel ?? null;
    this.#sendSlot = channels.send?.slot ?? -1;
    this.#receiveSlot = channels.receive?.slot ?? -1;
    makeShareable(this, () => {
      this.#assertOpen("send");
      // The copy counts as open from now, so closing this one cannot end the pipe before it arrives.
      const side = (channel: Channel | null, role: CopyRole) =>
        channel && { ring: channel.ref(), slot: channel.claimCopy(role) };
      return {
        [SHARED_KEY]: "connection",
        send: side(this.#send, "sender"),
        receive: side(this.#receive, "receiver"),
      };
    });
  }

  static {
    makeConnection = (send, receive) => {
      reviving = { send, receive };
      return new Connection();
    };
  }

  /**
   * Whether this end can receive (Python's `readable`).
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const [reader, writer] = Pipe<number>(false);
   * assert.ok(reader.readable && !reader.writable);
   * assert.ok(writer.writable && !writer.readable);
   * ```
   */
  get readable(): boolean {
    return this.#receive !== null;
  }

  /**
   * Whether this end can send (Python's `writable`).
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const [a] = Pipe();
   * assert.ok(a.writable);
   * ```
   */
  get writable(): boolean {
    return this.#send !== null;
  }

  /**
   * Whether this copy has been closed.
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Pipe();
   * a.close();
   * assert.ok(a.closed && !b.closed);
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a message: a structured-clone copy of `value`, delivered whole and
   * in order. Never waits. Throws a `TypeError` naming the part that cannot
   * be copied, and {@linkcode BrokenPipeError} when the other end is closed.
   * An OS-process child whose pipe lives in another process learns that the
   * other end closed with its next call there, so one more send may pass
   * (and be dropped) before it throws.
   *
   * @param value The message.
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Pipe<{ n: number }>();
   * a.send({ n: 1 });
   * assert.deepEqual(await b.recv(), { n: 1 });
   * ```
   */
  send(value: S): void {
    const channel = this.#channelFor("send");
    if (channel.receivers() <= 0) {
      throw new BrokenPipeError("Cannot send as the other end of the pipe is closed");
    }
    channel.send(prepareOrExplain(value, "message", "send"));
  }

  /**
   * Receives the next message. Waits for one: forever by default, or up to
   * `timeout` ms and then rejects with {@linkcode ProcessTimeoutError}.
   * Rejects with {@linkcode EOFError} when nothing is left and the other end
   * is closed.
   *
   * @param options `timeout` (ms) and `signal`.
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Pipe<string>();
   * setTimeout(() => b.send("late"), 10);
   * assert.equal(await a.recv({ timeout: 1000 }), "late");
   * ```
   */
  async recv(options?: RecvOptions): Promise<R> {
    const channel = this.#channelFor("recv");
    const { timeout, signal } = options ?? {};
    checkDuration(timeout, "recv", "timeout");
    signal?.throwIfAborted();
    const got = await channel.get(deadlineOf(true, timeout, signal));
    if (got === "closed") {
      throw new EOFError("Cannot recv as the other end of the pipe is closed and nothing is left");
    }
    if (got === "empty") throw new ProcessTimeoutError(`Cannot recv as no message came within ${timeout} ms`);
    return got.item as R;
  }

  /**
   * Whether a message (or EOF) is ready to read, waiting up to `timeout` ms:
   * 0 (the default) only checks, `null` or `Infinity` waits forever. Takes nothing.
   *
   * @param timeout Milliseconds to wait; `null` or `Infinity` for no limit.
   * @param options `signal` to stop waiting.
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Pipe<number>();
   * assert.equal(await a.poll(), false);
   * b.send(1);
   * assert.equal(await a.poll(100), true);
   * ```
   */
  poll(timeout: number | null = 0, options?: { signal?: AbortSignal }): Promise<boolean> {
    let channel: Channel;
    try {
      channel = this.#channelFor("poll");
      if (timeout !== null) checkDuration(timeout, "poll", "timeout");
      options?.signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
    return channel.poll(deadlineOf(true, timeout ?? undefined, options?.signal));
  }

  /**
   * Closes this copy. When every copy of an end is closed, its peer reads
   * what is left and then gets {@linkcode EOFError}. Idempotent.
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   *
   * const [a, b] = Pipe();
   * a.close();
   * b.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    inherited.delete(this);
    this.#send?.releaseCopy("sender", this.#sendSlot);
    this.#receive?.releaseCopy("receiver", this.#receiveSlot);
  }

  /**
   * Closes this copy at the end of a `using` block.
   *
   * @example
   * ```ts
   * import { Pipe } from "@troupe/troupe";
   *
   * import assert from "node:assert/strict";
   *
   * const [a, b] = Pipe<number>();
   * {
   *   using mine = a;
   *   mine.send(1);
   * }
   * assert.ok(a.closed);
   * b.close();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  #assertOpen(verb: string): void {
    if (this.#closed) throw new ProcessError(`Cannot ${verb} on a closed connection`);
  }

  #channelFor(verb: "send" | "recv" | "poll"): Channel {
    this.#assertOpen(verb);
    const channel = verb === "send" ? this.#send : this.#receive;
    if (!channel) {
      throw new ProcessError(
        `Cannot ${verb} on this connection as it is ${verb === "send" ? "read" : "write"}-only: ` +
          "Pipe(false) returns [reader, writer]",
      );
    }
    return channel;
  }
}

const ROLES: readonly CopyRole[] = ["sender", "receiver"];

/** Copies of one pipe end that can be tracked: beyond this many, a copy held by a process that is killed stays open. */
const COPY_SLOTS = 256;

/** One end's hold on a direction of a new pipe, counted in. */
function claim(channel: Channel, role: CopyRole): Side {
  return { channel, slot: channel.claimCopy(role) };
}

/**
 * Python's `multiprocessing.Pipe`: a pair of connected {@linkcode Connection}s.
 * Duplex by default: the first end sends `A` and receives `B`, the second
 * the reverse. `Pipe(false)` returns `[reader, writer]`, in Python's order.
 *
 * Worker processes of one program exchange messages through shared memory
 * directly; an OS-process child's messages pass through the process that
 * created the pipe.
 *
 * @typeParam A What the first end sends (and the second receives).
 * @typeParam B What the second end sends (and the first receives).
 * @param duplex `false` for a one-way pipe.
 * @returns The two ends.
 *
 * @example Request and response types
 * ```ts
 * import { Pipe } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [client, server] = Pipe<string, number>();
 * client.send("hello");
 * server.send((await server.recv()).length);
 * assert.equal(await client.recv(), 5);
 * ```
 *
 * @example One way
 * ```ts
 * import { Pipe } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [reader, writer] = Pipe<string>(false);
 * writer.send("one way");
 * assert.equal(await reader.recv(), "one way");
 * ```
 */
export function Pipe<A = unknown, B = A>(duplex?: true): [Connection<A, B>, Connection<B, A>];
/**
 * A one-way pipe: `[reader, writer]`.
 *
 * @typeParam T The messages.
 * @param duplex `false`.
 * @returns The reader and the writer.
 */
export function Pipe<T = unknown>(duplex: false): [Connection<never, T>, Connection<T, never>];
export function Pipe(duplex = true): [Connection<unknown, unknown>, Connection<unknown, unknown>] {
  if (typeof duplex !== "boolean") {
    throw new TypeError(`Pipe: duplex must be a boolean, not ${typeof duplex}`);
  }
  const forward = newChannel(0, COPY_SLOTS);
  if (!duplex) {
    return [makeConnection(null, claim(forward, "receiver")), makeConnection(claim(forward, "sender"), null)];
  }
  const backward = newChannel(0, COPY_SLOTS);
  return [
    makeConnection(claim(forward, "sender"), claim(backward, "receiver")),
    makeConnection(claim(backward, "sender"), claim(forward, "receiver")),
  ];
}

/** The sides a connection descriptor names. */
function sidesOf(descriptor: unknown): [Side | null, Side | null] {
  type Named = { ring: RingRef; slot: number } | null;
  const { send, receive } = descriptor as unknown as { send: Named; receive: Named };
  const side = (named: Named) => named && { channel: openChannel(named.ring, 0), slot: named.slot };
  return [side(send), side(receive)];
}

registerReviver(
  "connection",
  (descriptor) => {
    const connection = makeConnection(...sidesOf(descriptor));
    inherited.add(connection);
    return connection;
  },
  // A copy whose process never got it, or is gone: count it out, or its peer
  // never sees EOF. Once the process is gone, only tracked copies (those
  // with a slot) are counted out here: the process may have closed the
  // others itself, and a second count would end the pipe early.
  (descriptor, { gone }) => {
    for (const [side, role] of sidesOf(descriptor).map((side, i) => [side, ROLES[i]!] as const)) {
      if (side && !(gone && side.slot < 0)) side.channel.releaseCopy(role, side.slot);
    }
  },
);
